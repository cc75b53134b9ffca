/**
 * Deterministic rule tables × frames for the differential test of the rules engine against
 * zerotier-one 1.14.1's own _doZtFilter (results in fixtures/vl2/reference-rules-corpus.json).
 * Rules are drawn from every type (including unknown ones) with random NOT/OR bits and values
 * biased towards what the frame carries, so that matches actually happen.
 */
import { ByteWriter } from "../../src/util/bytes.ts";
import { SeededRng } from "../../src/util/random.ts";
import { rfc4193Address, sixPlaneAddress } from "../../src/vl2/managed-ipv6.ts";
import { encodeRules, type Rule } from "../../src/vl2/rules.ts";

export const CASES = 4000;
export const PEERS = [0x1111111111, 0x2222222222, 0x3333333333, 0x4444444444] as const;
const MACS = [0x02aabbccdd01, 0x02aabbccdd02, 0xffffffffffff, 0x01005e000001, 0x333300000001] as const;

export interface RuleCase {
  inbound: boolean;
  self: number;
  ztSource: number;
  ztDest: number;
  macSource: number;
  macDest: number;
  etherType: number;
  vlanId: number;
  flags: number;
  nwid: bigint;
  localTags: [number, number][];
  remoteTags: [number, number][];
  /** Things (type, 16 bytes) of our certificate of ownership and of the peer's. */
  localThings: [number, Uint8Array][];
  remoteThings: [number, Uint8Array][];
  /** Our static IPs (family, 16 bytes left-aligned, prefix bits). */
  staticIps: [4 | 6, Uint8Array, number][];
  random: number;
  rules: Uint8Array;
  frame: Uint8Array;
}

export const CORPUS_NWID = 0x3bc65e2b50b151d2n;

/** Things a CoO might list for this frame: its source IPs (IPv4, IPv6, ARP sender, NA target), MACs, junk. */
function things(rng: SeededRng, frame: Uint8Array, macSource: number, atLeast: number): [number, Uint8Array][] {
  const out: [number, Uint8Array][] = [];
  const n = atLeast + (rng.u32() % 3);
  for (let i = 0; i < n; i++) {
    const v = new Uint8Array(16);
    const kind = rng.u32() % 6;
    if (kind === 0) {
      v.set(frame.subarray(12, 16));
      out.push([2, v]);
    } else if (kind === 1) {
      v.set(frame.subarray(14, 18));
      out.push([2, v]);
    } else if (kind === 2) {
      v.set(frame.subarray(8, 24));
      out.push([3, v]);
    } else if (kind === 3) {
      v.set(frame.subarray(48, 64));
      out.push([3, v]);
    } else if (kind === 4) {
      for (let k = 5, m = macSource; k >= 0; k--, m = Math.floor(m / 256)) v[k] = m % 256;
      out.push([1, v]);
    } else {
      rng.fill(v);
      out.push([rng.u32() % 4, v]);
    }
  }
  return out;
}

function pick<T>(rng: SeededRng, xs: readonly T[]): T {
  return xs[rng.u32() % xs.length]!;
}

function frameFor(rng: SeededRng): { etherType: number; frame: Uint8Array } {
  const kind = rng.u32() % 10;
  const b = new Uint8Array(20 + 60 + (rng.u32() % 40));
  rng.fill(b);
  const ports = [22, 53, 80, 443, 5000, 0, 65535];
  const setPorts = (o: number) => {
    const sp = pick(rng, ports);
    const dp = pick(rng, ports);
    b[o] = sp >> 8;
    b[o + 1] = sp & 0xff;
    b[o + 2] = dp >> 8;
    b[o + 3] = dp & 0xff;
  };
  if (kind <= 3) {
    // IPv4 with TCP/UDP/ICMP/other, sometimes options, sometimes truncated
    const ihl = rng.u32() % 4 === 0 ? 6 + (rng.u32() % 3) : 5;
    b[0] = 0x40 | ihl;
    b[9] = pick(rng, [6, 17, 1, 0x84, 47]);
    b.set([10, 0, 0, rng.u32() % 4], 12);
    b.set([10, 0, rng.u32() % 2, rng.u32() % 4], 16);
    setPorts(ihl * 4);
    if (b[9] === 1) b[ihl * 4] = pick(rng, [0, 8, 3]);
    const cut = rng.u32() % 5 === 0 ? rng.u32() % b.length : b.length;
    return { etherType: 0x0800, frame: b.slice(0, cut) };
  }
  if (kind <= 6) {
    const v6 = new Uint8Array(40 + 8 + 40 + (rng.u32() % 20));
    rng.fill(v6);
    v6[0] = 0x60 | (v6[0]! & 0x0f);
    const ext = rng.u32() % 3 === 0;
    const proto = pick(rng, [6, 17, 58]);
    v6[6] = ext ? pick(rng, [0, 43, 60]) : proto;
    v6.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, rng.u32() % 4], 8);
    v6.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, rng.u32() % 4], 24);
    let p = 40;
    if (ext) {
      v6[40] = proto;
      v6[41] = 0;
      p = 48;
    }
    setPortsAt(v6, p, rng, ports);
    if (proto === 58) v6[p] = pick(rng, [0x87, 0x88, 128, 129]);
    const cut = rng.u32() % 6 === 0 ? rng.u32() % v6.length : v6.length;
    return { etherType: 0x86dd, frame: v6.slice(0, cut) };
  }
  if (kind === 7) {
    const arp = new Uint8Array(28 + (rng.u32() % 4));
    arp.set([0, 1, 8, 0, 6, 4, 0, 1]);
    arp.set([10, 0, 0, rng.u32() % 4], 14);
    arp.set([10, 0, 0, rng.u32() % 4], 24);
    return { etherType: 0x0806, frame: arp };
  }
  return { etherType: pick(rng, [0x88cc, 0x8100, 0x0800, 0x86dd]), frame: b.slice(0, rng.u32() % 30) };
}

