/**
 * One TCP connection: the RFC 9293 state machine with RFC 5961 protections, RFC 7323 window
 * scaling and timestamps, RFC 2018/6675 SACK loss recovery, RFC 6298 RTO, delayed ACKs, Nagle,
 * persist and keepalive timers. This file holds the connection's state, the socket API, opening
 * and end of life; the rest lives beside it (gVisor-style): input.ts (per-state segment input),
 * ack.ts (ACK/SACK processing, loss detection, PRR), rcv.ts (receive path, reassembly, window),
 * snd.ts (segment output), timers.ts (RTO, probes, persist, keepalive, TIME_WAIT).
 */
import { TCP_ACK, TCP_RST, type TcpSegmentView } from "../wire/tcp.ts";
import { createCongestionControl, type CongestionControl, type CongestionName } from "./congestion/index.ts";
import type { TcpErrno } from "./errors.ts";
import { TcpError } from "./errors.ts";
import { onIcmpError } from "./icmp.ts";
import { connectionInfo } from "./info.ts";
import { EV_CLOSE, EV_CONNECT, EV_ERROR } from "./events.ts";
import { updateThreshold, windowEdgeGain } from "./rcv.ts";
import { output, queueFin, sendAck, sendControl, sendSyn } from "./snd.ts";
import { onTimer } from "./timers.ts";
import { inputSynchronized, inputSynSent } from "./input.ts";
import type { TcpHost } from "./host.ts";
import { RingBuffer } from "./ring-buffer.ts";
import { RtoEstimator } from "./rto.ts";
import { seqAdd } from "./seq.ts";
import { SeqRangeSet } from "./seq-ranges.ts";
import type { ShutdownHow, TcpInfo, TcpSocket, TcpSocketHandler } from "./socket.ts";
import { TCP_STATE_NAMES, TcpState, type TcpStateName } from "./state.ts";

export { EV_CLOSE, EV_CONNECT, EV_ERROR, EV_READABLE, EV_WRITABLE } from "./events.ts";

/** What a SYN cookie's timestamp echo carried besides the MSS (see TcpLayer's cookie path). */
export interface CookieOptions {
  /** The peer's window shift, or -1 when it offered none. */
  peerWscale: number;
  sack: boolean;
}

/** Smallest window shift that lets a window field cover `bytes` (RFC 7323). */
export function windowShiftFor(bytes: number): number {
  let s = 0;
  while (s < 14 && bytes >>> s > 65535) s++;
  return s;
}

/** Anything that owns connections in its listen queue (see listener.ts). */
export interface ConnectionOwner {
  removeEmbryo(conn: Connection): void;
}

export class Connection implements TcpSocket {
  // --- identity ---
  localAddr: number;
  localPort: number;
  remoteAddr: number;
  remotePort: number;
  state: TcpState = TcpState.Closed;
  /** Listener that spawned this connection until accept() takes it. */
  listener: ConnectionOwner | null = null;
  /** Chain in the layer's demux bucket. */
  nextInBucket: Connection | null = null;
  handler: TcpSocketHandler | null = null;
  error: TcpErrno | null = null;
  /** Last soft error (ICMP, no route) reported if the connection later times out. */
  softError: TcpErrno | null = null;

  // --- send sequence space ---
  iss = 0;
  sndUna = 0;
  sndNxt = 0;
  /** Highest sequence sent + 1 (snd.nxt is pulled back after an RTO). */
  sndMax = 0;
  sndWnd = 0;
  sndWl1 = 0;
  sndWl2 = 0;
  maxSndWnd = 0;
  /** Peer's window shift (applied to windows it advertises). */
  sndWscale = 0;
  /** Sequence number of the tx ring's first byte. */
  sndBufSeq = 0;
  /** End of the last small (< MSS) segment sent, for Nagle. */
  sndSmallEnd = 0;
  finQueued = false;
  /** Sequence number of our FIN (valid when finQueued). */
  finSeq = 0;

