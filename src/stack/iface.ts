/**
 * The IPv4-over-Ethernet interface: addresses, routes, ARP, ICMP (echo and errors), inbound
 * fragment reassembly, and dispatch of transport payloads to protocol handlers (TCP, UDP…).
 * It sees only Ethernet frames (FrameReceiver in, FrameSink out) and offers Ipv4Output upward.
 *
 * Steady-state paths allocate nothing: received frames are parsed in place, transport segments
 * get their IPv4 and Ethernet headers written into the caller's headroom, and the frames iface
 * originates itself (ARP, ICMP, fragments) are built in preallocated buffers.
 */
import { deferToTurnEnd } from "../../ffi/hot-loop.ts";
import type { Clock } from "../util/clock.ts";
import {
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  FRAME_HEADROOM,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  TRANSPORT_HEADROOM,
  type FrameReceiver,
  type FrameSink,
  type Ipv4Output,
  type Ipv4ProtocolHandler,
} from "./link.ts";
import { ArpCache, type ArpCacheOptions, type QueuedDatagram } from "./arp-cache.ts";
import { Ipv4Reassembler, type ReassemblyOptions } from "./ipv4-reassembly.ts";
import { RouteTable } from "./routes.ts";
import { ARP_LEN, ARP_REPLY, ARP_REQUEST, arpOp, arpSenderIp, arpSenderMac, arpTargetIp, checkArp, emitArp } from "./wire/arp.ts";
import { readU16, readU32 } from "./wire/bytes.ts";
import { emitEthernet, ETH_BROADCAST, ETH_HEADER_LEN, ethDst, ethSrc, ethType, isMulticastMac } from "./wire/ethernet.ts";
import {
  checkIcmp,
  emitEchoHeader,
  emitIcmpError,
  finishIcmp,
  ICMP_DEST_UNREACHABLE,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_HEADER_LEN,
  ICMP_TIME_EXCEEDED,
  icmpCode,
  icmpEchoId,
  icmpEchoSeq,
  icmpNextHopMtu,
  icmpType,
  isIcmpError,
  TIME_EXCEEDED_REASSEMBLY,
  UNREACH_FRAG_NEEDED,
  UNREACH_HOST,
  UNREACH_PORT,
  UNREACH_PROTOCOL,
} from "./wire/icmpv4.ts";
import {
  emitIpv4,
  IPV4_DEFAULT_TTL,
  IPV4_FLAG_DF,
  IPV4_FLAG_MF,
  IPV4_MIN_HEADER,
  Ipv4Header,
  isMartianSource,
  parseIpv4,
  prefixMask,
} from "./wire/ipv4.ts";

