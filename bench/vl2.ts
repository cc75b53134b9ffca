#!/usr/bin/env bun
/**
 * VL2 costs: the rules engine per frame (accept-all, a typical 1.14 "drop non-IP, allow SSH and
 * established TCP" table, and a worst case walking 100 rules), plus the control-plane operations a
 * member/controller does per config: parse + verify + assemble a real-sized config, issue one.
 * Heap growth per operation after a forced GC is reported as a check that filtering allocates nothing.
 */
import { ed25519PublicFromSeed, x25519PublicFromSecret } from "../src/crypto/c25519.ts";
import { SeededRng } from "../src/util/random.ts";
import { Identity } from "../src/vl1/identity.ts";
import { inetAddressFromString } from "../src/vl1/inet-address.ts";
import { ConfigAssembler, makeConfigChunks } from "../src/vl2/config-chunks.ts";
import { attachCredentials } from "../src/vl2/config-issue.ts";
import { encodeNetworkConfig, makeNetworkConfig, networkConfigFromBytes } from "../src/vl2/network-config.ts";
import { type FrameInfo, type RuleContext, RulesOutcome, evaluateRules } from "../src/vl2/rules-engine.ts";
import { FilterDecision, filterFrame } from "../src/vl2/rules-filter.ts";
import { ACCEPT_ALL, Characteristic, type Rule } from "../src/vl2/rules.ts";

const TARGET_MS = 600;

function measure(name: string, op: () => void, unit = "ops/s"): void {
  for (let i = 0; i < 500; i++) op();
  Bun.gc(true);
  const heap0 = process.memoryUsage().heapUsed;
  let ops = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < TARGET_MS) {
    for (let i = 0; i < 50; i++) op();
    ops += 50;
    t = performance.now();
  }
  const heap1 = process.memoryUsage().heapUsed;
  const rate = ops / ((t - t0) / 1000);
  console.log(`${name.padEnd(44)} ${rate.toFixed(0).padStart(10)} ${unit}   ${((t - t0) * 1000 / ops).toFixed(2).padStart(8)} µs/op   heap ${((heap1 - heap0) / ops).toFixed(1)} B/op`);
}

function identity(seed: number, address: number): Identity {
  const priv = new Uint8Array(64);
  new SeededRng(seed).fill(priv);
  const pub = new Uint8Array(64);
  pub.set(x25519PublicFromSecret(priv.subarray(0, 32)), 0);
  pub.set(ed25519PublicFromSeed(priv.subarray(32, 64)), 32);
  return Identity.fromParts(address, pub, priv);
}

// a TCP ACK segment 10.0.0.1:40000 -> 10.0.0.2:5201 carrying 1400 bytes
const frame = new Uint8Array(1460);
frame.set([0x45, 0, 0x05, 0xb4, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
frame.set([0x9c, 0x40, 0x14, 0x51, 0, 0, 0, 1, 0, 0, 0, 1, 0x50, 0x10], 20);
const info: FrameInfo = { inbound: true, ztSource: 0x1111111111, ztDest: 0x2222222222, macSource: 0x02aabbccdd01, macDest: 0x02aabbccdd02, etherType: 0x0800, vlanId: 0, frame, start: 0, end: frame.length };
const ctx: RuleContext = {
  self: 0x2222222222,
  networkFlags: 0,
  localTag: () => undefined,
  remoteTag: () => undefined,
  senderOwnsIp: () => false,
  senderOwnsMac: () => false,
  random: () => 0,
};
const out = new RulesOutcome();
const F = { not: false, or: false };
const typical: Rule[] = [
  { type: 37, not: true, or: false, etherType: 0x0800 },
  { type: 37, not: true, or: false, etherType: 0x0806 },
  { type: 37, not: true, or: false, etherType: 0x86dd },
  { type: 0, ...F },
  { type: 40, ...F, low: 22, high: 22 },
  { type: 1, ...F },
  { type: 36, ...F, protocol: 6 },
  { type: 41, ...F, characteristics: Characteristic.TCP_SYN },
  { type: 41, not: true, or: false, characteristics: Characteristic.TCP_ACK },
  { type: 0, ...F },
  { type: 1, ...F },
];
const long: Rule[] = [...Array.from({ length: 99 }, (_, i): Rule => ({ type: 40, ...F, low: 1000 + i, high: 1000 + i })), { type: 1, ...F }];
measure("rules: accept-all", () => evaluateRules(ACCEPT_ALL, info, ctx, out), "frames/s");
measure("rules: typical table (11 entries, TCP flags)", () => evaluateRules(typical, info, ctx, out), "frames/s");
measure("rules: 100 port matches then accept", () => evaluateRules(long, info, ctx, out), "frames/s");
const decision = new FilterDecision();
const sshCap: Rule[] = [{ type: 40, ...F, low: 22, high: 22 }, { type: 1, ...F }];
measure("filterFrame: no match, 2 capabilities, drop", () => filterFrame([{ type: 37, ...F, etherType: 0x0806 }, { type: 1, ...F }], [sshCap, sshCap], info, ctx, decision), "frames/s");

const NWID = 0x3bc65e2b50b151d2n;
const controller = identity(1, 0x3bc65e2b50);
const member = identity(2, 0x0102030405);
const base = makeNetworkConfig({
  networkId: NWID,
  issuedTo: member.address,
  timestamp: 1795900262521,
  credentialTimeMaxDelta: 1800000,
  revision: 1,
  flags: 2,
  multicastLimit: 32,
  name: "bench",
  staticIps: [inetAddressFromString("172.28.0.5/16")!],
  routes: [{ target: inetAddressFromString("172.28.0.0/16")!, via: null, flags: 0, metric: 0 }],
  rules: typical,
});
measure("controller: issue + encode + sign 1 chunk", () => {
  const nc = attachCredentials(base, member, controller);
  const e = encodeNetworkConfig(nc);
  if (e.ok) makeConfigChunks(NWID, e.value, controller, 1n);
}, "configs/s");
const enc = encodeNetworkConfig(attachCredentials(base, member, controller));
if (!enc.ok) throw new Error(enc.error);
const chunk = makeConfigChunks(NWID, enc.value, controller, 7n)[0]!;
const publicController = controller.publicOnly();
measure("member: verify + assemble + parse 1 chunk", () => {
  const a = new ConfigAssembler(NWID, member.address, () => publicController);
  a.accept(chunk, 0, chunk.length, { from: controller.address, packetId: 1n, legacyAllowed: false });
}, "configs/s");
measure("member: parse stored config text", () => networkConfigFromBytes(enc.value), "configs/s");
