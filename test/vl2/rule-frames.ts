/** Hand-built Ethernet payloads (no Ethernet header) and a configurable rule context for rules tests. */
import type { FrameInfo, RuleContext } from "../../src/vl2/rules-engine.ts";
import type { Mac } from "../../src/vl2/mac.ts";

export const A = 0x1111111111;
export const B = 0x2222222222;
export const SELF = 0x3333333333;
export const C = 0x4444444444;
export const MAC_A: Mac = 0x02aabbccdd01;
export const MAC_B: Mac = 0x02aabbccdd02;

export function ipv4(proto: number, src: number[], dst: number[], l4: number[], tos = 0): Uint8Array {
  const b = new Uint8Array(20 + l4.length);
  b[0] = 0x45;
  b[1] = tos;
  b[2] = b.length >> 8;
  b[3] = b.length & 0xff;
  b[8] = 64;
  b[9] = proto;
  b.set(src, 12);
  b.set(dst, 16);
  b.set(l4, 20);
  return b;
}

/** TCP header: ports, flags byte (low 8 bits) and the NS bit in the high nibble's low bit. */
export function tcp(sport: number, dport: number, flags: number): number[] {
  const h = new Array<number>(20).fill(0);
  h[0] = sport >> 8;
  h[1] = sport & 0xff;
  h[2] = dport >> 8;
  h[3] = dport & 0xff;
  h[12] = 0x50 | ((flags >> 8) & 0x01);
  h[13] = flags & 0xff;
  return h;
}

export function udp(sport: number, dport: number): number[] {
  return [sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, 0, 8, 0, 0];
}

export function ipv6(next: number, src: Uint8Array, dst: Uint8Array, payload: number[], trafficClass = 0): Uint8Array {
  const b = new Uint8Array(40 + payload.length);
  b[0] = 0x60 | (trafficClass >> 4);
  b[1] = (trafficClass & 0x0f) << 4;
  b[4] = payload.length >> 8;
  b[5] = payload.length & 0xff;
  b[6] = next;
  b[7] = 64;
  b.set(src, 8);
  b.set(dst, 24);
  b.set(payload, 40);
  return b;
}

export function v6(text: string): Uint8Array {
  const [head, tail] = text.split("::") as [string, string | undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const words = [...h, ...new Array<string>(8 - h.length - t.length).fill("0"), ...t].map((w) => parseInt(w, 16));
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

export function arpRequest(senderIp: number[], targetIp: number[]): Uint8Array {
  const b = new Uint8Array(28);
  b.set([0, 1, 8, 0, 6, 4, 0, 1], 0);
  b.set([2, 0xaa, 0xbb, 0xcc, 0xdd, 1], 8);
  b.set(senderIp, 14);
  b.set(targetIp, 24);
  return b;
}

export function frameInfo(payload: Uint8Array, etherType: number, over: Partial<FrameInfo> = {}): FrameInfo {
  return { inbound: false, ztSource: A, ztDest: B, macSource: MAC_A, macDest: MAC_B, etherType, vlanId: 0, frame: payload, start: 0, end: payload.length, ...over };
}

export interface TestContext extends RuleContext {
  localTags: Map<number, number>;
  remoteTags: Map<number, number>;
  ownedIps: string[];
  ownedMacs: Mac[];
  nextRandom: number;
}

export function context(over: Partial<{ networkFlags: number }> = {}): TestContext {
  const ctx: TestContext = {
    self: SELF,
    networkFlags: over.networkFlags ?? 0,
    localTags: new Map(),
    remoteTags: new Map(),
    ownedIps: [],
    ownedMacs: [],
    nextRandom: 0,
    localTag: (id) => ctx.localTags.get(id),
    remoteTag: (id) => ctx.remoteTags.get(id),
    senderOwnsIp: (buf, off, len) => ctx.ownedIps.includes(Buffer.from(buf.subarray(off, off + len)).toString("hex")),
    senderOwnsMac: (mac) => ctx.ownedMacs.includes(mac),
    random: () => ctx.nextRandom,
  };
  return ctx;
}