function setPortsAt(b: Uint8Array, o: number, rng: SeededRng, ports: number[]): void {
  const sp = pick(rng, ports);
  const dp = pick(rng, ports);
  b[o] = sp >> 8;
  b[o + 1] = sp & 0xff;
  b[o + 2] = dp >> 8;
  b[o + 3] = dp & 0xff;
}

export function randomRule(rng: SeededRng, c: { etherType: number; frame: Uint8Array; macSource: number; macDest: number }): Rule {
  const f = { not: rng.u32() % 4 === 0, or: rng.u32() % 5 === 0 };
  const r = () => rng.u32();
  const fb = (i: number) => c.frame[i] ?? 0;
  const ip4 = (o: number) => (r() % 2 === 0 ? Uint8Array.of(fb(o), fb(o + 1), fb(o + 2), fb(o + 3)) : Uint8Array.of(10, 0, 0, 0));
  const ip6 = (o: number) => {
    const ip = new Uint8Array(16);
    for (let i = 0; i < 16; i++) ip[i] = r() % 2 === 0 ? fb(o + i) : 0;
    return ip;
  };
  const port = () => pick(rng, [0, 22, 53, 80, 443, 5000, 65535]);
  const t = pick(rng, [0, 1, 2, 3, 4, 5, 6, 9, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 37, 38, 39, 40, 40, 41, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 60]);
  switch (t) {
    case 0: case 1: case 5:
      return { type: t, not: false, or: false };
    case 6:
      return { type: 6, not: false, or: false, qosBucket: 0 };
    case 9:
      return { type: 9, not: false, or: false };
    case 2: case 3: case 4:
      return { type: t, not: false, or: false, address: pick(rng, PEERS), flags: 0, length: pick(rng, [0, 10, 1000]) };
    case 24: case 25:
      return { type: t, ...f, address: pick(rng, PEERS) };
    case 26:
      return { type: 26, ...f, vlanId: r() % 3 };
    case 27: case 28:
      return { type: t, ...f, value: r() % 2 };
    case 29: case 30:
      return { type: t, ...f, mac: pick(rng, [...MACS, t === 29 ? c.macSource : c.macDest]) };
    case 31: case 32:
      return { type: t, ...f, ip: ip4(t === 31 ? 12 : 16), prefixBits: pick(rng, [0, 8, 24, 30, 31, 32]) };
    case 33: case 34:
      return { type: t, ...f, ip: ip6(t === 33 ? 8 : 24), prefixBits: pick(rng, [0, 8, 64, 120, 127, 128]) };
    case 35:
      return { type: 35, ...f, mask: pick(rng, [0xff, 0xfc, 0]), low: r() % 64, high: 64 + (r() % 192) };
    case 36:
      return { type: 36, ...f, protocol: pick(rng, [6, 17, 1, 58, 0, 43]) };
    case 37:
      return { type: 37, ...f, etherType: r() % 2 === 0 ? c.etherType : pick(rng, [0x0800, 0x0806, 0x86dd]) };
    case 38:
      return { type: 38, ...f, icmpType: pick(rng, [0, 8, 3, 0x87, 128]), icmpCode: r() % 2, icmpFlags: r() % 2 };
    case 39: case 40: case 42: {
      const a = port();
      return { type: t, ...f, low: a, high: r() % 2 === 0 ? a : 65535 };
    }
    case 41:
      return { type: 41, ...f, characteristics: pick(rng, [0x8000000000000000n, 0x4000000000000000n, 0x2000000000000000n, 0x1000000000000000n, 0x0800000000000000n, 0x2n, 0x10n, 0x12n, 0x100n, 0x1n]) };
    case 43:
      return { type: 43, ...f, probability: pick(rng, [0, 0x7fffffff, 0xffffffff]) };
    case 44: case 45: case 46: case 47: case 48: case 49: case 50:
      return { type: t, ...f, tagId: 1 + (r() % 3), tagValue: r() % 4 };
    case 51: {
      const start = BigInt(r() % 4);
      return { type: 51, ...f, start, end: start + BigInt(r() % 300), index: r() % 50, format: pick(rng, [7, 15, 31, 0x87, 0x8f, 0x9f, 11, 63]) };
    }
    default:
      return { type: 60, ...f };
  }
}

