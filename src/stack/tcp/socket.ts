/**
 * The socket API TCP offers to the layers above (netcon, tests, benchmarks). A socket is driven
 * without blocking: calls return at once and outcomes arrive through the handler, so the netcon
 * layer can mirror them onto a program's kernel fd (readable/writable/error readiness).
 *
 * Handler calls are made after the layer finished processing an input segment or timer, never
 * from inside a socket method, so a handler may call any socket method.
 */
import type { CongestionName } from "./congestion/types.ts";
import type { TcpErrno } from "./errors.ts";
import type { RingBuffer } from "./ring-buffer.ts";
import type { TcpStateName } from "./state.ts";

export interface TcpSocketHandler {
  /** Active open completed (ESTABLISHED). A failure is reported by onError instead. */
  onConnect?(sock: TcpSocket): void;
  /** New in-order data, or the peer's FIN (then `sock.peerClosed` is true). */
  onReadable?(sock: TcpSocket): void;
  /** Send-buffer space was freed by an ACK (fires per ACK batch; check `writableLength`). */
  onWritable?(sock: TcpSocket): void;
  /** The connection failed (refused, reset, timed out, unreachable). `sock.error` holds the code. */
  onError?(sock: TcpSocket, code: TcpErrno): void;
  /**
   * The connection is gone from the layer (after an error, a reset, the end of TIME_WAIT or
   * LAST_ACK, or an abort) and its resources released; no more events follow.
   */
  onClose?(sock: TcpSocket): void;
}

export interface TcpListenerHandler {
  /**
   * The accept queue went from empty to non-empty. Accept until null; `pending` is the level.
   * An accepted socket has no handler until you set one: check `readableLength`/`peerClosed`.
   */
  onAcceptable?(listener: TcpListener): void;
}

export type ShutdownHow = "read" | "write" | "both";

export interface TcpSocket {
  readonly localAddr: number;
  readonly localPort: number;
  readonly remoteAddr: number;
  readonly remotePort: number;
  readonly stateName: TcpStateName;
  /** Sticky error (SO_ERROR), or null. */
  readonly error: TcpErrno | null;
  /** Handshake finished and data may flow (ESTABLISHED or later, until closed). */
  readonly connected: boolean;
  /** The peer sent FIN and every byte before it is in the receive buffer. */
  readonly peerClosed: boolean;

  handler: TcpSocketHandler | null;

  // --- receiving ---
  /** Bytes waiting to be read. */
  readonly readableLength: number;
  /**
   * The receive ring (null until data arrived): read buf[rx.readStart(), +rx.readContiguous())
   * then `consume`. Re-read this property per event: autotuning may replace the ring.
   */
  readonly rx: RingBuffer | null;
  /** Mark n bytes of the receive ring read (opens the window, may send a window update). */
  consume(n: number): void;
  /** Copy up to dst[start,end) out of the receive buffer; returns the count (0: nothing yet, or EOF if `peerClosed`). */
  recv(dst: Uint8Array, start: number, end: number): number;

  // --- sending ---
  /** Free bytes in the send buffer (0 once write-shut or closed). */
  readonly writableLength: number;
  /**
   * The send ring, allocated on first access (null if not writable or out of memory): write into
   * buf[tx.writeStart(), +tx.writeContiguous()) then `commit`. Re-read per event (autotuning).
   */
  readonly tx: RingBuffer | null;
  /** The send ring if it exists already (never allocates): lets a caller wait for data first. */
  readonly txAllocated: RingBuffer | null;
  /** Queue n bytes written into the send ring's free region; sends what the windows allow. */
  commit(n: number): void;
  /**
   * Copy src[start,end) into the send buffer as far as it fits; returns the count taken (data may
   * be queued during the handshake). Throws TcpError: EPIPE after shutdown/close, the sticky
   * error after a failure, ENOBUFS when the layer's memory budget is exhausted.
   */
  send(src: Uint8Array, start: number, end: number): number;

  // --- closing ---
  /** Half-close: "write" sends FIN after queued data; "read" discards further input. */
  shutdown(how: ShutdownHow): void;
  /** Close gracefully (FIN after queued data); RST instead if unread data remains or linger=0. */
  close(): void;
  /** Send RST and drop the connection now. */
  abort(): void;

  // --- options ---
  nodelay: boolean;
  /**
   * TCP_CONGESTION: the congestion control, changeable at any time (Linux allows it on an open
   * connection too); the new one starts from the current window.
   */
  congestion: CongestionName;
  /** Enable keepalive probes; idle/interval in ms and probe count default from the layer options. */
  setKeepalive(enable: boolean, idleMs?: number, intervalMs?: number, count?: number): void;
  /**
   * SO_RCVBUF / SO_SNDBUF. Takes effect for a ring not yet allocated (rings appear with the first
   * data); before connect/listen use ConnectOptions/ListenOptions. The receive window can only
   * reach 65535 << (window scale chosen at SYN time). Throws EINVAL / ENOBUFS.
   */
  setBufferSizes(recv?: number, send?: number): void;
  /** SO_LINGER: null = default (graceful background close); 0 = abortive close; n ms = wait for FIN ack up to n. */
  linger: number | null;
  /** Current effective send MSS. */
  readonly mss: number;
  /** Snapshot of the connection's internals (allocates; not for hot paths). */
  info(): TcpInfo;
}

/** A snapshot of connection internals (like Linux's TCP_INFO), for diagnostics and metrics. */
export interface TcpInfo {
  state: TcpStateName;
  /** Smoothed RTT and RTT variance in ms (0 before the first sample); current RTO in ms. */
  srtt: number;
  rttvar: number;
  rto: number;
  /** Effective send MSS, congestion window and slow-start threshold in bytes. */
  mss: number;
  cwnd: number;
  ssthresh: number;
  /** Peer's receive window (scaled) and bytes in flight. */
  sndWnd: number;
  inFlight: number;
  inRecovery: boolean;
  /** Ring sizes (current) and fill. */
  sendBuffer: number;
  sendQueued: number;
  recvBuffer: number;
  recvQueued: number;
  /** Negotiated options. */
  windowScaling: boolean;
  sack: boolean;
  timestamps: boolean;
  congestion: CongestionName;
  /** Pacing rate in bytes per second (0: not paced). */
  pacingRate: number;
}

export interface TcpListener {
  readonly localAddr: number;
  readonly localPort: number;
  readonly backlog: number;
  /** Connections waiting in the accept queue. */
  readonly pending: number;
  handler: TcpListenerHandler | null;
  /** Take the oldest waiting connection, or null. */
  accept(): TcpSocket | null;
  /** Stop listening; waiting connections are reset. */
  close(): void;
}

export interface ConnectOptions {
  localAddr?: number;
  localPort?: number;
  handler?: TcpSocketHandler;
  nodelay?: boolean;
  recvBufferSize?: number;
  sendBufferSize?: number;
  /** Congestion control for this connection (default: the layer's). */
  congestion?: CongestionName;
}

export interface ListenOptions {
  localAddr?: number;
  backlog?: number;
  handler?: TcpListenerHandler;
  recvBufferSize?: number;
  sendBufferSize?: number;
}
