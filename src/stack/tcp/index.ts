/**
 * The TCP layer: demultiplexes segments to connections and listeners, answers strays with RST,
 * owns the shared transmit buffer, the timer heap and event delivery.
 *
 *   const tcp = new TcpLayer({ ip, clock, rng });
 *   iface.registerProtocol(IPPROTO_TCP, tcp);  // tcp implements Ipv4ProtocolHandler
 *   const l = tcp.listen(80, { handler: { onAcceptable: (l) => { for (let s; (s = l.accept()); ) serve(s); } } });
 *   const s = tcp.connect(remoteAddr, 80, { handler: { onConnect, onReadable, onWritable, onError, onClose } });
 *
 * Timers: call poll() when clock.now() >= nextDeadline(). A real-time driver can set
 * `onTimerEarlier` (called whenever a timer became due earlier than last reported, e.g. after a
 * socket call) and keep a single host timer; driveTcpTimers() does exactly that. See README.md.
 */
import { consola } from "consola";
import { deferToTurnEnd } from "../../../ffi/hot-loop.ts";
import type { Clock } from "../../util/clock.ts";
import type { Rng } from "../../util/random.ts";
import { IPPROTO_TCP, TRANSPORT_HEADROOM, type Ipv4Output, type Ipv4ProtocolHandler } from "../link.ts";
import {
  emitTcpSegment,
  read32,
  TCP_ACK,
  TCP_FIN,
  TCP_MAX_HEADER_LEN,
  TCP_RST,
  TCP_SYN,
  TcpHeaderFields,
  TcpParseError,
  TcpSegmentView,
} from "../wire/tcp.ts";
import { Connection, windowShiftFor, type CookieOptions } from "./connection.ts";
import { EV_CLOSE, EV_CONNECT, EV_ERROR, EV_READABLE, EV_WRITABLE } from "./events.ts";
import { TcpError } from "./errors.ts";
import { newTcpStats, type TcpHost, type TcpStats } from "./host.ts";
import { Listener, type ListenerHost } from "./listener.ts";
import { DEFAULT_TCP_OPTIONS, type TcpLayerOptions } from "./options.ts";
import { seqAdd, seqGt, seqLt } from "./seq.ts";
import type { ConnectOptions, ListenOptions, TcpListener, TcpSocket } from "./socket.ts";
import { TcpState } from "./state.ts";
import { isnHash, SynCookies } from "./syn-cookie.ts";
import { TimerHeap } from "../../util/timer-heap.ts";

export type { TcpErrno } from "./errors.ts";
export { TcpError } from "./errors.ts";
export type {
  ConnectOptions,
  ListenOptions,
  ShutdownHow,
  TcpInfo,
  TcpListener,
  TcpListenerHandler,
  TcpSocket,
  TcpSocketHandler,
} from "./socket.ts";
export type { TcpLayerOptions } from "./options.ts";
export { DEFAULT_TCP_OPTIONS } from "./options.ts";
export type { TcpStats } from "./host.ts";
export { RingBuffer } from "./ring-buffer.ts";
export { driveTcpTimers } from "./timer-driver.ts";
export type { TcpStateName } from "./state.ts";

export interface TcpLayerConfig extends Partial<TcpLayerOptions> {
  ip: Ipv4Output;
  clock: Clock;
  rng: Rng;
  /** Override initial sequence numbers (tests: e.g. start near 2^32 to exercise wrap-around). */
  issFn?: (localAddr: number, localPort: number, remoteAddr: number, remotePort: number) => number;
  /** Run `fn` after the current input batch (stretch ACKs); default: at the end of this turn (ffi/hot-loop.ts). */
  afterBatch?: (fn: () => void) => void;
}

const DEFAULT_BACKLOG = 128;
/** SYN cookies are valid for up to two 64 s slots (syn-cookie.ts). */
const SYN_COOKIE_VALIDITY_MS = 64_000;

/** How long a TIME_WAIT must have lasted before a new outgoing connection may take its 4-tuple. */
const TIME_WAIT_REUSE_MS = 1000;