export const DROP_REASONS = [
  "eth-truncated",
  "eth-not-for-us",
  "eth-multicast",
  "eth-bad-source",
  "ethertype",
  "ipv6",
  "arp-truncated",
  "arp-unsupported",
  "arp-conflict",
  "ipv4-truncated",
  "ipv4-bad-version",
  "ipv4-bad-header-length",
  "ipv4-bad-total-length",
  "ipv4-bad-checksum",
  "ipv4-not-for-us",
  "ipv4-martian-source",
  "frag-duplicate",
  "frag-overlap",
  "frag-too-big",
  "frag-bad-fragment",
  "frag-no-memory",
  "icmp-truncated",
  "icmp-bad-checksum",
  "icmp-broadcast-echo",
  "icmp-type",
  "icmp-error-unmatched",
  "no-protocol",
  "tx-no-route",
  "tx-too-big",
  "tx-arp-queue-full",
  "tx-arp-failed",
  "handler-threw",
  "loopback-overflow",
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export interface IfaceOptions {
  mac: number;
  sink: FrameSink;
  clock: Clock;
  /** Link MTU: the largest IPv4 datagram carried. ZeroTier's default is 2800. */
  mtu?: number;
  ttl?: number;
  arp?: ArpCacheOptions;
  reassembly?: ReassemblyOptions;
  /** ICMP errors we originate, per second (token bucket; Linux's icmp_ratelimit is similar). */
  icmpErrorsPerSecond?: number;
  /**
   * Treat 127.0.0.0/8 as this host's loopback, as a kernel does with `lo`: datagrams to it are
   * delivered internally and never reach the link; such addresses are never announced or answered
   * by ARP, and a frame from the link addressed to them is dropped. Off by default.
   */
  hostLoopback?: boolean;
}

export interface IfaceAddress {
  addr: number;
  prefixLen: number;
}

export interface IfaceStats {
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
  echoRequestsAnswered: number;
  icmpErrorsSent: number;
  icmpErrorsDelivered: number;
  fragmentsReassembled: number;
  datagramsFragmented: number;
  gratuitousArpSent: number;
  /** Datagrams sent to one of our own addresses (delivered internally, never on the link). */
  loopbackDatagrams: number;
}

export type EchoReplyListener = (src: number, id: number, seq: number, buf: Uint8Array, start: number, end: number) => void;

const MAX_DATAGRAM = 65535;
/** Datagrams to ourselves waiting for delivery; beyond it they are dropped (like a full backlog). */
const LOOPBACK_QUEUE_MAX = 4096;
/** Loopback datagrams delivered per turn before yielding to the event loop. */
const LOOPBACK_BATCH = 512;

interface LoopSlot {
  buf: Uint8Array;
  len: number;
}
const BROADCAST_ALL = 0xffffffff;

export class Iface implements FrameReceiver, Ipv4Output {
  readonly mac: number;
  /** Link MTU (largest IPv4 datagram); change it with setMtu. */
  mtu: number;
  readonly routes = new RouteTable();
  readonly drops: Record<DropReason, number>;
  readonly stats: IfaceStats = {
    rxFrames: 0,
    rxBytes: 0,
    txFrames: 0,
    txBytes: 0,
    echoRequestsAnswered: 0,
    icmpErrorsSent: 0,
    icmpErrorsDelivered: 0,
    fragmentsReassembled: 0,
    datagramsFragmented: 0,
    gratuitousArpSent: 0,
    loopbackDatagrams: 0,
  };
  /** The last exception a protocol handler threw (counted as "handler-threw"; the frame is lost). */
  lastHandlerError: unknown = undefined;
  /** Called when an ICMP echo reply arrives (our own pings). */
  onEchoReply: EchoReplyListener | undefined;

  private readonly sink: FrameSink;
  private readonly clock: Clock;
  private readonly ttl: number;
  private readonly addrs: IfaceAddress[] = [];
  private readonly handlers: (Ipv4ProtocolHandler | undefined)[] = new Array(256).fill(undefined);
  private readonly arp: ArpCache;
  private readonly reasm: Ipv4Reassembler;
  private readonly hdr = new Ipv4Header();
  /** Builds ICMP replies/errors and pings (a full datagram fits). */
  private readonly txBuf = new Uint8Array(TRANSPORT_HEADROOM + MAX_DATAGRAM);
  /** Builds one outbound fragment at a time. */
  private fragBuf: Uint8Array;
  private readonly arpBuf = new Uint8Array(FRAME_HEADROOM + ETH_HEADER_LEN + ARP_LEN);
  private ipId: number;
  private icmpTokens: number;
  private icmpLast: number;
  private readonly icmpRate: number;
  private readonly hostLoopback: boolean;
  /** The datagram being delivered, so a handler can ask for an ICMP error about it. */
  private curBuf: Uint8Array | undefined;
  private curIpStart = -1;
  private curIpEnd = -1;
  /** Datagrams to our own addresses, delivered from a microtask (never re-entering the sender). */
  private readonly loopQueue: LoopSlot[] = [];
  private readonly loopPool: LoopSlot[] = [];
  private loopScheduled = false;
  private readonly drainLoopBound = () => this.drainLoopback();

  constructor(opts: IfaceOptions) {
    this.mac = opts.mac;
    this.sink = opts.sink;
    this.clock = opts.clock;
    this.mtu = opts.mtu ?? 1500;
    this.hostLoopback = opts.hostLoopback ?? false;
    this.ttl = opts.ttl ?? IPV4_DEFAULT_TTL;
    this.fragBuf = new Uint8Array(FRAME_HEADROOM + ETH_HEADER_LEN + this.mtu);
    const drops = {} as Record<DropReason, number>;
    for (const r of DROP_REASONS) drops[r] = 0;
    this.drops = drops;
    this.arp = new ArpCache(this.clock, this.arpHost, opts.arp);
    this.reasm = new Ipv4Reassembler(this.clock, opts.reassembly);
    this.ipId = (opts.mac & 0xffff) ^ 0x5a5a;
    this.icmpRate = opts.icmpErrorsPerSecond ?? 100;
    this.icmpTokens = this.icmpRate;
    this.icmpLast = this.clock.now();
  }

  // ---- configuration ----

  /** Add an address and its on-link route. */
  addAddress(addr: number, prefixLen: number): void {
    addr >>>= 0;
    if (this.addrs.some((a) => a.addr === addr)) return;
    this.addrs.push({ addr, prefixLen });
    if (prefixLen > 0) this.routes.add(addr, prefixLen, 0);
  }

  /** Change the link MTU (a network's config may change it); new segments use it at once. */
  setMtu(mtu: number): void {
    if (!Number.isInteger(mtu) || mtu < 576 || mtu > 65535) throw new RangeError(`bad MTU ${mtu}`);
    if (mtu === this.mtu) return;
    this.mtu = mtu;
    this.fragBuf = new Uint8Array(FRAME_HEADROOM + ETH_HEADER_LEN + mtu);
  }

  removeAddress(addr: number): void {
    const i = this.addrs.findIndex((a) => a.addr === addr >>> 0);
    if (i < 0) return;
    const a = this.addrs[i]!;
    this.addrs.splice(i, 1);
    if (!this.addrs.some((b) => b.prefixLen === a.prefixLen && ((b.addr ^ a.addr) & prefixMask(a.prefixLen)) === 0)) {
      this.routes.remove(a.addr, a.prefixLen);
    }
  }

  addresses(): readonly IfaceAddress[] {
    return this.addrs;
  }

  /** Route dest/prefixLen via gateway (0 = on-link). */
  addRoute(dest: number, prefixLen: number, gateway = 0): void {
    this.routes.add(dest, prefixLen, gateway);
  }

  registerProtocol(proto: number, handler: Ipv4ProtocolHandler): void {
    this.handlers[proto & 255] = handler;
  }

  /** Announce our addresses (gratuitous ARP), so neighbours update stale caches. */
  start(): void {
    for (const a of this.addrs) {
      this.sendArp(ARP_REQUEST, ETH_BROADCAST, 0, a.addr, a.addr);
      this.stats.gratuitousArpSent++;
    }
  }

  // ---- Ipv4Output ----

  isLocal(addr: number): boolean {
    if (this.hostLoopback && addr >>> 24 === 127) return true;
    return this.isInterfaceAddress(addr);
  }

  /** One of the addresses configured on the link (never the host loopback). */
  private isInterfaceAddress(addr: number): boolean {
    for (let i = 0; i < this.addrs.length; i++) if (this.addrs[i]!.addr === addr) return true;
    return false;
  }

  sourceFor(dst: number): number {
    if (this.hostLoopback && dst >>> 24 === 127) return 0x7f000001; // 127.0.0.1, as Linux picks
    const r = this.routes.lookup(dst >>> 0);
    if (r === undefined) return 0;
    if (r.src !== 0) return r.src;
    const hop = r.gateway !== 0 ? r.gateway : dst >>> 0;
    for (const a of this.addrs) {
      const m = prefixMask(a.prefixLen);
      if (((a.addr ^ hop) & m) === 0) return a.addr;
    }
    return this.addrs.length > 0 ? this.addrs[0]!.addr : 0;
  }

  sendIpv4(proto: number, src: number, dst: number, buf: Uint8Array, start: number, end: number): boolean {
    dst >>>= 0;
    if (this.isLocal(dst)) return this.loopback(proto, src, dst, buf, start, end);
    const r = this.routes.lookup(dst);
    if (r === undefined) {
      this.drops["tx-no-route"]++;
      return false;
    }
    const nextHop = r.gateway !== 0 ? r.gateway : dst;
    const len = end - start;
    if (len + IPV4_MIN_HEADER > MAX_DATAGRAM) {
      this.drops["tx-too-big"]++;
      return true;
    }
    const id = this.nextId();
    if (len + IPV4_MIN_HEADER > this.mtu) {
      this.fragmentOut(proto, src, dst, nextHop, id, buf, start, end);
      return true;
    }
    if (start < TRANSPORT_HEADROOM) {
      // The caller broke the headroom contract; copy instead of writing before its buffer.
      this.txBuf.set(buf.subarray(start, end), TRANSPORT_HEADROOM);
      buf = this.txBuf;
      end = TRANSPORT_HEADROOM + len;
      start = TRANSPORT_HEADROOM;
    }
    const ipStart = start - IPV4_MIN_HEADER;
    // TCP sets DF (path MTU discovery, as Linux does); other protocols may be fragmented on the way.
    emitIpv4(buf, ipStart, len + IPV4_MIN_HEADER, id, proto === IPPROTO_TCP ? IPV4_FLAG_DF : 0, this.ttl, proto, src, dst);
    this.transmit(buf, ipStart, end, nextHop, dst);
    return true;
  }

  // ---- loopback (datagrams to our own addresses) ----

  private loopback(proto: number, src: number, dst: number, buf: Uint8Array, start: number, end: number): boolean {
    const total = end - start + IPV4_MIN_HEADER;
    if (total > MAX_DATAGRAM) {
      this.drops["tx-too-big"]++;
      return true;
    }
    if (this.loopQueue.length >= LOOPBACK_QUEUE_MAX) {
      this.drops["loopback-overflow"]++;
      return true;
    }
    let slot = this.loopPool.pop();
    if (slot === undefined || slot.buf.length < total) slot = { buf: new Uint8Array(Math.max(total, this.mtu)), len: 0 };
    emitIpv4(slot.buf, 0, total, this.nextId(), 0, this.ttl, proto, src, dst);
    slot.buf.set(buf.subarray(start, end), IPV4_MIN_HEADER);
    slot.len = total;
    this.loopQueue.push(slot);
    this.stats.loopbackDatagrams++;
    if (!this.loopScheduled) {
      this.loopScheduled = true;
      queueMicrotask(this.drainLoopBound);
    }
    return true;
  }

  private drainLoopback(): void {
    this.loopScheduled = false;
    const q = this.loopQueue;
    // Replies queued while delivering are taken in the same turn, up to a batch; then yield.
    let i = 0;
    for (; i < q.length && i < LOOPBACK_BATCH; i++) {
      const slot = q[i]!;
      this.receiveIpv4(slot.buf, 0, slot.len, true);
      this.loopPool.push(slot);
    }
    q.splice(0, i);
    if (q.length > 0 && !this.loopScheduled) {
      this.loopScheduled = true;
      deferToTurnEnd(this.drainLoopBound);
    }
  }

  // ---- timers ----

  poll(): void {
    this.arp.poll();
    this.reasm.poll(this.onReassemblyTimeout);
    if (this.loopQueue.length > 0) this.drainLoopback();
  }

  private readonly onReassemblyTimeout = (quote: Uint8Array): void => {
    if (quote.length < IPV4_MIN_HEADER || this.isBroadcast(readU32(quote, 16))) return;
    this.sendIcmpError(ICMP_TIME_EXCEEDED, TIME_EXCEEDED_REASSEMBLY, 0, quote, 0, quote.length);
  };

  nextDeadline(): number {
    if (this.loopQueue.length > 0) return this.clock.now();
    return Math.min(this.arp.nextDeadline(), this.reasm.nextDeadline());
  }

  /** Reassembly timeouts so far (a drop reason counted by the reassembler itself). */
  get fragmentTimeouts(): number {
    return this.reasm.timeouts;
  }

  /** ARP mapping for ip (-1 when unknown); for tests and diagnostics. */
  arpPeek(ip: number): number {
    return this.arp.peek(ip >>> 0);
  }

  // ---- ICMP we originate ----

  /** Send an echo request with `dataLen` bytes of patterned data. Returns false without a route. */
  sendPing(dst: number, id: number, seq: number, dataLen = 56): boolean {
    const src = this.sourceFor(dst);
    if (src === 0 || dataLen + ICMP_HEADER_LEN + IPV4_MIN_HEADER > MAX_DATAGRAM) return false;
    const b = this.txBuf;
    const s = TRANSPORT_HEADROOM;
    emitEchoHeader(b, s, ICMP_ECHO_REQUEST, id, seq);
    for (let i = 0; i < dataLen; i++) b[s + ICMP_HEADER_LEN + i] = i & 0xff;
    const e = s + ICMP_HEADER_LEN + dataLen;
    finishIcmp(b, s, e);
    return this.sendIpv4(IPPROTO_ICMP, src, dst, b, s, e);
  }

  /**
   * From inside Ipv4ProtocolHandler.onIpv4: answer the datagram being delivered with ICMP
   * destination unreachable (e.g. UDP port unreachable). Rate limited; not for broadcasts.
   */
  sendUnreachableForCurrent(code: number = UNREACH_PORT): void {
    if (this.curBuf === undefined) return;
    this.sendIcmpError(ICMP_DEST_UNREACHABLE, code, 0, this.curBuf, this.curIpStart, this.curIpEnd);
  }

  // ---- receive path ----

  receiveFrame(buf: Uint8Array, start: number, end: number): void {
    this.stats.rxFrames++;
    this.stats.rxBytes += end - start;
    if (end - start < ETH_HEADER_LEN) {
      this.drops["eth-truncated"]++;
      return;
    }
    const dmac = ethDst(buf, start);
    const smac = ethSrc(buf, start);
    if (isMulticastMac(smac) || smac === this.mac) {
      // A group address is never a valid source; our own is a loop or a spoof.
      this.drops["eth-bad-source"]++;
      return;
    }
    if (dmac !== this.mac && dmac !== ETH_BROADCAST) {
      if (isMulticastMac(dmac)) this.drops["eth-multicast"]++;
      else this.drops["eth-not-for-us"]++;
      return;
    }
    const type = ethType(buf, start);
    const p = start + ETH_HEADER_LEN;
    if (type === ETHERTYPE_IPV4) this.receiveIpv4(buf, p, end);
    else if (type === ETHERTYPE_ARP) this.receiveArp(buf, p, end);
    else if (type === ETHERTYPE_IPV6) this.drops["ipv6"]++;
    else this.drops["ethertype"]++;
  }

  private receiveArp(buf: Uint8Array, p: number, end: number): void {
    const c = checkArp(buf, p, end);
    if (c !== "ok") {
      this.drops[c === "truncated" ? "arp-truncated" : "arp-unsupported"]++;
      return;
    }
    const sha = arpSenderMac(buf, p);
    const spa = arpSenderIp(buf, p);
    const tpa = arpTargetIp(buf, p);
    const forUs = this.isInterfaceAddress(tpa);
    if (spa !== 0 && !isMulticastMac(sha)) {
      if (this.isInterfaceAddress(spa)) {
        if (sha !== this.mac) this.drops["arp-conflict"]++;
      } else {
        // RFC 826 merge: update known senders always, create entries only when the packet targets us.
        this.arp.learn(spa, sha, forUs);
      }
    }
    if (arpOp(buf, p) === ARP_REQUEST && forUs && !isMulticastMac(sha)) {
      this.sendArp(ARP_REPLY, sha, sha, tpa, spa);
    }
  }

  /** `local`: the datagram came from our own loopback, so a local source address is expected. */
  private receiveIpv4(buf: Uint8Array, p: number, end: number, local = false): void {
    const h = this.hdr;
    const c = parseIpv4(buf, p, end, h);
    if (c !== "ok") {
      this.drops[`ipv4-${c}`]++;
      return;
    }
    const bcast = this.isBroadcast(h.dst);
    if (!bcast && !(local ? this.isLocal(h.dst) : this.isInterfaceAddress(h.dst))) {
      this.drops["ipv4-not-for-us"]++;
      return;
    }
    // From our own loopback a 127.x source is expected; from the link it is martian.
    const loopSrc = local && this.hostLoopback && h.src >>> 24 === 127;
    if ((isMartianSource(h.src) && !loopSrc) || (!local && this.isLocal(h.src))) {
      this.drops["ipv4-martian-source"]++;
      return;
    }
    const ps = p + h.headerLen;
    const pe = p + h.totalLen;
    if (!h.isFragment) {
      this.deliver(h.proto, h.src, h.dst, buf, ps, pe, bcast, p);
      return;
    }
    const r = this.reasm.add(h, buf, ps, pe, p);
    if (r === "pending") return;
    if (r === "complete") {
      const o = this.reasm.output;
      this.stats.fragmentsReassembled++;
      this.deliver(o.proto, o.src, o.dst, o.buf, 0, o.len, bcast, -1);
      return;
    }
    this.drops[`frag-${r}`]++;
  }

  /** ipStart is the IPv4 header's offset in buf, or -1 for a reassembled datagram (no header kept). */
  private deliver(proto: number, src: number, dst: number, buf: Uint8Array, ps: number, pe: number, bcast: boolean, ipStart: number): void {
    if (proto === IPPROTO_ICMP) {
      this.receiveIcmp(src, dst, buf, ps, pe, bcast);
      return;
    }
    const h = this.handlers[proto];
    if (h === undefined) {
      this.drops["no-protocol"]++;
      if (!bcast && ipStart >= 0) {
        this.sendIcmpError(ICMP_DEST_UNREACHABLE, proto === IPPROTO_UDP ? UNREACH_PORT : UNREACH_PROTOCOL, 0, buf, ipStart, pe);
      }
      return;
    }
    if (ipStart >= 0 && !bcast) {
      this.curBuf = buf;
      this.curIpStart = ipStart;
      this.curIpEnd = pe;
    }
    try {
      h.onIpv4(src, dst, buf, ps, pe);
    } catch (e) {
      // A bug above must not take the interface (and every other protocol) down with it.
      this.drops["handler-threw"]++;
      this.lastHandlerError = e;
    }
    this.curBuf = undefined;
  }

  private receiveIcmp(src: number, dst: number, buf: Uint8Array, s: number, e: number, bcast: boolean): void {
    const c = checkIcmp(buf, s, e);
    if (c !== "ok") {
      this.drops[`icmp-${c}`]++;
      return;
    }
    const type = icmpType(buf, s);
    if (type === ICMP_ECHO_REQUEST) {
      // Linux ignores broadcast echo by default (icmp_echo_ignore_broadcasts=1): smurf protection.
      if (bcast) {
        this.drops["icmp-broadcast-echo"]++;
        return;
      }
      const len = e - s;
      const t = this.txBuf;
      const ts = TRANSPORT_HEADROOM;
      t.set(buf.subarray(s, e), ts);
      t[ts] = ICMP_ECHO_REPLY;
      finishIcmp(t, ts, ts + len);
      if (this.sendIpv4(IPPROTO_ICMP, dst, src, t, ts, ts + len)) this.stats.echoRequestsAnswered++;
      return;
    }
    if (type === ICMP_ECHO_REPLY) {
      this.onEchoReply?.(src, icmpEchoId(buf, s), icmpEchoSeq(buf, s), buf, s + ICMP_HEADER_LEN, e);
      return;
    }
    if (!isIcmpError(type)) {
      this.drops["icmp-type"]++;
      return;
    }
    // The quoted datagram must be one of ours: a full IPv4 header with our source, plus 8 bytes.
    const q = s + ICMP_HEADER_LEN;
    if (e - q < IPV4_MIN_HEADER + 8 || buf[q]! >>> 4 !== 4) {
      this.drops["icmp-error-unmatched"]++;
      return;
    }
    const qhl = (buf[q]! & 15) * 4;
    const qsrc = readU32(buf, q + 12);
    const handler = this.handlers[buf[q + 9]!];
    if (qhl < IPV4_MIN_HEADER || e - q < qhl + 8 || !this.isLocal(qsrc) || handler?.onIcmpError === undefined) {
      this.drops["icmp-error-unmatched"]++;
      return;
    }
    this.stats.icmpErrorsDelivered++;
    const code = icmpCode(buf, s);
    const mtu = type === ICMP_DEST_UNREACHABLE && code === UNREACH_FRAG_NEEDED ? icmpNextHopMtu(buf, s) : 0;
    try {
      handler.onIcmpError(type, code, mtu, buf, q, e);
    } catch (err) {
      this.drops["handler-threw"]++;
      this.lastHandlerError = err;
    }
  }

  // ---- transmit path ----

  private nextId(): number {
    this.ipId = (this.ipId + 1) & 0xffff;
    return this.ipId;
  }

  private isBroadcast(dst: number): boolean {
    if (dst === BROADCAST_ALL) return true;
    for (const a of this.addrs) {
      if (a.prefixLen >= 31) continue;
      const m = prefixMask(a.prefixLen);
      if ((dst & ~m) >>> 0 === ~m >>> 0 && ((dst ^ a.addr) & m) === 0) return true;
    }
    return false;
  }

  /** Send the datagram buf[ipStart, end) (header written) toward nextHop, resolving its MAC. */
  private transmit(buf: Uint8Array, ipStart: number, end: number, nextHop: number, dst: number): void {
    let mac: number;
    if (this.isBroadcast(dst)) mac = ETH_BROADCAST;
    else {
      mac = this.arp.lookup(nextHop);
      if (mac < 0) {
        if (this.arp.enqueue(nextHop, buf, ipStart, end, FRAME_HEADROOM + ETH_HEADER_LEN) === "dropped") {
          this.drops["tx-arp-queue-full"]++;
        }
        return;
      }
    }
    const eth = ipStart - ETH_HEADER_LEN;
    emitEthernet(buf, eth, mac, this.mac, ETHERTYPE_IPV4);
    this.stats.txFrames++;
    this.stats.txBytes += end - eth;
    this.sink.sendFrame(buf, eth, end);
  }

  private fragmentOut(proto: number, src: number, dst: number, nextHop: number, id: number, buf: Uint8Array, start: number, end: number): void {
    const maxPayload = (this.mtu - IPV4_MIN_HEADER) & ~7;
    const fb = this.fragBuf;
    const ps = FRAME_HEADROOM + ETH_HEADER_LEN + IPV4_MIN_HEADER;
    this.stats.datagramsFragmented++;
    for (let off = 0; start + off < end; off += maxPayload) {
      const n = Math.min(maxPayload, end - start - off);
      const more = start + off + n < end;
      fb.set(buf.subarray(start + off, start + off + n), ps);
      emitIpv4(fb, ps - IPV4_MIN_HEADER, n + IPV4_MIN_HEADER, id, (more ? IPV4_FLAG_MF : 0) | (off >>> 3), this.ttl, proto, src, dst);
      this.transmit(fb, ps - IPV4_MIN_HEADER, ps + n, nextHop, dst);
    }
  }

  private sendArp(op: number, ethDstMac: number, targetMac: number, senderIp: number, targetIp: number): void {
    const b = this.arpBuf;
    const eth = FRAME_HEADROOM;
    emitEthernet(b, eth, ethDstMac, this.mac, ETHERTYPE_ARP);
    emitArp(b, eth + ETH_HEADER_LEN, op, this.mac, senderIp, targetMac, targetIp);
    const end = eth + ETH_HEADER_LEN + ARP_LEN;
    this.stats.txFrames++;
    this.stats.txBytes += end - eth;
    this.sink.sendFrame(b, eth, end);
  }

  /** ICMP error about the datagram buf[ipStart, ipEnd), quoting its header and 8 payload bytes. */
  private sendIcmpError(type: number, code: number, rest: number, buf: Uint8Array, ipStart: number, ipEnd: number): void {
    const now = this.clock.now();
    this.icmpTokens = Math.min(this.icmpRate, this.icmpTokens + ((now - this.icmpLast) * this.icmpRate) / 1000);
    this.icmpLast = now;
    if (this.icmpTokens < 1) return;
    this.icmpTokens -= 1;
    const hl = (buf[ipStart]! & 15) * 4;
    const origSrc = readU32(buf, ipStart + 12);
    const origDst = readU32(buf, ipStart + 16);
    // Never answer an ICMP error or a non-first fragment with an error (RFC 1122 3.2.2).
    if (buf[ipStart + 9] === IPPROTO_ICMP && isIcmpError(buf[ipStart + hl] ?? 0)) return;
    if ((readU16(buf, ipStart + 6) & 0x1fff) !== 0) return;
    const quoted = Math.min(ipEnd - ipStart, hl + 8);
    const t = this.txBuf;
    const ts = TRANSPORT_HEADROOM;
    const e = emitIcmpError(t, ts, type, code, rest, buf, ipStart, quoted);
    if (this.sendIpv4(IPPROTO_ICMP, origDst, origSrc, t, ts, e)) this.stats.icmpErrorsSent++;
  }

  // ---- ARP cache callbacks ----

  private readonly arpHost = {
    sendArpRequest: (ip: number, mac: number | undefined): void => {
      const src = this.sourceFor(ip);
      this.sendArp(ARP_REQUEST, mac ?? ETH_BROADCAST, mac ?? 0, src, ip);
    },
    flushQueued: (_ip: number, mac: number, queued: QueuedDatagram[]): void => {
      for (const q of queued) {
        const eth = q.start - ETH_HEADER_LEN;
        emitEthernet(q.buf, eth, mac, this.mac, ETHERTYPE_IPV4);
        this.stats.txFrames++;
        this.stats.txBytes += q.end - eth;
        this.sink.sendFrame(q.buf, eth, q.end);
      }
    },
    resolutionFailed: (_ip: number, queued: QueuedDatagram[]): void => {
      // Tell each sender its destination is unreachable, as Linux reports EHOSTUNREACH to sockets.
      for (const q of queued) {
        this.drops["tx-arp-failed"]++;
        const h = this.handlers[q.buf[q.start + 9]!];
        h?.onIcmpError?.(ICMP_DEST_UNREACHABLE, UNREACH_HOST, 0, q.buf, q.start, q.end);
      }
    },
  };
}