  // --- receive sequence space ---
  irs = 0;
  rcvNxt = 0;
  /** Our window shift. */
  rcvWscale = 0;
  /** Right edge of the window we last advertised (never moved left). */
  rcvAdvRight = 0;
  lastAckSent = 0;
  /** Sequence number of a FIN that arrived out of order, or -1. */
  rcvFinSeq = -1;
  peerClosed = false;
  rdShut = false;
  /** close() was called: the application is gone. */
  orphan = false;

  // --- negotiated options ---
  wsOk = false;
  tsOk = false;
  sackOk = false;
  tsRecent = 0;
  tsOffset = 0;
  /** MSS we advertise (from our MTU). */
  advMss = 536;
  /** Effective send MSS (payload bytes, excluding TCP options). */
  sendMss = 536;
  /** Peer's MSS option (or 536). */
  peerMss = 536;

  // --- buffers (allocated on first use, so idle and half-open connections cost no ring memory) ---
  sndq: RingBuffer | null = null;
  rcvq: RingBuffer | null = null;
  txSize: number;
  rxSize: number;
  /** Autotuning limits (equal to the sizes when fixed by the application). */
  rxMax: number;
  txMax: number;
  /** Receive autotuning: RTT seen from echoed timestamps, and the bytes-per-RTT measurement. */
  rcvRtt = 0;
  drsTime = 0;
  drsSeq = 0;
  /** Bytes received in the previous RTT (dynamic right-sizing sees a sender speeding up). */
  drsLast = 0;
  /** Ring bytes charged to the layer's memory budget. */
  ringBytes = 0;
  /** The application found the send ring full since the last growth check. */
  sndBlocked = false;
  ooo: SeqRangeSet | null = null;
  lastOooSeq = 0;
  /** A duplicate segment to report as D-SACK in the next ACK (RFC 2883). */
  dsackPending = false;
  dsackLeft = 0;
  dsackRight = 0;
  scoreboard: SeqRangeSet | null = null;

  // --- congestion / loss recovery ---
  cc: CongestionControl;
  rto: RtoEstimator;
  rttTiming = false;
  rttSeq = 0;
  rttTime = 0;
  /** Largest flight in the current window and where that window ends (cwnd-limited test). */
  flightPeak = 0;
  flightPeakPrev = 0;
  flightPeakSeq = 0;
  /** A model-based control's round ends when data at or above this is delivered (see ack.ts). */
  modelRoundSeq = 0;
  dupAcks = 0;
  /** Duplicate-ACK threshold; raised when reordering caused a spurious fast retransmit. */
  dupThresh = 3;
  /** In fast recovery or (with SACK) in post-RTO loss recovery until recoverySeq is acked. */
  inRecovery = false;
  /** The current recovery started with a retransmission timeout (slow start, all in flight lost). */
  afterRto = false;
  recoverySeq = 0;
  /** Highest sequence number retransmitted in this recovery. */
  highRxt = 0;
  /** Un-SACKed bytes below this are deemed lost (RFC 6675 IsLost boundary, or snd.max after an RTO). */
  lostEnd = 0;
  /** snd.max when the latest hole was retransmitted (lost-retransmission detection). */
  rxtMark = 0;
  /** Eifel undo (RFC 3522): state saved when fast recovery started. */
  undoArmed = false;
  undoSeq = 0;
  undoTsVal = 0;
  /** Timestamp clock when the latest fast recovery or timeout began (see enterRecovery's Eifel check). */
  recoveryStartTs = 0;
  undoCwnd = 0;
  undoSsthresh = 0;
  /** PRR (RFC 6937) accounting for the current fast recovery. */
  prrDelivered = 0;
  prrOut = 0;
  recoverFs = 1;
  /** A retransmission timeout whose spuriousness the next ACK's timestamp can reveal. */
  rtoUndoArmed = false;
  /** D-SACK undo: retransmissions of the last fast recovery not yet proven unnecessary. */
  dsackUndoArmed = false;
  undoRetrans = 0;
  /** Consecutive retransmission timeouts of the same data. */
  retransmits = 0;