/** The conns map key: remote port above 32 bits of remote address mixed with the local port. */
function connKey(localPort: number, remoteAddr: number, remotePort: number): number {
  return remotePort * 0x1_0000_0000 + ((remoteAddr ^ Math.imul(localPort, 0x9e3779b1)) >>> 0);
}

export class TcpLayer implements Ipv4ProtocolHandler, TcpHost, ListenerHost {
  readonly ip: Ipv4Output;
  readonly clock: Clock;
  readonly rng: Rng;
  readonly opts: TcpLayerOptions;
  readonly stats: TcpStats = newTcpStats();
  readonly txBuf: Uint8Array;
  readonly hdr = new TcpHeaderFields();

  private readonly seg = new TcpSegmentView();
  private readonly issFn: TcpLayerConfig["issFn"];
  private readonly isnKey: number;
  private readonly cookies: SynCookies;
  /**
   * Key of the timestamp offsets. Like Linux, TSvals run on one clock per address pair (a keyed
   * hash of the two addresses, not of the ports): a new connection over a 4-tuple the peer still
   * holds in TIME_WAIT then carries a newer timestamp, which is what lets the peer accept its SYN
   * at once (RFC 6191). A fresh random offset per connection made half of those SYNs look old,
   * so they were answered with an ACK and retried until TIME_WAIT ended (63 s).
   */
  private readonly tsKey: number;
  /**
   * connKey(4-tuple) -> chain of connections. The key folds the local port into the remote address
   * (48 bits, exact for one remote address), so thousands of connections to one server (a client
   * that connects at a high rate leaves them in TIME_WAIT) are not one long chain to walk for
   * every segment; keyed by the remote end alone, 28,000 TIME_WAITs to one server made each
   * lookup, and a connect with the ephemeral ports used up, take seconds.
   */
  private readonly conns = new Map<number, Connection>();
  private readonly listeners = new Map<number, Listener>();
  /** Local port -> number of connections/listeners using it. */
  private readonly portUse = new Map<number, number>();
  private readonly timers = new TimerHeap<Connection>();
  private connCount = 0;
  private bufferBytes = 0;
  private nextEphemeral: number;

  private readonly eventQueue: (Connection | Listener)[] = [];
  /** Connections whose ACK waits for the end of the input batch (opts.ackCoalescing). */
  private readonly deferredAcks: Connection[] = [];
  private ackFlushArmed = false;
  private readonly afterBatch: (fn: () => void) => void;
  private readonly flushAcksBound = () => this.flushDeferredAcks();
  private flushing = false;
  private microtaskArmed = false;
  private readonly flushBound = () => {
    this.microtaskArmed = false;
    this.flushEvents();
  };

  /**
   * Optional hook for a real-time driver: called when a timer became due earlier than the last
   * deadline reported (and after each poll with the next deadline), so one host timer suffices.
   * See timer-driver.ts.
   */
  onTimerEarlier: ((deadline: number) => void) | null = null;
  private reportedDeadline = Infinity;

  private cachedNow = -1;
  private challengeWindowStart = 0;
  private challengeCount = 0;

  constructor(cfg: TcpLayerConfig) {
    this.ip = cfg.ip;
    this.clock = cfg.clock;
    this.rng = cfg.rng;
    const o: TcpLayerOptions = { ...DEFAULT_TCP_OPTIONS };
    for (const k of Object.keys(DEFAULT_TCP_OPTIONS) as (keyof TcpLayerOptions)[]) {
      const v = cfg[k];
      if (v !== undefined) (o as unknown as Record<string, unknown>)[k] = v;
    }
    this.opts = o;
    this.issFn = cfg.issFn;
    this.afterBatch = cfg.afterBatch ?? deferToTurnEnd;
    this.isnKey = cfg.rng.u32();
    this.cookies = new SynCookies(cfg.rng);
    this.tsKey = cfg.rng.u32();
    this.nextEphemeral = o.ephemeralLow + (cfg.rng.u32() % (o.ephemeralHigh - o.ephemeralLow + 1));
    this.txBuf = new Uint8Array(TRANSPORT_HEADROOM + TCP_MAX_HEADER_LEN + 65536);
  }

