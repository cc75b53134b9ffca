/**
 * Packet-dialogue harness: a fake Ipv4Output that records what TCP sends, a ManualClock, and
 * helpers to build and inject segments (smoltcp/gVisor style).
 */
import { ManualClock } from "../../../src/util/clock.ts";
import { SeededRng } from "../../../src/util/random.ts";
import { TRANSPORT_HEADROOM, type Ipv4Output } from "../../../src/stack/link.ts";
import { emitTcpSegment, TcpHeaderFields, tcpHeaderLength, TcpParseError, TcpSegmentView } from "../../../src/stack/wire/tcp.ts";
import { TcpLayer, type TcpLayerConfig, type TcpSocket, type TcpSocketHandler } from "../../../src/stack/tcp/index.ts";

export const US = 0x0a000001; // 10.0.0.1
export const PEER = 0x0a000002; // 10.0.0.2

export const FIN = 1, SYN = 2, RST = 4, PSH = 8, ACK = 16;

/** A segment TCP sent, decoded into plain fields. */
export interface Sent {
  src: number;
  dst: number;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  mss: number;
  wscale: number;
  sackPermitted: boolean;
  ts: [number, number] | null;
  sack: [number, number][];
  payload: Uint8Array;
}

export class FakeIp implements Ipv4Output {
  mtu = 1500;
  sent: Sent[] = [];
  routable = true;
  sourceFor(_dst: number): number {
    return this.routable ? US : 0;
  }
  isLocal(a: number): boolean {
    return a === US;
  }
  sendIpv4(_proto: number, src: number, dst: number, buf: Uint8Array, start: number, end: number): boolean {
    if (start < TRANSPORT_HEADROOM - 0) throw new Error("headroom violated");
    const v = new TcpSegmentView();
    const err = v.parse(buf, start, end, src, dst, true);
    if (err !== TcpParseError.Ok) throw new Error(`TCP emitted a bad segment: ${err}`);
    const sack: [number, number][] = [];
    for (let i = 0; i < v.sackCount; i++) sack.push([v.sackLeft[i]!, v.sackRight[i]!]);
    this.sent.push({
      src,
      dst,
      srcPort: v.srcPort,
      dstPort: v.dstPort,
      seq: v.seq,
      ack: v.ack,
      flags: v.flags,
      window: v.window,
      mss: v.mss,
      wscale: v.wscale,
      sackPermitted: v.sackPermitted,
      ts: v.hasTimestamp ? [v.tsVal, v.tsEcr] : null,
      sack,
      payload: buf.slice(v.payloadStart, v.payloadEnd),
    });
    return this.routable;
  }
  /** Take and clear what was sent. */
  take(): Sent[] {
    const s = this.sent;
    this.sent = [];
    return s;
  }
  /** Exactly one segment was sent; return it. */
  one(): Sent {
    const s = this.take();
    if (s.length !== 1) throw new Error(`expected 1 segment, got ${s.length}: ${s.map(fmt).join(" | ")}`);
    return s[0]!;
  }
}

export function fmt(s: Sent): string {
  const f = ["F", "S", "R", "P", "A"].filter((_, i) => s.flags & (1 << i)).join("");
  return `[${f}] seq=${s.seq} ack=${s.ack} win=${s.window} len=${s.payload.length}`;
}

export interface SegSpec {
  srcPort?: number;
  dstPort?: number;
  seq: number;
  ack?: number;
  flags: number;
  window?: number;
  mss?: number;
  wscale?: number;
  sackPermitted?: boolean;
  ts?: [number, number];
  sack?: [number, number][];
  payload?: Uint8Array;
  badChecksum?: boolean;
}

const buildBuf = new Uint8Array(TRANSPORT_HEADROOM + 60 + 70000);

