import type { CongestionName } from "./congestion/types.ts";

/** Tunables of a TcpLayer and their defaults (Linux-like where Linux has a value). */
export interface TcpLayerOptions {
  /** Receive buffer per connection in bytes (the advertised window's upper bound). */
  recvBufferSize: number;
  /** Send buffer per connection in bytes. */
  sendBufferSize: number;
  /**
   * Grow rings while they limit throughput (receive: the peer filled our window while the
   * application kept up; send: the application is blocked and cwnd exceeds half the ring), up to
   * the maxima below. Sizes set explicitly on a socket are never changed.
   */
  autotune: boolean;
  recvBufferMax: number;
  sendBufferMax: number;
  /** Congestion control for new connections. */
  congestion: CongestionName;
  /** Offer/accept window scaling, timestamps, SACK. */
  windowScaling: boolean;
  timestamps: boolean;
  sack: boolean;
  /** RFC 6298 bounds in ms (Linux uses a 200 ms minimum). */
  minRto: number;
  maxRto: number;
  initialRto: number;
  /** Retransmissions of a SYN / of data before the connection fails with ETIMEDOUT. */
  synRetries: number;
  dataRetries: number;
  /** Delayed ACK timeout in ms (RFC 9293 says < 500; Linux's minimum is 40). */
  delayedAckMs: number;
  /**
   * Stretch ACKs for in-order data: instead of acknowledging every second full segment at once
   * (RFC 5681 4.2), acknowledge at the end of the current input batch (the event loop's turn),
   * or at once when this many segments are unacknowledged. 0 = off (every second segment). Like
   * Linux's ACK per GRO batch, it halves or better the ACKs a bulk receiver sends, each of which
   * costs a full encrypted ZeroTier packet both ways. Out-of-order data, holes filled, FIN and
   * window updates are still acknowledged at once.
   */
  ackCoalescing: number;
  /** TIME_WAIT duration (2*MSL) in ms. */
  timeWaitMs: number;
  /** FIN_WAIT_2 timeout for orphaned (closed) connections, in ms. */
  finWait2Ms: number;
  /** Keepalive defaults (per-socket overridable). */
  keepaliveIdleMs: number;
  keepaliveIntervalMs: number;
  keepaliveCount: number;
  /** Upper bound of connections (all states, excluding listeners). */
  maxConnections: number;
  /**
   * Half-open (SYN_RECEIVED) entries per listener before SYN cookies take over; the effective
   * limit is min(this, backlog) like Linux (embryos hold no rings, ~1.5 KB each).
   */
  synQueueSize: number;
  /** Use SYN cookies when a SYN queue is full (else drop the SYN). */
  synCookies: boolean;
  /** Ephemeral port range for connect(). */
  ephemeralLow: number;
  ephemeralHigh: number;
  /** Initial congestion window in segments (RFC 6928). */
  initialCwndSegments: number;
  /** Challenge ACKs allowed per second (RFC 5961 10). */
  challengeAckLimit: number;
  /**
   * Ring bytes allowed across all connections (memory limit). Rings are charged when allocated
   * (first data) and when autotuning grows them; beyond the budget a new send ring fails with
   * ENOBUFS, incoming data without a ring is dropped unacknowledged, and new connections are refused.
   */
  maxBufferBytes: number;
}

export const DEFAULT_TCP_OPTIONS: TcpLayerOptions = {
  recvBufferSize: 256 * 1024,
  sendBufferSize: 256 * 1024,
  autotune: true,
  recvBufferMax: 4 * 1024 * 1024,
  sendBufferMax: 4 * 1024 * 1024,
  congestion: "cubic",
  windowScaling: true,
  timestamps: true,
  sack: true,
  minRto: 200,
  maxRto: 120_000,
  initialRto: 1000,
  synRetries: 6,
  dataRetries: 15,
  delayedAckMs: 40,
  ackCoalescing: 0,
  timeWaitMs: 60_000,
  finWait2Ms: 60_000,
  keepaliveIdleMs: 2 * 3600_000,
  keepaliveIntervalMs: 75_000,
  keepaliveCount: 9,
  maxConnections: 65536,
  synQueueSize: 4096,
  synCookies: true,
  ephemeralLow: 32768,
  ephemeralHigh: 60999,
  initialCwndSegments: 10,
  challengeAckLimit: 1000,
  maxBufferBytes: 1024 * 1024 * 1024,
};