  // ================================================================ public API

  /** Non-blocking connect: returns a socket in SYN_SENT; the outcome arrives via onConnect/onError. */
  connect(remoteAddr: number, remotePort: number, opts: ConnectOptions = {}): TcpSocket {
    if (remotePort <= 0 || remotePort > 65535) throw new TcpError("EINVAL", "bad port");
    const localAddr = opts.localAddr ?? this.ip.sourceFor(remoteAddr);
    if (localAddr === 0) throw new TcpError("ENETUNREACH", "no route");
    if (this.connCount >= this.opts.maxConnections) throw new TcpError("EMFILE", "connection limit");
    const rxSize = opts.recvBufferSize ?? this.opts.recvBufferSize;
    const txSize = opts.sendBufferSize ?? this.opts.sendBufferSize;
    if (this.bufferBytes >= this.opts.maxBufferBytes) throw new TcpError("ENOBUFS");
    let localPort = opts.localPort ?? 0;
    if (localPort === 0) localPort = this.allocEphemeral(localAddr, remoteAddr, remotePort);
    // The 4-tuple is free, or held by a TIME_WAIT of ours old enough to give it up (the port
    // allocator only picks such a one); an explicit port may meet any other, which is in use.
    const held = this.find(localAddr, localPort, remoteAddr, remotePort);
    if (held !== null && !this.reclaimable(held)) throw new TcpError("EADDRINUSE");
    const iss = held !== null ? this.reclaim(held) : -1;
    const explicit = opts.recvBufferSize !== undefined || opts.sendBufferSize !== undefined;
    const c = new Connection(this, localAddr, localPort, remoteAddr, remotePort, rxSize, txSize, this.opts.autotune && !explicit);
    c.handler = opts.handler ?? null;
    if (opts.nodelay) c.nodelay = true;
    if (opts.congestion !== undefined) c.congestion = opts.congestion;
    c.tsOffset = this.tsOffsetFor(localAddr, remoteAddr);
    this.insert(c);
    c.openActive(iss >= 0 ? iss : this.iss(localAddr, localPort, remoteAddr, remotePort));
    this.scheduleFlush();
    return c;
  }

  listen(port: number, opts: ListenOptions = {}): TcpListener {
    if (port <= 0 || port > 65535) throw new TcpError("EINVAL", "bad port");
    if (this.listeners.has(port)) throw new TcpError("EADDRINUSE");
    const l = new Listener(this, opts.localAddr ?? 0, port, opts, {
      backlog: DEFAULT_BACKLOG,
      recvBufferSize: this.opts.recvBufferSize,
      sendBufferSize: this.opts.sendBufferSize,
    });
    this.listeners.set(port, l);
    this.usePort(port, 1);
    return l;
  }

  /**
   * Tear everything down (service shutdown): every connection is reset (RST to the peer, onError
   * is not raised, onClose is), every listener closed. The layer stays usable afterwards.
   */
  destroy(): void {
    for (const l of [...this.listeners.values()]) l.close();
    const all: Connection[] = [];
    for (const head of this.conns.values()) for (let c: Connection | null = head; c !== null; c = c.nextInBucket) all.push(c);
    for (const c of all) c.abort();
    this.flushEvents();
  }

  /**
   * An address was taken away from the interface: every connection bound to it is reset (RST to
   * the peer), as Linux does when an address
   * its sockets use disappears: onError ECONNABORTED, then onClose. Listeners bound to exactly that
   * address are closed. Returns the number of connections aborted.
   */
  abortLocalAddress(addr: number): number {
    addr >>>= 0;
    for (const l of [...this.listeners.values()]) if (l.localAddr === addr) l.close();
    const hit: Connection[] = [];
    for (const head of this.conns.values()) for (let c: Connection | null = head; c !== null; c = c.nextInBucket) if (c.localAddr === addr) hit.push(c);
    for (const c of hit) c.abortWith("ECONNABORTED");
    this.flushEvents();
    return hit.length;
  }

