/**
 * The control protocol between libzerotierintercept.so and the service (intercept/PROTOCOL.md):
 * fixed 64-byte little-endian messages, one request then one reply. This file holds the numbers
 * and a reusable view that reads a request and writes a reply in place (no allocation per call).
 */

export const PROTOCOL_VERSION = 1;
export const MSG_SIZE = 64;
export const MAGIC_MSG = 0x4e43545a; // "ZTCN"
export const MAGIC_ATTACH = 0x534e545a; // "ZTNS": first bytes a connecting socket writes to the data listener
export const MAGIC_ACCEPT = 0x414e545a; // "ZTNA": preamble the service writes on each accepted connection
export const ATTACH_HEADER_SIZE = 16;
export const ACCEPT_PREAMBLE_SIZE = 32;

export const enum Op {
  HELLO = 1,
  SOCKET = 2,
  BIND = 3,
  LISTEN = 4,
  CONNECT = 5,
  GETSOCKOPT = 6,
  SETSOCKOPT = 7,
  GETNAME = 8,
  CLOSE = 9,
  INFO = 10,
}
export const MAX_OP = 10;

/** Socket states reported by INFO. */
export const enum SockState {
  NEW = 0,
  BOUND = 1,
  LISTENING = 2,
  CONNECTING = 3,
  CONNECTED = 4,
  CLOSED = 5,
}

/** Linux errno numbers the service answers with. */
export const Errno = {
  ENOENT: 2,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EINVAL: 22,
  EMFILE: 24,
  EPIPE: 32,
  ENOSYS: 38,
  ENOTSOCK: 88,
  EMSGSIZE: 90,
  ENOPROTOOPT: 92,
  EPROTONOSUPPORT: 93,
  EOPNOTSUPP: 95,
  EAFNOSUPPORT: 97,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENETDOWN: 100,
  ENETUNREACH: 101,
  ECONNABORTED: 103,
  ECONNRESET: 104,
  ENOBUFS: 105,
  EISCONN: 106,
  ENOTCONN: 107,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  EHOSTUNREACH: 113,
  EALREADY: 114,
  EINPROGRESS: 115,
} as const;
export type ErrnoName = keyof typeof Errno;

export function errnoNumber(name: string): number {
  return (Errno as Record<string, number>)[name] ?? Errno.EINVAL;
}

// Linux socket option numbers.
export const SOL_SOCKET = 1;
export const IPPROTO_IP = 0;
export const IPPROTO_TCP = 6;
export const SO_REUSEADDR = 2;
export const SO_TYPE = 3;
export const SO_ERROR = 4;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_KEEPALIVE = 9;
export const SO_LINGER = 13;
export const SO_REUSEPORT = 15;
export const SO_ACCEPTCONN = 30;
export const IP_TOS = 1;
export const IP_TTL = 2;
export const TCP_NODELAY = 1;
export const TCP_MAXSEG = 2;
export const TCP_CORK = 3;
export const TCP_KEEPIDLE = 4;
export const TCP_KEEPINTVL = 5;
export const TCP_KEEPCNT = 6;
export const TCP_DEFER_ACCEPT = 9;
export const TCP_INFO = 11;
export const TCP_QUICKACK = 12;
export const TCP_CONGESTION = 13;
/**
 * TCP_CONGESTION travels as an int (the protocol carries ints only): the index of the Linux name
 * here. The library maps names to these; a name not listed is refused there (ENOENT, as Linux).
 */
export const CONGESTION_CODES = ["cubic", "reno", "bbr"] as const;
export const TCP_USER_TIMEOUT = 18;
export const TCP_FASTOPEN = 23;
export const TCP_NOTSENT_LOWAT = 25;

/**
 * A 64-byte message buffer read as a request and rewritten as the reply (same offsets for the
 * header). Holds one DataView over its own bytes; reuse it for every call.
 */
export class Message {
  readonly bytes = new Uint8Array(MSG_SIZE);
  private readonly dv = new DataView(this.bytes.buffer);

  get magic(): number {
    return this.dv.getUint32(0, true);
  }
  get op(): number {
    return this.dv.getUint16(4, true);
  }
  get seq(): number {
    return this.dv.getUint32(8, true);
  }
  get sockid(): number {
    return this.dv.getUint32(12, true);
  }
  arg(i: 0 | 1 | 2 | 3): number {
    return this.dv.getUint32(16 + 4 * i, true);
  }
  /** Signed view of an argument (setsockopt values, backlog). */
  argSigned(i: 0 | 1 | 2 | 3): number {
    return this.dv.getInt32(16 + 4 * i, true);
  }

  /** Turn the request into its reply: header kept (op, seq), sockid/err/values/data set. */
  reply(sockid: number, err: number, v0 = 0, v1 = 0, v2 = 0): void {
    const dv = this.dv;
    dv.setUint32(0, MAGIC_MSG, true);
    dv.setUint16(6, 0, true);
    dv.setUint32(12, sockid >>> 0, true);
    dv.setUint32(16, err >>> 0, true);
    dv.setUint32(20, v0 >>> 0, true);
    dv.setUint32(24, v1 >>> 0, true);
    dv.setUint32(28, v2 >>> 0, true);
    this.bytes.fill(0, 32);
  }
  /** Write a u32 into the reply's data area (offset within data, 0..28). */
  setData32(off: number, v: number): void {
    this.dv.setUint32(32 + off, v >>> 0, true);
  }
  setData64(off: number, v: bigint): void {
    this.dv.setBigUint64(32 + off, v, true);
  }

  /** Build a request (tests, benchmarks). */
  request(op: number, seq: number, sockid: number, a0 = 0, a1 = 0, a2 = 0, a3 = 0): Uint8Array {
    const dv = this.dv;
    this.bytes.fill(0);
    dv.setUint32(0, MAGIC_MSG, true);
    dv.setUint16(4, op, true);
    dv.setUint32(8, seq >>> 0, true);
    dv.setUint32(12, sockid >>> 0, true);
    dv.setUint32(16, a0 >>> 0, true);
    dv.setUint32(20, a1 >>> 0, true);
    dv.setUint32(24, a2 >>> 0, true);
    dv.setUint32(28, a3 >>> 0, true);
    return this.bytes;
  }
  /** Reply fields (tests). */
  get err(): number {
    return this.dv.getUint32(16, true);
  }
  val(i: 0 | 1 | 2): number {
    return this.dv.getUint32(20 + 4 * i, true);
  }
  data32(off: number): number {
    return this.dv.getUint32(32 + off, true);
  }
}

/** Abstract socket names (without the leading NUL). */
export function programSocketName(servicePid: number, sockid: number): string {
  return `ztnc/${servicePid}/s${sockid.toString(16).padStart(8, "0")}`;
}
export function acceptedSocketName(servicePid: number, sockid: number): string {
  return `ztnc/${servicePid}/c${sockid.toString(16).padStart(8, "0")}`;
}