  // --- timers (absolute ms; Infinity = off) ---
  rtxAt = Infinity;
  /** Tail loss probe (RFC 8985 7) outside recovery; lost-retransmission probe inside it. */
  tlpAt = Infinity;
  tlpBackoff = 0;
  delackAt = Infinity;
  persistAt = Infinity;
  keepAt = Infinity;
  waitAt = Infinity;
  /** When pacing lets the next data segment go (see snd.ts paceAllows). */
  paceAt = Infinity;
  /** Pacing budget in bytes at paceStamp (a token bucket of one burst). */
  paceCredit = 0;
  paceStamp = -Infinity;
  deadline = Infinity;
  heapIndex = -1;
  persistBackoff = 0;
  /** Zero-window probes sent since the peer last sent anything. */
  persistProbes = 0;

  // --- keepalive ---
  keepalive = false;
  keepIdle: number;
  keepIntvl: number;
  keepCnt: number;
  keepProbes = 0;
  lastRecvAt = 0;

  // --- ACK scheduling ---
  ackNow = false;
  segsSinceAck = 0;
  /** In the layer's list of ACKs sent at the end of the input batch. */
  ackDeferred = false;

  // --- options ---
  nodelay = false;
  linger: number | null = null;

  // --- events ---
  events = 0;
  eventQueued = false;

  constructor(
    readonly host: TcpHost,
    localAddr: number,
    localPort: number,
    remoteAddr: number,
    remotePort: number,
    rxSize: number,
    txSize: number,
    /** Let the rings grow toward the layer's maxima (false when the size was set explicitly). */
    autotune = host.opts.autotune,
  ) {
    this.localAddr = localAddr;
    this.localPort = localPort;
    this.remoteAddr = remoteAddr;
    this.remotePort = remotePort;
    this.rxSize = rxSize;
    this.txSize = txSize;
    const o = host.opts;
    this.rxMax = autotune ? Math.max(rxSize, o.recvBufferMax) : rxSize;
    this.txMax = autotune ? Math.max(txSize, o.sendBufferMax) : txSize;
    this.rto = new RtoEstimator(o.minRto, o.maxRto, o.initialRto);
    this.cc = this.newCongestionControl(o.congestion);
    this.keepIdle = o.keepaliveIdleMs;
    this.keepIntvl = o.keepaliveIntervalMs;
    this.keepCnt = o.keepaliveCount;
    // Our window scale: smallest shift that lets the advertised window cover the buffer.
    if (o.windowScaling) this.rcvWscale = windowShiftFor(this.rxMax);
  }

  // ================================================================ TcpSocket (public API)

  get stateName(): TcpStateName {
    return TCP_STATE_NAMES[this.state];
  }
  get connected(): boolean {
    return this.state >= TcpState.Established && this.error === null;
  }
  get readableLength(): number {
    return this.rcvq === null ? 0 : this.rcvq.length;
  }
  get writableLength(): number {
    if (this.finQueued || this.orphan || this.error !== null) return 0;
    if (this.state !== TcpState.Established && this.state !== TcpState.CloseWait) return 0;
    return this.sndq === null ? this.txSize : this.sndq.free;
  }
  /** The send ring, allocated on first access while sending is possible (null if out of memory). */
  get tx(): RingBuffer | null {
    if (this.sndq === null && this.writableLength > 0) this.allocTx();
    return this.sndq;
  }

  get txAllocated(): RingBuffer | null {
    return this.sndq;
  }

  /** Allocate the send ring within the layer's memory limit. */
  allocTx(): RingBuffer | null {
    if (this.sndq === null && this.host.adjustBufferBytes(this.txSize)) {
      this.sndq = new RingBuffer(this.txSize);
      this.ringBytes += this.txSize;
    }
    return this.sndq;
  }