  /** Run every timer due at clock.now(). */
  poll(): void {
    const now = this.clock.now();
    this.cachedNow = now;
    for (let guard = 0; guard < 1_000_000; guard++) {
      const top = this.timers.peek();
      if (top === undefined || top.deadline > now) break;
      const before = top.deadline;
      top.onTimer(now);
      if (top.heapIndex === 0 && top.deadline === before) {
        // A timer that did not move would spin: push it forward (defensive; indicates a bug).
        top.deadline = now + 1;
        this.timers.update(top);
      }
    }
    this.cachedNow = -1;
    this.reportedDeadline = this.nextDeadline();
    if (this.reportedDeadline !== Infinity) this.onTimerEarlier?.(this.reportedDeadline);
    this.flushEvents();
  }

  /** Absolute time (clock ms) of the next timer, Infinity if none. */
  nextDeadline(): number {
    const top = this.timers.peek();
    return top === undefined ? Infinity : top.deadline;
  }

  get connectionCount(): number {
    return this.connCount;
  }

  // ================================================================ Ipv4ProtocolHandler

  onIpv4(src: number, dst: number, buf: Uint8Array, start: number, end: number): void {
    const seg = this.seg;
    const err = seg.parse(buf, start, end, src, dst, true);
    if (err !== TcpParseError.Ok) {
      if (err === TcpParseError.BadChecksum) this.stats.badChecksum++;
      else this.stats.malformed++;
      return;
    }
    this.flushing = true;
    this.cachedNow = this.clock.now();
    try {
      this.dispatch(seg, src, dst);
    } finally {
      this.flushing = false;
      this.cachedNow = -1;
    }
    this.flushEvents();
  }

  /** The time for the segment or timer being processed (one clock read per event). */
  now(): number {
    return this.cachedNow >= 0 ? this.cachedNow : this.clock.now();
  }

  onIcmpError(type: number, code: number, nextHopMtu: number, quoted: Uint8Array, start: number, end: number): void {
    // Quoted: original IPv4 header (we sent it: src = us, dst = peer) + >= 8 bytes of TCP.
    if (end - start < 20) return;
    const ihl = (quoted[start]! & 15) * 4;
    if (ihl < 20 || end - start < ihl + 8 || quoted[start + 9] !== IPPROTO_TCP) return;
    const ourAddr = read32(quoted, start + 12);
    const peerAddr = read32(quoted, start + 16);
    const t = start + ihl;
    const sport = (quoted[t]! << 8) | quoted[t + 1]!;
    const dport = (quoted[t + 2]! << 8) | quoted[t + 3]!;
    const seq = read32(quoted, t + 4);
    const c = this.find(ourAddr, sport, peerAddr, dport);
    if (c === null) return;
    // RFC 5927 4.1: only believe errors quoting a sequence number we have in flight.
    if (seqLt(seq, c.sndUna) || seqGt(seq, c.sndMax)) return;
    this.flushing = true;
    try {
      c.onIcmp(type, code, nextHopMtu);
    } finally {
      this.flushing = false;
    }
    this.flushEvents();
  }

  // ================================================================ demux

  private dispatch(seg: TcpSegmentView, src: number, dst: number): void {
    let c = this.find(dst, seg.dstPort, src, seg.srcPort);
    if (c !== null && c.state === TcpState.TimeWait && seg.flags & TCP_SYN && !(seg.flags & (TCP_ACK | TCP_RST))) {
      // RFC 6191 / RFC 9293 3.10.7.4: a SYN with newer timestamp or higher sequence may reuse the pair.
      const newer = c.tsOk && seg.hasTimestamp ? seqGt(seg.tsVal, c.tsRecent) : seqGt(seg.seq, c.rcvNxt);
      if (newer && this.listeners.has(seg.dstPort)) {
        const oldSndNxt = c.sndNxt;
        c.finish(null);
        this.listenerInput(this.listeners.get(seg.dstPort)!, seg, src, dst, seqAdd(oldSndNxt, 250_000));
        return;
      }
      c.sendAck();
      return;
    }
    if (c !== null) {
      c.input(seg);
      return;
    }
    const l = this.listeners.get(seg.dstPort);
    if (l !== undefined && (l.localAddr === 0 || l.localAddr === dst)) {
      this.listenerInput(l, seg, src, dst, -1);
      return;
    }
    this.sendResetFor(seg, dst, src);
  }