/** Build a segment from the peer and feed it to the layer. */
export function inject(layer: TcpLayer, s: SegSpec, from = PEER, to = US): void {
  const h = new TcpHeaderFields();
  h.srcPort = s.srcPort ?? 4000;
  h.dstPort = s.dstPort ?? 80;
  h.seq = s.seq >>> 0;
  h.ack = (s.ack ?? 0) >>> 0;
  h.flags = s.flags;
  h.window = s.window ?? 65535;
  h.mss = s.mss ?? 0;
  h.wscale = s.wscale ?? -1;
  h.sackPermitted = s.sackPermitted ?? false;
  if (s.ts) {
    h.hasTimestamp = true;
    h.tsVal = s.ts[0];
    h.tsEcr = s.ts[1];
  }
  if (s.sack) {
    h.sackCount = s.sack.length;
    s.sack.forEach(([l, r], i) => {
      h.sackLeft[i] = l >>> 0;
      h.sackRight[i] = r >>> 0;
    });
  }
  const start = TRANSPORT_HEADROOM;
  const hl = tcpHeaderLength(h);
  const p = s.payload ?? new Uint8Array(0);
  buildBuf.set(p, start + hl);
  const end = start + hl + p.length;
  emitTcpSegment(h, buildBuf, start, end, from, to);
  if (s.badChecksum) buildBuf[start + 16]! ^= 0xff;
  layer.onIpv4(from, to, buildBuf, start, end);
}

export interface Events {
  log: string[];
  handler: TcpSocketHandler;
}

export function recorder(): Events {
  const log: string[] = [];
  return {
    log,
    handler: {
      onConnect: () => log.push("connect"),
      onReadable: () => log.push("readable"),
      onWritable: () => log.push("writable"),
      onError: (_s, code) => log.push(`error:${code}`),
      onClose: () => log.push("close"),
    },
  };
}

export interface Rig {
  clock: ManualClock;
  ip: FakeIp;
  tcp: TcpLayer;
  advance(ms: number): void;
}

export function rig(cfg: Partial<TcpLayerConfig> = {}, iss = 1000): Rig {
  const clock = new ManualClock(10_000);
  const ip = new FakeIp();
  const tcp = new TcpLayer({ ip, clock, rng: new SeededRng(1), issFn: () => iss, autotune: false, ...cfg });
  return {
    clock,
    ip,
    tcp,
    advance(ms: number) {
      clock.advance(ms);
      tcp.poll();
    },
  };
}

export const bytes = (n: number, seed = 1): Uint8Array => {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7) & 255;
  return b;
};

export const PEER_ISS = 5000;

/**
 * Active open from us to PEER:80, completing the handshake with the given peer options.
 * Returns the socket; ip.sent is cleared. Our ISS is `iss` (rig default 1000).
 */
export function establishActive(
  r: Rig,
  opts: { ts?: boolean; sack?: boolean; wscale?: number; mss?: number; window?: number; handler?: TcpSocketHandler } = {},
): TcpSocket {
  const s = r.tcp.connect(PEER, 80, { localPort: 4000, handler: opts.handler });
  const syn = r.ip.one();
  inject(r.tcp, {
    srcPort: 80,
    dstPort: 4000,
    seq: PEER_ISS,
    ack: syn.seq + 1,
    flags: SYN | ACK,
    window: opts.window ?? 65535,
    mss: opts.mss ?? 1460,
    wscale: opts.wscale,
    sackPermitted: opts.sack,
    ts: opts.ts ? [100, syn.ts ? syn.ts[0] : 0] : undefined,
  });
  r.ip.take();
  return s;
}

/** Passive open on port 80 from PEER:4000; returns the accepted socket. */
export function establishPassive(
  r: Rig,
  opts: { ts?: boolean; sack?: boolean; wscale?: number; mss?: number; window?: number; backlog?: number } = {},
): TcpSocket {
  const l = r.tcp.listen(80, { backlog: opts.backlog });
  inject(r.tcp, {
    srcPort: 4000,
    dstPort: 80,
    seq: PEER_ISS,
    flags: SYN,
    window: opts.window ?? 65535,
    mss: opts.mss ?? 1460,
    wscale: opts.wscale,
    sackPermitted: opts.sack,
    ts: opts.ts ? [100, 0] : undefined,
  });
  const synack = r.ip.one();
  inject(r.tcp, {
    srcPort: 4000,
    dstPort: 80,
    seq: PEER_ISS + 1,
    ack: synack.seq + 1,
    flags: ACK,
    window: opts.window ?? 65535,
    ts: opts.ts ? [101, synack.ts ? synack.ts[0] : 0] : undefined,
  });
  r.ip.take();
  const s = l.accept();
  if (s === null) throw new Error("no connection accepted");
  return s;
}