  /** Allocate the receive ring within the layer's memory limit. */
  allocRx(): RingBuffer | null {
    if (this.rcvq === null && this.host.adjustBufferBytes(this.rxSize)) {
      this.rcvq = new RingBuffer(this.rxSize);
      this.ringBytes += this.rxSize;
    }
    return this.rcvq;
  }

  /** Drop rings no longer needed and return their bytes to the layer's budget. */
  freeRings(rx: boolean): void {
    if (this.sndq !== null) {
      this.host.adjustBufferBytes(-this.sndq.capacity);
      this.ringBytes -= this.sndq.capacity;
      this.sndq = null;
    }
    if (rx && this.rcvq !== null) {
      this.host.adjustBufferBytes(-this.rcvq.capacity);
      this.ringBytes -= this.rcvq.capacity;
      this.rcvq = null;
    }
  }
  /** The receive ring (null until the first byte arrived). */
  get rx(): RingBuffer | null {
    return this.rcvq;
  }
  get mss(): number {
    return this.sendMss;
  }

  consume(n: number): void {
    const rx = this.rcvq;
    if (rx === null || n <= 0) return;
    if (n > rx.length) n = rx.length;
    const before = windowEdgeGain(this);
    rx.consume(n);
    // Send a window update when the window opens by enough to matter (RFC 9293 3.8.6.2.2).
    if (this.state >= TcpState.Established && !this.peerClosed) {
      const gain = windowEdgeGain(this);
      if (gain >= updateThreshold(this) && before < updateThreshold(this)) sendAck(this);
    }
  }

  recv(dst: Uint8Array, start: number, end: number): number {
    const rx = this.rcvq;
    if (rx === null) return 0;
    const n = Math.min(end - start, rx.length);
    if (n <= 0) return 0;
    rx.copyOut(0, dst, start, n);
    this.consume(n);
    return n;
  }

  commit(n: number): void {
    if (n <= 0) return;
    this.checkWritable();
    const tx = this.sndq!;
    if (n > tx.free) throw new TcpError("EINVAL", "commit beyond free space");
    tx.commit(n);
    if (tx.free === 0) this.sndBlocked = true;
    output(this);
  }

  send(src: Uint8Array, start: number, end: number): number {
    this.checkWritable();
    const n = this.sndq!.write(src, start, end);
    if (this.sndq!.free === 0) this.sndBlocked = true;
    if (n > 0) output(this);
    return n;
  }

  checkWritable(): void {
    if (this.error !== null) throw new TcpError(this.error);
    if (this.finQueued || this.orphan) throw new TcpError("EPIPE");
    if (
      this.state !== TcpState.SynSent && // data may be queued before the handshake completes
      this.state !== TcpState.SynReceived &&
      this.state !== TcpState.Established &&
      this.state !== TcpState.CloseWait
    ) {
      throw new TcpError("EPIPE");
    }
    if (this.allocTx() === null) throw new TcpError("ENOBUFS");
  }

  shutdown(how: ShutdownHow): void {
    if (how === "read" || how === "both") {
      this.rdShut = true;
      if (this.rcvq !== null) this.rcvq.consume(this.rcvq.length);
    }
    if (how === "write" || how === "both") queueFin(this);
  }

  close(): void {
    if (this.orphan) return;
    this.orphan = true;
    this.handlerDetachOnClose();
    switch (this.state) {
      case TcpState.Closed:
        return;
      case TcpState.SynSent:
        this.finish(null);
        return;
      default:
        break;
    }
    // Linux: closing with unread data resets the connection (RFC 9293 3.10.4 allows it), as does linger 0.
    if ((this.rcvq !== null && this.rcvq.length > 0) || this.linger === 0) {
      this.abort();
      return;
    }
    this.rdShut = true;
    queueFin(this);
    if (this.linger !== null && this.linger > 0 && this.state !== TcpState.TimeWait) {
      this.waitAt = Math.min(this.waitAt, this.now() + this.linger);
      this.rearm();
    }
  }

  /** After close() the application gets only onClose. */
  handlerDetachOnClose(): void {
    this.events &= EV_CLOSE;
  }

