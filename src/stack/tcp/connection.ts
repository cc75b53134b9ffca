/**
 * One TCP connection: the RFC 9293 state machine with RFC 5961 protections, RFC 7323 window
 * scaling and timestamps, RFC 2018/6675 SACK loss recovery, RFC 6298 RTO, delayed ACKs, Nagle,
 * persist and keepalive timers. Segments are built into the layer's shared transmit buffer;
 * payload moves ring -> tx buffer and rx view -> ring, one copy each way.
 */
import { IPPROTO_TCP, TRANSPORT_HEADROOM } from "../link.ts";
import {
  emitTcpSegment,
  TCP_ACK,
  TCP_FIN,
  TCP_MAX_SACK_BLOCKS,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  tcpHeaderLength,
  type TcpSegmentView,
} from "../wire/tcp.ts";
import { createCongestionControl, type CongestionControl } from "./congestion/index.ts";
import type { TcpErrno } from "./errors.ts";
import { icmpUnreachToErrno, TcpError } from "./errors.ts";
import type { TcpHost } from "./host.ts";
import { RingBuffer } from "./ring-buffer.ts";
import { RtoEstimator } from "./rto.ts";
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt, seqMax } from "./seq.ts";
import { SeqRangeSet } from "./seq-ranges.ts";
import type { ShutdownHow, TcpSocket, TcpSocketHandler } from "./socket.ts";
import { TCP_STATE_NAMES, TcpState, type TcpStateName } from "./state.ts";

export const EV_CONNECT = 1;
export const EV_READABLE = 2;
export const EV_WRITABLE = 4;
export const EV_ERROR = 8;
export const EV_CLOSE = 16;