  private listenerInput(l: Listener, seg: TcpSegmentView, src: number, dst: number, forcedIss: number): void {
    const f = seg.flags;
    if (f & TCP_RST) return;
    if (f & TCP_ACK && !(f & TCP_SYN)) {
      // Maybe the end of a SYN-cookie handshake.
      if (this.opts.synCookies && !(f & TCP_SYN)) {
        const now = this.clock.now();
        const cookie = seqAdd(seg.ack, -1);
        const peerIsn = seqAdd(seg.seq, -1);
        if (this.cookies.check(now, dst, seg.dstPort, src, seg.srcPort, peerIsn, cookie)) {
          if (l.acceptQueueFull || !this.admit(l.recvBufferSize + l.sendBufferSize)) {
            this.stats.listenOverflows++;
            return;
          }
          this.stats.synCookiesAccepted++;
          const c = this.newPassive(l, dst, seg.dstPort, src, seg.srcPort);
          let extra: CookieOptions | null = null;
          if (this.opts.timestamps && seg.hasTimestamp && seg.tsEcr !== 0) {
            const ws = seg.tsEcr & 15;
            extra = { peerWscale: ws === 15 || ws > 14 ? -1 : ws, sack: ((seg.tsEcr >>> 4) & 1) === 1 };
          }
          c.openFromCookie(seg, cookie, this.cookies.mss, extra);
          if (seg.payloadLength > 0 || f & TCP_FIN) c.input(seg);
          c.rearm();
          return;
        }
        // While cookies are in use, a later segment of a cookie handshake may overtake the ACK
        // that would validate (its sequence number no longer matches the cookie): drop it
        // quietly, the peer retransmits, instead of resetting a connection the peer believes open.
        if (now - l.lastCookieAt < 2 * SYN_COOKIE_VALIDITY_MS && l.lastCookieAt > 0) return;
      }
      this.sendResetFor(seg, dst, src);
      return;
    }
    if (!(f & TCP_SYN) || f & TCP_ACK) {
      if (f & TCP_ACK) this.sendResetFor(seg, dst, src);
      return;
    }
    // A SYN.
    if (l.acceptQueueFull) {
      this.stats.listenOverflows++;
      return;
    }
    if (l.embryos.size >= Math.min(this.opts.synQueueSize, Math.max(l.backlog, 8))) {
      if (!this.opts.synCookies) {
        this.stats.listenOverflows++;
        return;
      }
      l.lastCookieAt = this.clock.now();
      this.sendCookieSynAck(l, seg, src, dst);
      return;
    }
    if (!this.admit(l.recvBufferSize + l.sendBufferSize)) {
      this.stats.connectionsRefusedLimit++;
      return;
    }
    const c = this.newPassive(l, dst, seg.dstPort, src, seg.srcPort);
    l.embryos.add(c);
    const iss = forcedIss >= 0 ? forcedIss : this.iss(dst, seg.dstPort, src, seg.srcPort);
    c.openPassive(seg, iss);
  }

  private newPassive(l: Listener, laddr: number, lport: number, raddr: number, rport: number): Connection {
    const c = new Connection(this, laddr, lport, raddr, rport, l.recvBufferSize, l.sendBufferSize, this.opts.autotune && !l.explicitSizes);
    c.listener = l;
    c.tsOffset = this.tsOffsetFor(laddr, raddr);
    this.insert(c);
    return c;
  }