  abort(): void {
    if (this.state === TcpState.Closed) return;
    this.sendAbortReset();
    this.orphan = true;
    this.finish(null);
  }

  /** Reset the connection and report `code` to the application (e.g. its address went away). */
  abortWith(code: TcpErrno): void {
    if (this.state === TcpState.Closed) return;
    this.sendAbortReset();
    this.fail(code);
  }

  private sendAbortReset(): void {
    if (this.state !== TcpState.SynSent && this.state !== TcpState.TimeWait) {
      sendControl(this, this.sndMax, TCP_RST | TCP_ACK);
      this.host.stats.resetsSent++;
    }
  }

  setBufferSizes(recv?: number, send?: number): void {
    const rx = recv ?? this.rxSize;
    const tx = send ?? this.txSize;
    if (rx < 256 || tx < 256 || rx > 1 << 30 || tx > 1 << 30) throw new TcpError("EINVAL", "buffer size");
    // A ring already holding data keeps its size (like Linux, shrinking is not retroactive).
    const newRx = this.rcvq === null ? rx : this.rxSize;
    const newTx = this.sndq === null ? tx : this.txSize;
    // Rings are charged when allocated; refuse sizes that could never be allocated now.
    if (!this.host.adjustBufferBytes(newRx + newTx)) throw new TcpError("ENOBUFS");
    this.host.adjustBufferBytes(-(newRx + newTx));
    this.rxSize = newRx;
    this.txSize = newTx;
    if (recv !== undefined) this.rxMax = newRx; // an explicit size turns autotuning off (Linux: SOCK_RCVBUF_LOCK)
    if (send !== undefined) this.txMax = newTx;
    // Window scale was fixed by the SYN: windows beyond 65535 << rcvWscale are simply not offered.
  }

  info(): TcpInfo {
    return connectionInfo(this);
  }

  setKeepalive(enable: boolean, idleMs?: number, intervalMs?: number, count?: number): void {
    this.keepalive = enable;
    if (idleMs !== undefined) this.keepIdle = idleMs;
    if (intervalMs !== undefined) this.keepIntvl = intervalMs;
    if (count !== undefined) this.keepCnt = count;
    this.keepProbes = 0;
    this.keepAt = enable && this.state >= TcpState.Established ? this.lastRecvAt + this.keepIdle : Infinity;
    this.rearm();
  }

  // ================================================================ opening

  /** Active open: send SYN. */
  openActive(iss: number): void {
    this.iss = iss;
    this.sndUna = iss;
    this.sndNxt = iss;
    this.sndMax = iss;
    this.sndBufSeq = seqAdd(iss, 1);
    this.recoverySeq = iss;
    this.highRxt = iss;
    this.sndSmallEnd = iss;
    this.state = TcpState.SynSent;
    this.advMss = this.mssForMtu();
    sendSyn(this, false);
    this.sndNxt = this.sndMax = seqAdd(iss, 1);
    this.rtxAt = this.now() + this.rto.current();
    this.rearm();
  }

  /**
   * Passive open from a listener's SYN: record the peer's options and answer SYN-ACK.
   * `seg` is the SYN.
   */
  openPassive(seg: TcpSegmentView, iss: number): void {
    this.irs = seg.seq;
    this.rcvNxt = seqAdd(seg.seq, 1);
    this.iss = iss;
    this.sndUna = iss;
    this.sndBufSeq = seqAdd(iss, 1);
    this.recoverySeq = iss;
    this.highRxt = iss;
    this.sndSmallEnd = iss;
    this.advMss = this.mssForMtu();
    this.takeSynOptions(seg);
    this.sndWnd = seg.window; // never scaled in a SYN
    this.maxSndWnd = this.sndWnd;
    this.sndWl1 = seg.seq;
    this.sndWl2 = iss;
    this.state = TcpState.SynReceived;
    sendSyn(this, true);
    this.sndNxt = this.sndMax = seqAdd(iss, 1);
    this.lastRecvAt = this.now();
    this.rtxAt = this.now() + this.rto.current();
    this.rearm();
  }

