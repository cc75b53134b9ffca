/** Socket errors, named as the errno a POSIX program would see. */
export type TcpErrno =
  | "ECONNREFUSED"
  | "ECONNRESET"
  | "ECONNABORTED"
  | "ETIMEDOUT"
  | "EHOSTUNREACH"
  | "ENETUNREACH"
  | "EPIPE"
  | "EADDRINUSE"
  | "EADDRNOTAVAIL"
  | "ENOTCONN"
  | "EISCONN"
  | "EINVAL"
  | "ENOBUFS"
  | "EMFILE"
  | "EMSGSIZE";

/** Thrown by synchronous API calls that cannot proceed (never by packet input). */
export class TcpError extends Error {
  constructor(readonly code: TcpErrno, message?: string) {
    super(message ? `${code}: ${message}` : code);
    this.name = "TcpError";
  }
}

/** Map an ICMP destination-unreachable code to the errno a connect would report (RFC 1122 4.2.3.9). */
export function icmpUnreachToErrno(code: number): TcpErrno {
  switch (code) {
    case 0: // net unreachable
    case 6:
    case 9:
    case 11:
      return "ENETUNREACH";
    case 3: // port unreachable
      return "ECONNREFUSED";
    default:
      return "EHOSTUNREACH";
  }
}