/** Out-of-order ranges the receiver remembers; more holes than this and new islands are dropped. */
const OOO_RANGES = 16;
/** Sender scoreboard size (SACKed ranges). */
const SCOREBOARD_RANGES = 32;
const DUP_THRESH = 3;
const PERSIST_MIN = 200;
const PERSIST_MAX = 60_000;

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

  // --- buffers ---
  tx: RingBuffer | null = null;
  rx: RingBuffer | null = null;
  readonly txSize: number;
  readonly rxSize: number;
  ooo: SeqRangeSet | null = null;
  lastOooSeq = 0;
  scoreboard: SeqRangeSet | null = null;

  // --- congestion / loss recovery ---
  cc: CongestionControl;
  rto: RtoEstimator;
  rttTiming = false;
  rttSeq = 0;
  rttTime = 0;
  dupAcks = 0;
  inRecovery = false;
  recoverySeq = 0;
  highRxt = 0;
  /** Consecutive retransmission timeouts of the same data. */
  retransmits = 0;

  // --- timers (absolute ms; Infinity = off) ---
  rtxAt = Infinity;
  delackAt = Infinity;
  persistAt = Infinity;
  keepAt = Infinity;
  waitAt = Infinity;
  deadline = Infinity;
  heapIndex = -1;
  persistBackoff = 0;

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
  ) {
    this.localAddr = localAddr;
    this.localPort = localPort;
    this.remoteAddr = remoteAddr;
    this.remotePort = remotePort;
    this.rxSize = rxSize;
    this.txSize = txSize;
    const o = host.opts;
    this.rto = new RtoEstimator(o.minRto, o.maxRto, o.initialRto);
    this.cc = createCongestionControl(o.congestion, 536 * o.initialCwndSegments);
    this.keepIdle = o.keepaliveIdleMs;
    this.keepIntvl = o.keepaliveIntervalMs;
    this.keepCnt = o.keepaliveCount;
    // Our window scale: smallest shift that lets the advertised window cover the buffer.
    if (o.windowScaling) {
      let s = 0;
      while (s < 14 && rxSize >>> s > 65535) s++;
      this.rcvWscale = s;
    }
  }

  // ================================================================ TcpSocket (public API)

  get stateName(): TcpStateName {
    return TCP_STATE_NAMES[this.state];
  }
  get connected(): boolean {
    return this.state >= TcpState.Established && this.error === null;
  }
  get readableLength(): number {
    return this.rx === null ? 0 : this.rx.length;
  }
  get writableLength(): number {
    if (this.tx === null || this.finQueued || this.error !== null) return 0;
    if (this.state !== TcpState.Established && this.state !== TcpState.CloseWait) return 0;
    return this.tx.free;
  }
  get mss(): number {
    return this.sendMss;
  }

  consume(n: number): void {
    const rx = this.rx;
    if (rx === null || n <= 0) return;
    if (n > rx.length) n = rx.length;
    const before = this.windowEdgeGain();
    rx.consume(n);
    // Send a window update when the window opens by enough to matter (RFC 9293 3.8.6.2.2).
    if (this.state >= TcpState.Established && !this.peerClosed) {
      const gain = this.windowEdgeGain();
      if (gain >= this.updateThreshold() && before < this.updateThreshold()) this.sendAck();
    }
  }

  recv(dst: Uint8Array, start: number, end: number): number {
    const rx = this.rx;
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
    const tx = this.tx!;
    if (n > tx.free) throw new TcpError("EINVAL", "commit beyond free space");
    tx.commit(n);
    this.output();
  }

  send(src: Uint8Array, start: number, end: number): number {
    this.checkWritable();
    const n = this.tx!.write(src, start, end);
    if (n > 0) this.output();
    return n;
  }

  private checkWritable(): void {
    if (this.error !== null) throw new TcpError(this.error);
    if (this.finQueued || this.orphan) throw new TcpError("EPIPE");
    if (this.state === TcpState.SynSent || this.state === TcpState.SynReceived) {
      // Data may be queued before the handshake completes; it goes out once established.
      if (this.tx === null) this.tx = new RingBuffer(this.txSize);
      return;
    }
    if (this.state !== TcpState.Established && this.state !== TcpState.CloseWait) throw new TcpError("EPIPE");
  }

  shutdown(how: ShutdownHow): void {
    if (how === "read" || how === "both") {
      this.rdShut = true;
      if (this.rx !== null) this.rx.consume(this.rx.length);
    }
    if (how === "write" || how === "both") this.queueFin();
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
    if ((this.rx !== null && this.rx.length > 0) || this.linger === 0) {
      this.abort();
      return;
    }
    this.rdShut = true;
    this.queueFin();
    if (this.linger !== null && this.linger > 0 && this.state !== TcpState.TimeWait) {
      this.waitAt = Math.min(this.waitAt, this.now() + this.linger);
      this.rearm();
    }
  }

  /** After close() the application gets only onClose. */
  private handlerDetachOnClose(): void {
    this.events &= EV_CLOSE;
  }

  abort(): void {
    if (this.state === TcpState.Closed) return;
    if (this.state !== TcpState.SynSent && this.state !== TcpState.TimeWait) {
      this.sendControl(this.sndMax, TCP_RST | TCP_ACK);
      this.host.stats.resetsSent++;
    }
    this.orphan = true;
    this.finish(null);
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
    this.sendSyn(false);
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
    this.rx = new RingBuffer(this.rxSize);
    this.sendSyn(true);
    this.sndNxt = this.sndMax = seqAdd(iss, 1);
    this.lastRecvAt = this.now();
    this.rtxAt = this.now() + this.rto.current();
    this.rearm();
  }

  /**
   * Connection created straight from a valid SYN-cookie ACK: the handshake is complete and only
   * the MSS survived (window scale, SACK and timestamps are lost without state).
   */
  openFromCookie(seg: TcpSegmentView, iss: number, mss: number): void {
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
    this.wsOk = false;
    this.rcvWscale = 0;
    this.sndWscale = 0;
    this.updateSendMss();
    this.sndWnd = seg.window;
    this.maxSndWnd = this.sndWnd;
    this.sndWl1 = seg.seq;
    this.sndWl2 = seg.ack;
    this.rx = new RingBuffer(this.rxSize);
    this.rcvAdvRight = seqAdd(this.rcvNxt, Math.min(this.rxSize, 65535));
    this.lastAckSent = this.rcvNxt;
    this.lastRecvAt = this.now();
    this.becomeEstablished();
  }

  private takeSynOptions(seg: TcpSegmentView): void {
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

  private mssForMtu(): number {
    return Math.max(88, Math.min(65495, this.host.ip.mtu - 40));
  }

  /** Effective send MSS: peer's MSS, our path MTU, minus timestamp option bytes. */
  updateSendMss(pmtu?: number): void {
    const mtu = pmtu ?? this.host.ip.mtu;
    let m = Math.min(this.peerMss, mtu - 40);
    if (this.tsOk) m -= 12;
    this.sendMss = Math.max(64, m);
  }

  private becomeEstablished(): void {
    this.state = TcpState.Established;
    if (this.tx === null) this.tx = new RingBuffer(this.txSize);
    this.cc.cwnd = this.host.opts.initialCwndSegments * this.sendMss;
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

  // ================================================================ input

  /** Process one segment addressed to this connection. */
  input(seg: TcpSegmentView): void {
    const now = this.now();
    this.host.stats.segmentsIn++;
    switch (this.state) {
      case TcpState.Closed:
        return;
      case TcpState.SynSent:
        this.inputSynSent(seg, now);
        break;
      default:
        this.inputSynchronized(seg, now);
        break;
    }
    if ((this.state as TcpState) !== TcpState.Closed) {
      this.output();
      this.rearm();
    }
  }

  private inputSynSent(seg: TcpSegmentView, now: number): void {
    const f = seg.flags;
    if (f & TCP_ACK) {
      if (seqLe(seg.ack, this.iss) || seqGt(seg.ack, this.sndMax)) {
        if (!(f & TCP_RST)) this.host.sendResetFor(seg, this.localAddr, this.remoteAddr);
        return;
      }
    }
    if (f & TCP_RST) {
      // Only an RST that acknowledges our SYN is believed (RFC 9293 3.10.7.3, RFC 5961 3).
      if (f & TCP_ACK) {
        this.host.stats.resetsReceived++;
        this.fail("ECONNREFUSED");
      }
      return;
    }
    if (!(f & TCP_SYN)) return;
    this.irs = seg.seq;
    this.rcvNxt = seqAdd(seg.seq, 1);
    this.takeSynOptions(seg);
    this.rx = new RingBuffer(this.rxSize);
    this.lastRecvAt = now;
    if (f & TCP_ACK) {
      this.sndUna = seg.ack;
      this.sndWnd = seg.window << this.sndWscale;
      this.maxSndWnd = this.sndWnd;
      this.sndWl1 = seg.seq;
      this.sndWl2 = seg.ack;
      if (this.tsOk && seg.tsEcr !== 0 && this.retransmits === 0) this.rto.sample(this.tsNow() - seg.tsEcr);
      this.retransmits = 0;
      this.rtxAt = Infinity;
      this.rcvAdvRight = this.rcvNxt;
      this.becomeEstablished();
      // Data or FIN may ride on the SYN-ACK.
      if (seg.payloadLength > 0 || f & TCP_FIN) this.processData(seg, seqAdd(seg.seq, 1), now);
      this.ackNow = true;
    } else {
      // Simultaneous open (RFC 9293 figure 8).
      this.state = TcpState.SynReceived;
      this.sndWnd = seg.window;
      this.maxSndWnd = this.sndWnd;
      this.sndWl1 = seg.seq;
      this.sndWl2 = this.iss;
      this.sendSyn(true);
      this.rtxAt = now + this.rto.current();
    }
  }

  private inputSynchronized(seg: TcpSegmentView, now: number): void {
    let f = seg.flags;
    let seq = seg.seq;
    let dataLen = seg.payloadLength;

    // A retransmitted SYN (or simultaneous-open SYN-ACK) in SYN_RECEIVED.
    if (this.state === TcpState.SynReceived && f & TCP_SYN && seq === this.irs) {
      if (!(f & TCP_ACK) || f & TCP_RST) {
        if (!(f & TCP_RST)) this.sendSyn(true);
        return;
      }
      f &= ~TCP_SYN;
      seq = seqAdd(seq, 1);
    }

    // TIME_WAIT: a new SYN with a higher sequence number (or newer timestamp) reopens (RFC 6191).
    if (this.state === TcpState.TimeWait && f & TCP_SYN && !(f & (TCP_ACK | TCP_RST))) {
      return; // the layer handles reuse before delivering here; anything else is ignored
    }

    // PAWS (RFC 7323 5).
    if (this.tsOk && seg.hasTimestamp && !(f & TCP_RST) && seqLt(seg.tsVal, this.tsRecent)) {
      this.host.stats.pawsDropped++;
      this.sendAck();
      return;
    }

    const rx = this.rx;
    const wnd = rx === null ? 0 : rx.capacity - rx.length;
    const segLen = dataLen + (f & TCP_SYN ? 1 : 0) + (f & TCP_FIN ? 1 : 0);

    if (f & TCP_RST) {
      this.inputReset(seq, wnd);
      return;
    }

    if (!this.acceptable(seq, segLen, wnd)) {
      // TIME_WAIT: the peer's FIN again means our last ACK was lost: re-ACK and restart 2*MSL.
      if (this.state === TcpState.TimeWait && f & TCP_FIN) this.waitAt = now + this.host.opts.timeWaitMs;
      this.host.stats.outOfWindow++;
      this.sendAck();
      return;
    }

    if (f & TCP_SYN) {
      // RFC 5961 4: any SYN in a synchronized state gets a challenge ACK.
      this.challengeAck();
      return;
    }
    if (!(f & TCP_ACK)) return;

    this.lastRecvAt = now;
    this.keepProbes = 0;

    if (this.state === TcpState.SynReceived) {
      if (seqLe(seg.ack, this.sndUna) || seqGt(seg.ack, this.sndMax)) {
        this.host.sendResetFor(seg, this.localAddr, this.remoteAddr);
        return;
      }
      this.sndUna = seg.ack;
      this.sndWnd = seg.window << this.sndWscale;
      this.maxSndWnd = this.sndWnd;
      this.sndWl1 = seq;
      this.sndWl2 = seg.ack;
      if (this.tsOk && seg.tsEcr !== 0 && this.retransmits === 0) this.rto.sample(this.tsNow() - seg.tsEcr);
      this.retransmits = 0;
      this.rtxAt = Infinity;
      this.becomeEstablished();
      if ((this.state as TcpState) !== TcpState.Established) return; // accept queue full
    }

    if (!this.processAck(seg, seq, now)) return;

    // Timestamp to echo (RFC 7323 4.3): only from segments at or before our last ACK.
    if (this.tsOk && seg.hasTimestamp && seqLe(seq, this.lastAckSent) && seqGe(seg.tsVal, this.tsRecent)) {
      this.tsRecent = seg.tsVal;
    }

    if (dataLen > 0 || f & TCP_FIN) {
      switch (this.state) {
        case TcpState.Established:
        case TcpState.FinWait1:
        case TcpState.FinWait2:
          this.processData(seg, seq, now);
          break;
        case TcpState.TimeWait:
          // Retransmitted FIN: ACK it and restart 2MSL.
          if (f & TCP_FIN) {
            this.ackNow = true;
            this.waitAt = now + this.host.opts.timeWaitMs;
          }
          break;
        default:
          // CLOSE_WAIT, CLOSING, LAST_ACK: the peer already sent FIN; ignore and re-ACK.
          this.ackNow = true;
          break;
      }
    }
  }

  /** RFC 9293 3.10.7.4 acceptability test. */
  private acceptable(seq: number, segLen: number, wnd: number): boolean {
    const rn = this.rcvNxt;
    if (segLen === 0) {
      if (wnd === 0) return seq === rn;
      return seqLe(rn, seq) && seqLt(seq, seqAdd(rn, wnd));
    }
    if (wnd === 0) return false;
    const end = seqAdd(rn, wnd);
    const last = seqAdd(seq, segLen - 1);
    return (seqLe(rn, seq) && seqLt(seq, end)) || (seqLe(rn, last) && seqLt(last, end));
  }

  /** RFC 5961 3.2: exact match resets, in-window gets a challenge ACK, the rest is dropped. */
  private inputReset(seq: number, wnd: number): void {
    if (seq === this.rcvNxt) {
      this.host.stats.resetsReceived++;
      switch (this.state) {
        case TcpState.SynReceived:
          if (this.listener !== null) {
            // Passive open: the embryo just disappears (back to LISTEN).
            this.finish(null);
            return;
          }
          this.fail("ECONNREFUSED");
          return;
        case TcpState.TimeWait:
          return; // RFC 1337: ignore RST in TIME_WAIT
        case TcpState.Closing:
        case TcpState.LastAck:
          this.finish(null);
          return;
        default:
          this.fail("ECONNRESET");
          return;
      }
    }
    if (seqGt(seq, this.rcvNxt) && seqLt(seq, seqAdd(this.rcvNxt, Math.max(wnd, 1)))) {
      this.challengeAck();
    }
  }

  private challengeAck(): void {
    if (!this.host.challengeAckAllowed()) return;
    this.host.stats.challengeAcks++;
    this.sendAck();
  }

  /** Returns false when the segment must be dropped. */
  private processAck(seg: TcpSegmentView, seq: number, now: number): boolean {
    const ack = seg.ack;
    // RFC 5961 5.2: acceptable ACKs lie in [snd.una - max.snd.wnd, snd.max].
    if (seqGt(ack, this.sndMax)) {
      this.sendAck();
      return false;
    }
    if (seqLt(ack, seqAdd(this.sndUna, -Math.max(this.maxSndWnd, 1)))) {
      this.sendAck();
      return false;
    }

    const newWnd = seg.window << this.sndWscale;
    if (this.sackOk && seg.sackCount > 0) this.takeSack(seg, ack);

    if (seqGt(ack, this.sndUna)) {
      this.onNewAck(ack, seg, now);
    } else if (
      ack === this.sndUna &&
      seg.payloadLength === 0 &&
      !(seg.flags & (TCP_SYN | TCP_FIN)) &&
      newWnd === this.sndWnd &&
      this.sndMax !== this.sndUna
    ) {
      this.onDupAck(now);
    }

    // Window update (RFC 9293 3.10.7.4, SND.WL1/WL2 rule).
    if (seqLt(this.sndWl1, seq) || (this.sndWl1 === seq && seqLe(this.sndWl2, ack))) {
      const opened = newWnd > this.sndWnd;
      this.sndWnd = newWnd;
      this.sndWl1 = seq;
      this.sndWl2 = ack;
      if (newWnd > this.maxSndWnd) this.maxSndWnd = newWnd;
      if (opened && newWnd > 0 && this.persistAt !== Infinity) {
        this.persistAt = Infinity;
        this.persistBackoff = 0;
      }
    }

    // Our FIN acknowledged?
    if (this.finQueued && seqGt(ack, this.finSeq)) {
      switch (this.state) {
        case TcpState.FinWait1:
          this.state = TcpState.FinWait2;
          if (this.orphan) {
            this.waitAt = now + this.host.opts.finWait2Ms;
          }
          break;
        case TcpState.Closing:
          this.enterTimeWait(now);
          return false;
        case TcpState.LastAck:
          this.finish(null);
          return false;
        default:
          break;
      }
    }
    return true;
  }

  private takeSack(seg: TcpSegmentView, ack: number): void {
    let sb = this.scoreboard;
    if (sb === null) sb = this.scoreboard = new SeqRangeSet(SCOREBOARD_RANGES);
    for (let i = 0; i < seg.sackCount; i++) {
      const l = seg.sackLeft[i]!;
      const r = seg.sackRight[i]!;
      // Ignore D-SACKs and blocks outside what we sent.
      if (seqLe(r, ack) || seqLe(l, this.sndUna) || seqGt(r, this.sndMax) || !seqLt(l, r)) continue;
      sb.add(l, r);
    }
  }

  private onNewAck(ack: number, seg: TcpSegmentView, now: number): void {
    const acked = seqDiff(ack, this.sndUna);
    const tx = this.tx;
    let dataAcked = 0;
    if (tx !== null) {
      dataAcked = Math.min(Math.max(seqDiff(ack, this.sndBufSeq), 0), tx.length);
      if (dataAcked > 0) {
        tx.consume(dataAcked);
        this.sndBufSeq = seqAdd(this.sndBufSeq, dataAcked);
      }
    }
    this.sndUna = ack;
    if (seqLt(this.sndNxt, ack)) this.sndNxt = ack;
    if (seqLt(this.highRxt, ack)) this.highRxt = ack;

    // RTT: timestamps when present (RFC 7323 4.1), else Karn's timed segment.
    if (this.tsOk && seg.hasTimestamp && seg.tsEcr !== 0) {
      this.rto.sample(this.tsNow() - seg.tsEcr);
    } else if (this.rttTiming && seqGt(ack, this.rttSeq)) {
      this.rttTiming = false;
      this.rto.sample(now - this.rttTime);
    }
    this.retransmits = 0;
    if (this.scoreboard !== null) this.scoreboard.removeBelow(ack);

    if (this.inRecovery) {
      if (seqGe(ack, this.recoverySeq)) {
        this.inRecovery = false;
        this.cc.onExitRecovery(this.sendMss, now);
      } else if (!this.sackOk) {
        // NewReno partial ACK (RFC 6582 3.2): retransmit the next unacknowledged segment.
        this.retransmitAt(this.sndUna, now);
        this.dupAcks = 0;
      }
    } else {
      this.cc.onAck(acked, this.sendMss, now, this.rto.srtt);
    }
    if (!this.inRecovery) this.dupAcks = 0;

    this.rtxAt = this.sndUna === this.sndMax ? Infinity : now + this.rto.current();
    if (dataAcked > 0 && !this.orphan) this.raise(EV_WRITABLE);
  }

  private onDupAck(now: number): void {
    this.dupAcks++;
    if (this.inRecovery) return; // output() uses the inflated allowance / pipe
    const sb = this.scoreboard;
    const sackLoss = this.sackOk && sb !== null && sb.bytesAbove(this.sndUna) > (DUP_THRESH - 1) * this.sendMss;
    if ((this.dupAcks >= DUP_THRESH || sackLoss) && seqGt(this.sndUna, this.recoverySeq)) {
      this.host.stats.fastRetransmits++;
      this.inRecovery = true;
      this.recoverySeq = this.sndMax;
      this.cc.onEnterRecovery(seqDiff(this.sndMax, this.sndUna), this.sendMss, now);
      this.highRxt = this.sndUna;
      this.retransmitAt(this.sndUna, now);
      this.rtxAt = now + this.rto.current();
    }
  }

  /** Retransmit one segment starting at seq (fast retransmit / partial ACK / SACK hole). */
  private retransmitAt(seq: number, _now: number): number {
    const n = this.sendRange(seq, this.sendMss);
    if (n > 0) {
      this.host.stats.retransmits++;
      const end = seqAdd(seq, n);
      if (seqGt(end, this.highRxt)) this.highRxt = end;
      if (this.rttTiming && seqLe(seq, this.rttSeq)) this.rttTiming = false; // Karn
    }
    return n;
  }

  private processData(seg: TcpSegmentView, seq: number, now: number): void {
    const rx = this.rx!;
    let start = seg.payloadStart;
    let len = seg.payloadLength;
    let fin = (seg.flags & TCP_FIN) !== 0;
    // Trim what we already have.
    const skip = seqDiff(this.rcvNxt, seq);
    if (skip > 0) {
      if (skip >= len) {
        // all old (maybe except FIN)
        start += len;
        len = 0;
        if (fin && skip > seg.payloadLength) fin = false; // FIN also old
      } else {
        start += skip;
        len -= skip;
      }
      seq = this.rcvNxt;
      this.ackNow = true; // duplicate data: tell the sender quickly
    }
    // Trim to the ring's room (beyond that is outside any window we advertised).
    const room = rx.capacity - rx.length - seqDiff(seq, this.rcvNxt);
    if (len > room) {
      len = Math.max(room, 0);
      fin = false;
    }
    if (this.orphan && len > 0) {
      // Data for a closed socket: the application cannot read it (Linux resets).
      this.abort();
      return;
    }

    if (seq === this.rcvNxt) {
      if (len > 0) {
        if (!this.rdShut) {
          rx.writeAt(rx.length, seg.buf, start, start + len);
          rx.commit(len);
        }
        this.rcvNxt = seqAdd(this.rcvNxt, len);
        const ooo = this.ooo;
        if (ooo !== null && ooo.count > 0) {
          const end = ooo.popContiguous(this.rcvNxt);
          if (end !== -1 && seqGt(end, this.rcvNxt)) {
            const more = seqDiff(end, this.rcvNxt);
            if (!this.rdShut) rx.commit(more);
            this.rcvNxt = end;
          }
          ooo.removeBelow(this.rcvNxt);
          this.ackNow = true; // a hole was (partly) filled: ACK immediately (RFC 5681 4.2)
        }
        if (!this.rdShut) this.raise(EV_READABLE);
        // ACK at least every second segment (RFC 5681 4.2); otherwise delay.
        if (++this.segsSinceAck >= 2) this.ackNow = true;
        if (!this.ackNow && this.delackAt === Infinity) this.delackAt = now + this.host.opts.delayedAckMs;
      }
      if (fin) this.rcvFinSeq = seqAdd(seq, len);
      if (this.rcvFinSeq !== -1 && this.rcvFinSeq === this.rcvNxt) this.processFin(now);
    } else {
      // Out of order: store in the ring beyond the filled bytes, remember the range.
      if (len > 0) {
        let ooo = this.ooo;
        if (ooo === null) ooo = this.ooo = new SeqRangeSet(OOO_RANGES);
        const off = seqDiff(seq, this.rcvNxt);
        if (ooo.add(seq, seqAdd(seq, len))) {
          rx.writeAt(rx.length + off, seg.buf, start, start + len);
          this.lastOooSeq = seq;
        }
      }
      if (fin) this.rcvFinSeq = seqAdd(seq, len);
      this.ackNow = true;
    }
  }

  private processFin(now: number): void {
    this.rcvFinSeq = -1;
    this.rcvNxt = seqAdd(this.rcvNxt, 1);
    this.peerClosed = true;
    this.ackNow = true;
    if (!this.orphan) this.raise(EV_READABLE);
    switch (this.state) {
      case TcpState.SynReceived:
      case TcpState.Established:
        this.state = TcpState.CloseWait;
        break;
      case TcpState.FinWait1:
        // Our FIN not yet acknowledged (else we would be in FIN_WAIT_2): simultaneous close.
        this.state = TcpState.Closing;
        break;
      case TcpState.FinWait2:
        this.enterTimeWait(now);
        break;
      default:
        break;
    }
  }

  private enterTimeWait(now: number): void {
    this.state = TcpState.TimeWait;
    this.rtxAt = Infinity;
    this.persistAt = Infinity;
    this.keepAt = Infinity;
    this.delackAt = Infinity;
    this.waitAt = now + this.host.opts.timeWaitMs;
    // TIME_WAIT keeps only what is needed to answer retransmitted FINs.
    this.tx = null;
    this.scoreboard = null;
    this.ooo = null;
    if (this.orphan) this.rx = null;
    if (this.ackNow) this.sendAck();
  }

  // ================================================================ output

  private queueFin(): void {
    if (this.finQueued) return;
    switch (this.state) {
      case TcpState.SynSent:
        this.finish(null);
        return;
      case TcpState.SynReceived:
      case TcpState.Established:
        this.state = TcpState.FinWait1;
        break;
      case TcpState.CloseWait:
        this.state = TcpState.LastAck;
        break;
      default:
        return;
    }
    this.finQueued = true;
    this.finSeq = seqAdd(this.sndBufSeq, this.tx === null ? 0 : this.tx.length);
    this.output();
    this.rearm();
  }

  /** Send whatever the windows, Nagle and SWS avoidance allow; then a pure ACK if one is owed. */
  output(): void {
    const st = this.state;
    if (
      st !== TcpState.Established &&
      st !== TcpState.CloseWait &&
      st !== TcpState.FinWait1 &&
      st !== TcpState.Closing &&
      st !== TcpState.LastAck
    ) {
      if (this.ackNow && st >= TcpState.Established) this.sendAck();
      return;
    }
    const now = this.now();
    const mss = this.sendMss;
    const tx = this.tx;
    const dataEnd = tx === null ? this.sndBufSeq : seqAdd(this.sndBufSeq, tx.length);

    if (this.inRecovery && this.sackOk) this.sackRecoverySend(now, dataEnd);

    for (;;) {
      const unsent = Math.max(0, seqDiff(dataEnd, this.sndNxt));
      let allowance = this.cc.cwnd;
      if (this.inRecovery && !this.sackOk) allowance += this.dupAcks * mss; // RFC 6582 inflation
      if (this.inRecovery && this.sackOk) break; // handled by sackRecoverySend
      const wnd = Math.min(this.sndWnd, allowance);
      const usable = seqDiff(seqAdd(this.sndUna, wnd), this.sndNxt);
      let len = Math.min(unsent, mss, Math.max(usable, 0));
      const finPending = this.finQueued && seqLe(this.sndNxt, this.finSeq);
      const finNow = finPending && seqAdd(this.sndNxt, len) === this.finSeq;
      if (len === 0 && !finNow) break;
      const isNew = this.sndNxt === this.sndMax;
      // Nagle and SWS avoidance apply to new data only; a retransmission resends what was sent.
      if (len > 0 && len < mss && isNew) {
        if (len < unsent) {
          // window-limited partial segment: sender SWS avoidance (RFC 9293 3.8.6.2.1)
          if (len < this.maxSndWnd >>> 1) break;
        } else if (!this.nodelay && !finNow && seqGt(this.sndSmallEnd, this.sndUna)) {
          break; // Nagle (Minshall's variant): at most one unacknowledged small segment
        }
      }
      const seqStart = this.sndNxt;
      const n = this.sendRange(seqStart, len + (finNow ? 1 : 0));
      if (n === 0) break;
      if (!isNew) this.host.stats.retransmits++;
      this.sndNxt = seqAdd(seqStart, n);
      if (len < mss) this.sndSmallEnd = this.sndNxt;
      if (seqGt(this.sndNxt, this.sndMax)) this.sndMax = this.sndNxt;
      if (isNew && !this.rttTiming && !this.tsOk) {
        this.rttTiming = true;
        this.rttSeq = seqStart;
        this.rttTime = now;
      }
      if (this.rtxAt === Infinity) this.rtxAt = now + this.rto.current();
    }

    // Nothing in flight but data waiting and no window: probe (persist timer).
    if (
      this.sndUna === this.sndMax &&
      seqDiff(dataEnd, this.sndNxt) > 0 &&
      this.persistAt === Infinity &&
      this.rtxAt === Infinity
    ) {
      this.persistAt = now + this.persistInterval();
    }
    if (this.ackNow) this.sendAck();
    this.rearm();
  }

  /** RFC 6675 5: while pipe < cwnd, retransmit lost holes first, then new data. */
  private sackRecoverySend(now: number, dataEnd: number): void {
    const mss = this.sendMss;
    const sb = this.scoreboard;
    for (let guard = 0; guard < 1024; guard++) {
      const pipe = this.pipe();
      if (this.cc.cwnd - pipe < mss && pipe > 0) break;
      const from = seqMax(this.highRxt, this.sndUna);
      const highSack = sb === null ? this.sndUna : sb.highest(this.sndUna);
      if (sb !== null && seqLt(from, highSack)) {
        const hole = sb.nextHole(from, highSack);
        if (hole !== -1) {
          const len = Math.min(mss, seqDiff(sb.holeEnd, hole));
          this.highRxt = hole; // retransmitAt moves it to the hole's end
          if (this.retransmitAt(hole, now) === 0) break;
          void len;
          continue;
        }
      }
      // New data within the peer's window.
      const unsent = seqDiff(dataEnd, this.sndNxt);
      const usable = seqDiff(seqAdd(this.sndUna, this.sndWnd), this.sndNxt);
      const len = Math.min(unsent, mss, usable);
      const finNow = this.finQueued && seqLe(this.sndNxt, this.finSeq) && seqAdd(this.sndNxt, Math.max(len, 0)) === this.finSeq;
      if (len <= 0 && !finNow) break;
      const n = this.sendRange(this.sndNxt, Math.max(len, 0) + (finNow ? 1 : 0));
      if (n === 0) break;
      this.sndNxt = seqAdd(this.sndNxt, n);
      if (seqGt(this.sndNxt, this.sndMax)) this.sndMax = this.sndNxt;
    }
  }

  /** RFC 6675 pipe estimate: outstanding - SACKed - lost-but-not-retransmitted. */
  pipe(): number {
    const outstanding = seqDiff(this.sndMax, this.sndUna);
    const sb = this.scoreboard;
    if (sb === null || sb.count === 0) return outstanding;
    const sacked = sb.bytesAbove(this.sndUna);
    const highSack = sb.highest(this.sndUna);
    const from = seqMax(this.highRxt, this.sndUna);
    let lost = 0;
    if (seqLt(from, highSack)) lost = seqDiff(highSack, from) - sb.bytesAbove(from);
    return Math.max(0, outstanding - sacked - lost);
  }

  /**
   * Transmit the sequence range starting at seq of up to `maxSeqLen` sequence numbers (data,
   * plus our FIN if it falls inside). Returns the sequence numbers sent.
   */
  private sendRange(seq: number, maxSeqLen: number): number {
    const tx = this.tx;
    const off = seqDiff(seq, this.sndBufSeq);
    const avail = tx === null ? 0 : Math.max(0, tx.length - off);
    // SACK blocks we carry eat into the payload (sendMss already accounts for timestamps).
    let optRoom = this.sendMss;
    if (this.sackOk && this.ooo !== null && this.ooo.count > 0) {
      optRoom -= 4 + 8 * Math.min(this.ooo.count, this.tsOk ? 3 : TCP_MAX_SACK_BLOCKS);
    }
    const len = Math.min(avail, maxSeqLen, optRoom);
    let flags = TCP_ACK;
    let fin = false;
    if (this.finQueued && seqAdd(seq, len) === this.finSeq && maxSeqLen > len) {
      flags |= TCP_FIN;
      fin = true;
    }
    if (len === 0 && !fin) return 0;
    if (len > 0 && off + len === (tx === null ? 0 : tx.length)) flags |= TCP_PSH;
    this.transmit(seq, flags, off, len);
    return len + (fin ? 1 : 0);
  }

  private sendSyn(withAck: boolean): void {
    const h = this.host.hdr;
    h.reset();
    const o = this.host.opts;
    h.flags = withAck ? TCP_SYN | TCP_ACK : TCP_SYN;
    h.mss = this.advMss;
    // In a SYN-ACK only echo what the peer offered.
    if (withAck) {
      if (this.wsOk) h.wscale = this.rcvWscale;
      h.sackPermitted = this.sackOk;
      h.hasTimestamp = this.tsOk;
    } else {
      if (o.windowScaling) h.wscale = this.rcvWscale;
      h.sackPermitted = o.sack;
      h.hasTimestamp = o.timestamps;
    }
    if (h.hasTimestamp) {
      h.tsVal = this.tsNow();
      h.tsEcr = withAck ? this.tsRecent : 0;
    }
    this.emit(this.iss, withAck ? this.rcvNxt : 0, Math.min(this.rxSize, 65535), -1, 0);
    if (withAck) {
      this.rcvAdvRight = seqAdd(this.rcvNxt, Math.min(this.rxSize, 65535));
      this.lastAckSent = this.rcvNxt;
    }
  }

  /** Pure ACK (or window update / challenge ACK). */
  sendAck(): void {
    if (this.state === TcpState.Closed || this.state === TcpState.SynSent) return;
    if (this.state === TcpState.SynReceived) {
      this.sendSyn(true);
      this.ackNow = false;
      return;
    }
    // snd.max, not snd.nxt: after an RTO pulled snd.nxt back, an older sequence number would be
    // outside the peer's window and the ACK dropped (BSD does the same).
    this.transmit(this.sndMax, TCP_ACK, 0, 0);
  }

  /** Control segment without data (RST, keepalive or window probe). */
  private sendControl(seq: number, flags: number): void {
    this.transmit(seq, flags, 0, 0);
  }

  /** Fill the common header fields and emit a segment carrying tx[off, off+len). */
  private transmit(seq: number, flags: number, off: number, len: number): void {
    const h = this.host.hdr;
    h.reset();
    h.flags = flags;
    if (this.tsOk) {
      h.hasTimestamp = true;
      h.tsVal = this.tsNow();
      h.tsEcr = this.tsRecent;
    }
    if (this.sackOk && this.ooo !== null && this.ooo.count > 0 && !(flags & TCP_RST)) this.fillSackBlocks();
    const win = this.windowToAdvertise();
    this.emit(seq, this.rcvNxt, win, off, len);
    if (flags & TCP_ACK) {
      this.lastAckSent = this.rcvNxt;
      this.ackNow = false;
      this.segsSinceAck = 0;
      this.delackAt = Infinity;
    }
  }

  /** RFC 2018 4: first block holds the most recent arrival, the rest follow in order. */
  private fillSackBlocks(): void {
    const h = this.host.hdr;
    const ooo = this.ooo!;
    const max = Math.min(this.tsOk ? 3 : TCP_MAX_SACK_BLOCKS, TCP_MAX_SACK_BLOCKS);
    const first = ooo.indexOf(this.lastOooSeq);
    let n = 0;
    if (first >= 0) {
      h.sackLeft[n] = ooo.starts[first]!;
      h.sackRight[n] = ooo.ends[first]!;
      n++;
    }
    for (let i = 0; i < ooo.count && n < max; i++) {
      if (i === first) continue;
      h.sackLeft[n] = ooo.starts[i]!;
      h.sackRight[n] = ooo.ends[i]!;
      n++;
    }
    h.sackCount = n;
  }

  /** Window field value (already shifted), with receiver SWS avoidance; never shrinks the edge. */
  private windowToAdvertise(): number {
    const rx = this.rx;
    if (rx === null) return 0;
    const free = rx.capacity - rx.length;
    const curRight = seqAdd(this.rcvNxt, free);
    let right = this.rcvAdvRight;
    if (seqLt(right, this.rcvNxt)) right = this.rcvNxt;
    if (seqDiff(curRight, right) >= this.updateThreshold()) right = curRight;
    if (seqGt(right, curRight)) right = curRight; // cannot offer more than the ring holds
    let wnd = seqDiff(right, this.rcvNxt);
    let field = wnd >>> this.rcvWscale;
    if (field > 65535) field = 65535;
    wnd = field << this.rcvWscale;
    const adv = seqAdd(this.rcvNxt, wnd);
    if (seqGt(adv, this.rcvAdvRight)) this.rcvAdvRight = adv;
    return field;
  }

  private windowEdgeGain(): number {
    const rx = this.rx;
    if (rx === null) return 0;
    return seqDiff(seqAdd(this.rcvNxt, rx.capacity - rx.length), seqMax(this.rcvAdvRight, this.rcvNxt));
  }

  private updateThreshold(): number {
    return Math.min((this.rxSize >>> 1) || 1, this.advMss);
  }

  private emit(seq: number, ack: number, window: number, off: number, len: number): void {
    const host = this.host;
    const h = host.hdr;
    h.srcPort = this.localPort;
    h.dstPort = this.remotePort;
    h.seq = seq;
    h.ack = h.flags & TCP_ACK ? ack : 0;
    h.window = window;
    const buf = host.txBuf;
    const start = TRANSPORT_HEADROOM;
    const hl = tcpHeaderLength(h);
    if (len > 0) this.tx!.copyOut(off, buf, start + hl, len);
    const end = start + hl + len;
    emitTcpSegment(h, buf, start, end, this.localAddr, this.remoteAddr);
    host.stats.segmentsOut++;
    if (!host.ip.sendIpv4(IPPROTO_TCP, this.localAddr, this.remoteAddr, buf, start, end)) {
      this.softError = "EHOSTUNREACH";
    }
  }

  // ================================================================ timers

  /** Run the timers that are due. */
  onTimer(now: number): void {
    if (this.delackAt <= now) {
      this.delackAt = Infinity;
      if (this.state >= TcpState.Established) this.sendAck();
    }
    if (this.rtxAt <= now) {
      this.rtxAt = Infinity;
      this.onRetransmitTimeout(now);
      if (this.state === TcpState.Closed) return;
    }
    if (this.persistAt <= now) {
      this.persistAt = Infinity;
      this.onPersist(now);
    }
    if (this.keepAt <= now) {
      this.keepAt = Infinity;
      this.onKeepalive(now);
      if (this.state === TcpState.Closed) return;
    }
    if (this.waitAt <= now) {
      this.waitAt = Infinity;
      if (this.state === TcpState.TimeWait || this.state === TcpState.FinWait2) {
        this.finish(null);
        return;
      }
      if (this.orphan) {
        this.abort(); // linger expired
        return;
      }
    }
    this.rearm();
  }

  private onRetransmitTimeout(now: number): void {
    const st = this.state;
    const o = this.host.opts;
    this.host.stats.rtoTimeouts++;
    this.retransmits++;
    if (st === TcpState.SynSent || st === TcpState.SynReceived) {
      if (this.retransmits > o.synRetries) {
        if (this.listener !== null) this.finish(null);
        else this.fail(this.softError ?? "ETIMEDOUT");
        return;
      }
      this.rto.onTimeout();
      this.rttTiming = false;
      this.sendSyn(st === TcpState.SynReceived);
      this.rtxAt = now + this.rto.current();
      return;
    }
    if (this.sndUna === this.sndMax) return;
    if (this.retransmits > o.dataRetries) {
      this.sendControl(this.sndMax, TCP_RST | TCP_ACK);
      this.fail(this.softError ?? "ETIMEDOUT");
      return;
    }
    this.cc.onRto(seqDiff(this.sndMax, this.sndUna), this.sendMss, now);
    this.rto.onTimeout();
    this.rttTiming = false;
    this.inRecovery = false;
    this.dupAcks = 0;
    this.recoverySeq = this.sndMax; // RFC 6582: no fast retransmit for data sent before the timeout
    // RFC 2018 8: the receiver may have reneged; start over from snd.una.
    if (this.scoreboard !== null) this.scoreboard.clear();
    this.highRxt = this.sndUna;
    this.sndNxt = this.sndUna;
    this.rtxAt = now + this.rto.current();
    this.output();
  }

  private persistInterval(): number {
    const base = Math.max(this.rto.current(), PERSIST_MIN);
    return Math.min(PERSIST_MAX, base * 2 ** this.persistBackoff);
  }

  private onPersist(now: number): void {
    const tx = this.tx;
    if (tx === null || this.state < TcpState.Established) return;
    const unsent = seqDiff(seqAdd(this.sndBufSeq, tx.length), this.sndNxt);
    if (unsent <= 0 || this.sndUna !== this.sndMax) return;
    if (this.sndWnd > 0) {
      // Some window but less than SWS avoidance wanted: send what fits (RFC 9293 override timer).
      const n = this.sendRange(this.sndNxt, Math.min(this.sndWnd, unsent));
      this.sndNxt = seqAdd(this.sndNxt, n);
      if (seqGt(this.sndNxt, this.sndMax)) this.sndMax = this.sndNxt;
      if (this.rtxAt === Infinity) this.rtxAt = now + this.rto.current();
      return;
    }
    // Zero window probe: an old sequence number makes the peer answer with its window.
    this.sendControl(seqAdd(this.sndUna, -1), TCP_ACK);
    if (this.persistBackoff < 16) this.persistBackoff++;
    this.persistAt = now + this.persistInterval();
  }

  private onKeepalive(now: number): void {
    if (!this.keepalive || this.state < TcpState.Established || this.state === TcpState.TimeWait) return;
    const idle = now - this.lastRecvAt;
    if (this.keepProbes === 0 && idle < this.keepIdle) {
      this.keepAt = this.lastRecvAt + this.keepIdle;
      return;
    }
    if (this.keepProbes >= this.keepCnt) {
      this.sendControl(this.sndMax, TCP_RST | TCP_ACK);
      this.fail("ETIMEDOUT");
      return;
    }
    // Probe: an already-acknowledged sequence number (snd.una - 1) must be answered with an ACK.
    this.sendControl(seqAdd(this.sndUna, -1), TCP_ACK);
    this.keepProbes++;
    this.keepAt = now + this.keepIntvl;
  }

  /** Recompute the nearest deadline and tell the layer. */
  rearm(): void {
    let d = this.rtxAt;
    if (this.delackAt < d) d = this.delackAt;
    if (this.persistAt < d) d = this.persistAt;
    if (this.keepAt < d) d = this.keepAt;
    if (this.waitAt < d) d = this.waitAt;
    if (this.state === TcpState.Closed) d = Infinity;
    if (d !== this.deadline) {
      this.deadline = d;
      this.host.timerChanged(this);
    }
  }

  // ================================================================ ICMP

  /** An ICMP error quoted one of our segments (RFC 1122 4.2.3.9, RFC 5927 checks done by the layer). */
  onIcmp(type: number, code: number, nextHopMtu: number): void {
    if (type === 3 && code === 4) {
      // Fragmentation needed: lower the MSS (PMTU discovery, RFC 1191).
      if (nextHopMtu >= 68 && nextHopMtu < this.host.ip.mtu) {
        const before = this.sendMss;
        this.updateSendMss(nextHopMtu);
        if (this.sendMss < before && this.sndUna !== this.sndMax) {
          this.sndNxt = this.sndUna; // resend with the smaller size
          this.output();
          this.rearm();
        }
      }
      return;
    }
    if (type !== 3) return;
    const err = icmpUnreachToErrno(code);
    if (this.state === TcpState.SynSent || (this.state === TcpState.SynReceived && this.listener === null)) {
      // During connect an unreachable is fatal (RFC 1122 leaves it open; Linux aborts the connect).
      this.fail(err);
      return;
    }
    // Later it is soft: remembered and reported only if the connection then times out.
    this.softError = err;
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
    this.rtxAt = this.delackAt = this.persistAt = this.keepAt = this.waitAt = Infinity;
    this.rearm();
    if (this.deadline !== Infinity) {
      this.deadline = Infinity;
      this.host.timerChanged(this);
    }
    if (this.listener !== null) {
      this.listener.removeEmbryo(this);
      this.listener = null;
    }
    this.tx = null;
    this.scoreboard = null;
    this.ooo = null;
    this.host.release(this);
    this.raise(EV_CLOSE);
  }

  raise(bits: number): void {
    this.events |= bits;
    this.host.queueEvents(this);
  }

  private now(): number {
    return this.host.clock.now();
  }

  /** Timestamp clock: 1 ms ticks plus a per-connection random offset (RFC 7323 5.4). */
  tsNow(): number {
    return (Math.floor(this.host.clock.now()) + this.tsOffset) >>> 0;
  }
}