  /**
   * Connection created straight from a valid SYN-cookie ACK: the handshake is complete and only
   * the MSS survived (window scale, SACK and timestamps are lost without state).
   */
  openFromCookie(seg: TcpSegmentView, iss: number, mss: number, opts: CookieOptions | null = null): void {
    this.irs = seqAdd(seg.seq, -1);
    this.rcvNxt = seg.seq;
    this.iss = iss;
    this.sndUna = seqAdd(iss, 1);
    this.sndNxt = this.sndMax = this.sndBufSeq = this.sndUna;
    this.recoverySeq = iss;
    this.highRxt = this.sndUna;
    this.sndSmallEnd = this.sndUna;
    this.advMss = this.mssForMtu();
    this.peerMss = mss;
    if (opts !== null && opts.peerWscale >= 0) {
      // Options recovered from the timestamp echo (the SYN-ACK offered our rcvWscale).
      this.wsOk = true;
      this.sndWscale = opts.peerWscale;
    } else {
      this.wsOk = false;
      this.rcvWscale = 0;
      this.sndWscale = 0;
    }
    this.sackOk = opts !== null && opts.sack;
    if (opts !== null) {
      this.tsOk = true;
      this.tsRecent = seg.tsVal;
    }
    this.updateSendMss();
    this.sndWnd = seg.window << this.sndWscale;
    this.maxSndWnd = this.sndWnd;
    this.sndWl1 = seg.seq;
    this.sndWl2 = seg.ack;
    this.rcvAdvRight = seqAdd(this.rcvNxt, Math.min(this.rxSize, 65535));
    this.lastAckSent = this.rcvNxt;
    this.lastRecvAt = this.now();
    this.becomeEstablished();
  }

  takeSynOptions(seg: TcpSegmentView): void {
    const o = this.host.opts;
    this.peerMss = seg.mss > 0 ? seg.mss : 536;
    if (o.windowScaling && seg.wscale >= 0) {
      this.wsOk = true;
      this.sndWscale = seg.wscale;
    } else {
      this.wsOk = false;
      this.sndWscale = 0;
      this.rcvWscale = 0;
    }
    this.sackOk = o.sack && seg.sackPermitted;
    if (o.timestamps && seg.hasTimestamp) {
      this.tsOk = true;
      this.tsRecent = seg.tsVal;
    } else {
      this.tsOk = false;
    }
    this.updateSendMss();
  }

  mssForMtu(): number {
    return Math.max(88, Math.min(65495, this.host.ip.mtu - 40));
  }

  /** Effective send MSS: peer's MSS, our path MTU, minus timestamp option bytes. */
  updateSendMss(pmtu?: number): void {
    const mtu = pmtu ?? this.host.ip.mtu;
    let m = Math.min(this.peerMss, mtu - 40);
    if (this.tsOk) m -= 12;
    this.sendMss = Math.max(64, m);
  }

  becomeEstablished(): void {
    this.state = TcpState.Established;
    this.cc.cwnd = this.host.opts.initialCwndSegments * this.sendMss;
    this.modelRoundSeq = this.sndMax;
    if (this.keepalive) this.keepAt = this.lastRecvAt + this.keepIdle;
    if (this.listener !== null) {
      if (!this.host.passiveEstablished(this)) {
        // Accept queue full: stay half-open; the peer retransmits its ACK or data later.
        this.state = TcpState.SynReceived;
        return;
      }
    } else {
      this.raise(EV_CONNECT);
    }
  }

  /** A control for this connection; the ports seed what it randomises (BBR's cycle phase). */
  private newCongestionControl(name: CongestionName): CongestionControl {
    return createCongestionControl(name, 536 * this.host.opts.initialCwndSegments, this.localPort * 65537 + this.remotePort);
  }

  get congestion(): CongestionName {
    return this.cc.name;
  }