  private admit(bufBytes: number): boolean {
    // Rings are charged when allocated (on first data); admit while the budget is not exhausted.
    void bufBytes;
    return this.connCount < this.opts.maxConnections && this.bufferBytes < this.opts.maxBufferBytes;
  }

  private sendCookieSynAck(l: Listener, seg: TcpSegmentView, src: number, dst: number): void {
    const now = this.clock.now();
    const mss = seg.mss > 0 ? seg.mss : 536;
    const iss = this.cookies.make(now, dst, seg.dstPort, src, seg.srcPort, seg.seq, mss);
    const h = this.hdr;
    h.reset();
    h.srcPort = seg.dstPort;
    h.dstPort = seg.srcPort;
    h.seq = iss;
    h.ack = seqAdd(seg.seq, 1);
    h.flags = TCP_SYN | TCP_ACK;
    h.mss = Math.max(88, Math.min(65495, this.ip.mtu - 40));
    h.window = Math.min(l.recvBufferSize, 65535);
    if (this.opts.timestamps && seg.hasTimestamp) {
      // Like Linux: the low 6 bits of our TSval carry the peer's window shift (15 = none) and
      // SACK-permitted; the final ACK echoes them back, so the cookie connection keeps them.
      const ws = this.opts.windowScaling && seg.wscale >= 0 ? seg.wscale : 15;
      const sack = this.opts.sack && seg.sackPermitted ? 1 : 0;
      h.hasTimestamp = true;
      h.tsVal = ((Math.floor(now) + this.tsOffsetFor(dst, src)) & ~0x3f) | ws | (sack << 4);
      h.tsVal >>>= 0;
      h.tsEcr = seg.tsVal;
      if (ws !== 15) h.wscale = windowShiftFor(this.listenerRxMax(l));
      h.sackPermitted = sack === 1;
    }
    this.stats.synCookiesSent++;
    this.emitBare(dst, src);
  }

  /** The largest receive ring a connection of this listener may grow to (sets the window shift). */
  private listenerRxMax(l: Listener): number {
    return this.opts.autotune && !l.explicitSizes ? Math.max(l.recvBufferSize, this.opts.recvBufferMax) : l.recvBufferSize;
  }

  find(localAddr: number, localPort: number, remoteAddr: number, remotePort: number): Connection | null {
    let c = this.conns.get(connKey(localPort, remoteAddr, remotePort)) ?? null;
    while (c !== null) {
      if (c.localPort === localPort && c.localAddr === localAddr) return c;
      c = c.nextInBucket;
    }
    return null;
  }

  private insert(c: Connection): void {
    const key = connKey(c.localPort, c.remoteAddr, c.remotePort);
    c.nextInBucket = this.conns.get(key) ?? null;
    this.conns.set(key, c);
    this.connCount++;
    this.usePort(c.localPort, 1);
  }

  release(c: Connection): void {
    const key = connKey(c.localPort, c.remoteAddr, c.remotePort);
    let p = this.conns.get(key) ?? null;
    if (p === null) return;
    if (p === c) {
      if (c.nextInBucket === null) this.conns.delete(key);
      else this.conns.set(key, c.nextInBucket);
    } else {
      while (p.nextInBucket !== null && p.nextInBucket !== c) p = p.nextInBucket;
      if (p.nextInBucket !== c) return;
      p.nextInBucket = c.nextInBucket;
    }
    c.nextInBucket = null;
    this.connCount--;
    this.bufferBytes -= c.ringBytes;
    c.ringBytes = 0;
    this.usePort(c.localPort, -1);
    this.timers.remove(c);
  }

  private usePort(port: number, d: number): void {
    const n = (this.portUse.get(port) ?? 0) + d;
    if (n <= 0) this.portUse.delete(port);
    else this.portUse.set(port, n);
  }

