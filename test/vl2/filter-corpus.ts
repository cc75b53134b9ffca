/**
 * Deterministic cases for the differential test of frame filtering (main table, then
 * capabilities; TEE/WATCH/REDIRECT copies) against zerotier-one 1.14.1's own
 * Network::filterOutgoingPacket / filterIncomingPacket (fixtures/vl2/reference-filter-corpus.json).
 * Frames and main tables come from rules-corpus.ts; capability tables are drawn the same way.
 */
import { ByteWriter } from "../../src/util/bytes.ts";
import { SeededRng } from "../../src/util/random.ts";
import { encodeRules, type Rule } from "../../src/vl2/rules.ts";
import { type RuleCase, randomRule, ruleCase } from "./rules-corpus.ts";

export const FILTER_CASES = 3000;

export interface FilterCase {
  base: RuleCase;
  noTee: boolean;
  /** The other member: the sender (inbound) or the recipient (outbound, = ztDest). */
  peer: number;
  ourCaps: Uint8Array[];
  peerCaps: Uint8Array[];
}

function capTable(rng: SeededRng, c: RuleCase): Uint8Array {
  const rules: Rule[] = [];
  const n = 1 + (rng.u32() % 5);
  for (let i = 0; i < n; i++) rules.push(randomRule(rng, c));
  if (rng.u32() % 3 !== 0) rules.push({ type: 1, not: false, or: false });
  return encodeRules(rules);
}

export function filterCase(seed: number): FilterCase {
  const base = ruleCase(100000 + seed);
  const rng = new SeededRng(seed * 13 + 5);
  const ourCaps = Array.from({ length: rng.u32() % 4 }, () => capTable(rng, base));
  // one peer capability at most: 1.14 walks them in hash-table order, which is not ours to copy
  const peerCaps = Array.from({ length: rng.u32() % 2 }, () => capTable(rng, base));
  return { base, noTee: rng.u32() % 4 === 0, peer: base.inbound ? base.ztSource : base.ztDest, ourCaps, peerCaps };
}

/** The harness input format (see reference/filter-harness.cpp). */
export function encodeFilterCase(f: FilterCase, w: ByteWriter): void {
  const c = f.base;
  const u40 = (v: number) => w.u8(Math.floor(v / 0x100000000) & 0xff).u32(v >>> 0);
  const u48 = (v: number) => w.u16(Math.floor(v / 0x100000000) & 0xffff).u32(v >>> 0);
  w.u8(c.inbound ? 1 : 0).u8(f.noTee ? 1 : 0);
  u40(c.self);
  u40(f.peer);
  u40(c.ztDest);
  u48(c.macSource);
  u48(c.macDest);
  w.u16(c.etherType).u16(c.vlanId).u64(BigInt(c.flags & 0x8)).u32(c.random);
  w.u16(c.rules.length).bytes(c.rules);
  for (const caps of [f.ourCaps, f.peerCaps]) {
    w.u8(caps.length);
    for (const r of caps) w.u16(r.length).bytes(r);
  }
  w.u8(c.localTags.length);
  for (const [id, v] of c.localTags) w.u32(id).u32(v);
  w.u8(c.remoteTags.length);
  for (const [id, v] of c.remoteTags) w.u32(id).u32(v);
  w.u16(c.frame.length).bytes(c.frame);
}