  set congestion(name: CongestionName) {
    if (name === this.cc.name) return;
    const old = this.cc;
    const cc = this.newCongestionControl(name);
    if (this.state >= TcpState.Established) cc.cwnd = old.cwnd;
    this.cc = cc;
    this.paceStamp = -Infinity;
    this.modelRoundSeq = this.sndMax;
  }

  // ================================================================ input

  /** Process one segment addressed to this connection. */
  input(seg: TcpSegmentView): void {
    const now = this.now();
    this.host.stats.segmentsIn++;
    this.persistProbes = 0;
    switch (this.state) {
      case TcpState.Closed:
        return;
      case TcpState.SynSent:
        inputSynSent(this, seg, now);
        break;
      default:
        inputSynchronized(this, seg, now);
        break;
    }
    if ((this.state as TcpState) !== TcpState.Closed) {
      output(this);
      this.rearm();
    }
  }

  enterTimeWait(now: number): void {
    this.state = TcpState.TimeWait;
    this.rtxAt = Infinity;
    this.paceAt = Infinity;
    this.persistAt = Infinity;
    this.keepAt = Infinity;
    this.delackAt = Infinity;
    this.waitAt = now + this.host.opts.timeWaitMs;
    // TIME_WAIT keeps only what is needed to answer retransmitted FINs.
    this.freeRings(this.orphan);
    this.scoreboard = null;
    this.ooo = null;
    if (this.ackNow) sendAck(this);
  }

  // ================================================================ timers

  /** Run the timers that are due (called by the layer's poll). */
  onTimer(now: number): void {
    onTimer(this, now);
  }

  /** Send a pure ACK now (e.g. to answer a SYN in TIME_WAIT). */
  sendAck(): void {
    sendAck(this);
  }

  /** Recompute the nearest deadline and tell the layer. */
  rearm(): void {
    let d = this.rtxAt;
    if (this.tlpAt < d) d = this.tlpAt;
    if (this.delackAt < d) d = this.delackAt;
    if (this.persistAt < d) d = this.persistAt;
    if (this.keepAt < d) d = this.keepAt;
    if (this.waitAt < d) d = this.waitAt;
    if (this.paceAt < d) d = this.paceAt;
    if (this.state === TcpState.Closed) d = Infinity;
    if (d !== this.deadline) {
      this.deadline = d;
      this.host.timerChanged(this);
    }
  }

  // ================================================================ ICMP

  /** An ICMP error quoted one of our segments (see icmp.ts). */
  onIcmp(type: number, code: number, nextHopMtu: number): void {
    onIcmpError(this, type, code, nextHopMtu);
  }

  // ================================================================ end of life

  /** Abort with an error visible to the application. */
  fail(code: TcpErrno): void {
    if (this.state === TcpState.Closed) return;
    this.error = code;
    if (!this.orphan) this.raise(EV_ERROR);
    this.finish(code);
  }

  /** Enter CLOSED, stop timers, leave the tables. */
  finish(_code: TcpErrno | null): void {
    if (this.state === TcpState.Closed) return;
    this.state = TcpState.Closed;
    this.rtxAt = this.tlpAt = this.delackAt = this.persistAt = this.keepAt = this.waitAt = this.paceAt = Infinity;
    this.rearm();
    if (this.deadline !== Infinity) {
      this.deadline = Infinity;
      this.host.timerChanged(this);
    }
    if (this.listener !== null) {
      this.listener.removeEmbryo(this);
      this.listener = null;
    }
    // The receive ring stays readable for the application; its bytes leave the budget with release().
    this.sndq = null;
    this.scoreboard = null;
    this.ooo = null;
    this.host.release(this);
    this.raise(EV_CLOSE);
  }

  raise(bits: number): void {
    this.events |= bits;
    this.host.queueEvents(this);
  }

  now(): number {
    return this.host.now();
  }

  /** Timestamp clock: 1 ms ticks plus a per-connection random offset (RFC 7323 5.4). */
  tsNow(): number {
    return (Math.floor(this.host.now()) + this.tsOffset) >>> 0;
  }
}