  /**
   * One pass over the range in turn from where the last connect stopped, so the ports come round
   * oldest first: a port nobody uses; else (all taken) one whose 4-tuple to this peer is free
   * (Linux shares a connect port between distinct peers too) or held only by an old enough
   * TIME_WAIT of ours. Going round in order matters when every port is taken: a port freed a
   * moment ago may still be in TIME_WAIT at the peer (it closed first), and a SYN sent there in
   * the same millisecond carries no newer timestamp, so it would wait for a retransmission.
   */
  private allocEphemeral(localAddr: number, remoteAddr: number, remotePort: number): number {
    const lo = this.opts.ephemeralLow;
    const span = this.opts.ephemeralHigh - lo + 1;
    for (let i = 0; i < span; i++) {
      const p = lo + ((this.nextEphemeral - lo + i) % span);
      if (this.portUse.has(p)) {
        if (this.listeners.has(p)) continue;
        const held = this.find(localAddr, p, remoteAddr, remotePort);
        if (held !== null && !this.reclaimable(held)) continue;
      }
      this.nextEphemeral = lo + ((p - lo + 1) % span);
      return p;
    }
    throw new TcpError("EADDRNOTAVAIL", "no ephemeral port");
  }

  /**
   * A new outgoing connection may take over a 4-tuple we hold in TIME_WAIT when that connection
   * used timestamps and has been in TIME_WAIT for a second (Linux's tcp_tw_reuse): our TSvals for
   * the pair only grow, so the peer's PAWS tells the new connection's segments from the old
   * one's, and the new ISS starts above everything the old one sent. Without it a client that
   * connects to one server faster than 28,232 ports per 60 s gets EADDRNOTAVAIL.
   */
  private reclaimable(c: Connection): boolean {
    return c.state === TcpState.TimeWait && c.tsOk && c.waitAt - this.opts.timeWaitMs <= this.clock.now() - TIME_WAIT_REUSE_MS;
  }

  /** End a reclaimable TIME_WAIT; returns the ISS for the new connection over its 4-tuple. */
  private reclaim(c: Connection): number {
    const iss = seqAdd(c.sndNxt, 65537);
    c.finish(null);
    this.stats.timeWaitReused++;
    return iss;
  }

  /** The TSval offset of an address pair (see tsKey). */
  private tsOffsetFor(laddr: number, raddr: number): number {
    return isnHash(this.tsKey, laddr, 0, raddr, 0);
  }

  /** RFC 6528: a 4 µs clock plus a keyed hash of the 4-tuple. */
  private iss(laddr: number, lport: number, raddr: number, rport: number): number {
    if (this.issFn !== undefined) return this.issFn(laddr, lport, raddr, rport) >>> 0;
    return (Math.floor(this.clock.now() * 250) + isnHash(this.isnKey, laddr, lport, raddr, rport)) >>> 0;
  }

  // ================================================================ TcpHost

  adjustBufferBytes(delta: number): boolean {
    if (delta > 0 && this.bufferBytes + delta > this.opts.maxBufferBytes) return false;
    this.bufferBytes += delta;
    return true;
  }

  timerChanged(c: Connection): void {
    this.timers.update(c);
    if (c.deadline < this.reportedDeadline) {
      this.reportedDeadline = c.deadline;
      this.onTimerEarlier?.(c.deadline);
    }
  }

  passiveEstablished(c: Connection): boolean {
    const l = c.listener;
    if (!(l instanceof Listener)) return true;
    return l.enqueue(c);
  }

  deferAck(conn: Connection): void {
    if (conn.ackDeferred) return;
    conn.ackDeferred = true;
    this.deferredAcks.push(conn);
    if (!this.ackFlushArmed) {
      this.ackFlushArmed = true;
      this.afterBatch(this.flushAcksBound);
    }
  }

  /** The input batch is over: one ACK for each connection that still owes one. */
  flushDeferredAcks(): void {
    this.ackFlushArmed = false;
    const list = this.deferredAcks;
    // an ACK may make the peer's data arrive synchronously (in-memory links): re-read the length
    for (let i = 0; i < list.length; i++) {
      const c = list[i]!;
      c.ackDeferred = false;
      // a data segment sent since then carried the ACK already (segsSinceAck back to 0)
      if (c.segsSinceAck >= 2 && c.state !== TcpState.Closed) c.sendAck();
    }
    list.length = 0;
  }

