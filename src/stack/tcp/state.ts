/** RFC 9293 connection states (LISTEN lives in TcpListener). */
export const enum TcpState {
  Closed = 0,
  SynSent = 1,
  SynReceived = 2,
  Established = 3,
  FinWait1 = 4,
  FinWait2 = 5,
  CloseWait = 6,
  Closing = 7,
  LastAck = 8,
  TimeWait = 9,
}

export const TCP_STATE_NAMES = [
  "CLOSED",
  "SYN_SENT",
  "SYN_RECEIVED",
  "ESTABLISHED",
  "FIN_WAIT_1",
  "FIN_WAIT_2",
  "CLOSE_WAIT",
  "CLOSING",
  "LAST_ACK",
  "TIME_WAIT",
] as const;

export type TcpStateName = (typeof TCP_STATE_NAMES)[number];

/** States in which our sequence space is synchronized with the peer's. */
export function isSynchronized(s: TcpState): boolean {
  return s >= TcpState.Established;
}