export function ruleCase(seed: number): RuleCase {
  const rng = new SeededRng(seed * 7 + 1);
  const { etherType, frame } = frameFor(rng);
  const macSource = pick(rng, MACS);
  const macDest = pick(rng, MACS);
  const c = { etherType, frame, macSource, macDest };
  const rules: Rule[] = [];
  const n = 1 + (rng.u32() % 12);
  // every fourth case is about sender authentication: one characteristics match on the
  // ownership bits decides, and certificates of ownership are likely to cover the source
  const ownership = seed % 4 === 0;
  if (ownership) {
    const mask = pick(rng, [0x1000000000000000n, 0x0800000000000000n, 0x1800000000000000n]);
    rules.push({ type: 41, not: rng.u32() % 3 === 0, or: false, characteristics: mask }, { type: 1, not: false, or: false }, { type: 0, not: false, or: false });
  } else {
    for (let i = 0; i < n; i++) rules.push(randomRule(rng, c));
    // half the tables end in a decision, as real ones do
    if (rng.u32() % 2 === 0) rules.push({ type: rng.u32() % 2 === 0 ? 0 : 1, not: false, or: false });
  }
  const tags = (): [number, number][] => [1, 2, 3].filter(() => rng.u32() % 2 === 0).map((id) => [id, rng.u32() % 4]);
  const self = pick(rng, PEERS);
  const staticIps: [4 | 6, Uint8Array, number][] = [];
  if (rng.u32() % 2 === 0) staticIps.push([6, sixPlaneAddress(CORPUS_NWID, self).ip, 40]);
  if (rng.u32() % 2 === 0) staticIps.push([6, rfc4193Address(CORPUS_NWID, self).ip, 88]);
  if (rng.u32() % 2 === 0) staticIps.push([4, Uint8Array.of(10, 0, 0, 1), 24]);
  // IPv6 frames sometimes come from inside our managed prefixes (NDP emulation)
  if (etherType === 0x86dd && frame.length >= 24 && rng.u32() % 3 === 0) {
    const src = (rng.u32() % 2 === 0 ? sixPlaneAddress : rfc4193Address)(CORPUS_NWID, pick(rng, PEERS)).ip;
    frame.set(src.subarray(0, 16), 8);
  }
  return {
    inbound: rng.u32() % 2 === 0,
    self,
    ztSource: pick(rng, PEERS),
    ztDest: pick(rng, [...PEERS, 0]),
    macSource,
    macDest,
    etherType,
    vlanId: rng.u32() % 3,
    flags: (rng.u32() % 3 === 0 ? 0x8 : 0) | (rng.u32() % 2 === 0 ? 0x4 : 0),
    nwid: CORPUS_NWID,
    localTags: tags(),
    remoteTags: tags(),
    localThings: things(rng, frame, macSource, ownership ? 1 : 0),
    remoteThings: things(rng, frame, macSource, ownership ? 1 : 0),
    staticIps,
    random: pick(rng, [0, 0x7fffffff, 0x80000000, 0xffffffff]),
    rules: encodeRules(rules),
    frame,
  };
}

/** The harness input format (see reference/rules-harness.cpp). */
export function encodeRuleCase(c: RuleCase, w: ByteWriter): void {
  const u40 = (v: number) => w.u8(Math.floor(v / 0x100000000) & 0xff).u32(v >>> 0);
  const u48 = (v: number) => w.u16(Math.floor(v / 0x100000000) & 0xffff).u32(v >>> 0);
  w.u8(c.inbound ? 1 : 0);
  u40(c.self);
  u40(c.ztSource);
  u40(c.ztDest);
  u48(c.macSource);
  u48(c.macDest);
  w.u16(c.etherType).u16(c.vlanId).u64(BigInt(c.flags)).u64(c.nwid);
  w.u8(c.localTags.length);
  for (const [id, v] of c.localTags) w.u32(id).u32(v);
  w.u8(c.remoteTags.length);
  for (const [id, v] of c.remoteTags) w.u32(id).u32(v);
  for (const list of [c.localThings, c.remoteThings]) {
    w.u8(list.length);
    for (const [t, v] of list) w.u8(t).bytes(v);
  }
  w.u8(c.staticIps.length);
  for (const [fam, ip, bits] of c.staticIps) {
    const b = new Uint8Array(16);
    b.set(ip);
    w.u8(fam).bytes(b).u8(bits);
  }
  w.u32(c.random).u16(c.rules.length).bytes(c.rules).u16(c.frame.length).bytes(c.frame);
}