  challengeAckAllowed(): boolean {
    const now = this.clock.now();
    if (now - this.challengeWindowStart >= 1000) {
      this.challengeWindowStart = now;
      this.challengeCount = 0;
    }
    return ++this.challengeCount <= this.opts.challengeAckLimit;
  }

  /** RFC 9293 3.10.7.1: reset for a segment that matches no connection. */
  sendResetFor(seg: TcpSegmentView, ourAddr: number, peerAddr: number): void {
    if (seg.flags & TCP_RST) return;
    const h = this.hdr;
    h.reset();
    h.srcPort = seg.dstPort;
    h.dstPort = seg.srcPort;
    h.window = 0;
    if (seg.flags & TCP_ACK) {
      h.seq = seg.ack;
      h.ack = 0;
      h.flags = TCP_RST;
    } else {
      h.seq = 0;
      let len = seg.payloadLength;
      if (seg.flags & TCP_SYN) len++;
      if (seg.flags & TCP_FIN) len++;
      h.ack = seqAdd(seg.seq, len);
      h.flags = TCP_RST | TCP_ACK;
    }
    this.stats.resetsSent++;
    this.emitBare(ourAddr, peerAddr);
  }

  private emitBare(src: number, dst: number): void {
    const start = TRANSPORT_HEADROOM;
    const end = start + 20 + this.hdr.optionsLength();
    emitTcpSegment(this.hdr, this.txBuf, start, end, src, dst);
    this.stats.segmentsOut++;
    this.ip.sendIpv4(IPPROTO_TCP, src, dst, this.txBuf, start, end);
  }

  closeListener(l: Listener): void {
    if (this.listeners.get(l.localPort) === l) {
      this.listeners.delete(l.localPort);
      this.usePort(l.localPort, -1);
    }
  }

  // ================================================================ events

  queueEvents(c: Connection): void {
    if (!c.eventQueued) {
      c.eventQueued = true;
      this.eventQueue.push(c);
    }
    this.scheduleFlush();
  }

  queueListenerEvent(l: Listener): void {
    if (!l.eventQueued) {
      l.eventQueued = true;
      this.eventQueue.push(l);
    }
    this.scheduleFlush();
  }

  /** Events raised outside input/timer processing (e.g. by close()) are delivered on a microtask. */
  private scheduleFlush(): void {
    if (this.flushing || this.microtaskArmed || this.eventQueue.length === 0) return;
    this.microtaskArmed = true;
    queueMicrotask(this.flushBound);
  }

  /** Deliver queued events to handlers. */
  flushEvents(): void {
    const q = this.eventQueue;
    for (let i = 0; i < q.length; i++) {
      const item = q[i]!;
      // A throwing handler is the application's bug: it must not unwind into iface or leave
      // the queue half-delivered. Count it, log it, go on with the next socket.
      try {
        this.deliver(item);
      } catch (e) {
        this.stats.handlerErrors++;
        consola.error("tcp: socket handler threw", e);
      }
    }
    q.length = 0;
  }

  private deliver(item: Connection | Listener): void {
    if (item instanceof Listener) {
      item.eventQueued = false;
      if (item.acceptableRaised) {
        item.acceptableRaised = false;
        if (item.pending > 0 && !item.closed) item.handler?.onAcceptable?.(item);
      }
      return;
    }
    item.eventQueued = false;
    const ev = item.events;
    item.events = 0;
    const h = item.handler;
    if (h === null) return;
    if (item.orphan) {
      if (ev & EV_CLOSE) h.onClose?.(item);
      return;
    }
    if (ev & EV_CONNECT) h.onConnect?.(item);
    if (ev & EV_ERROR && item.error !== null) h.onError?.(item, item.error);
    if (ev & EV_READABLE) h.onReadable?.(item);
    if (ev & EV_WRITABLE) h.onWritable?.(item);
    if (ev & EV_CLOSE) h.onClose?.(item);
  }
}
