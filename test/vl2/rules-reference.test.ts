import { describe, expect, test } from "bun:test";
import { signCoo } from "../../src/vl2/credentials/certificate-of-ownership.ts";
import { Membership } from "../../src/vl2/membership.ts";
import { makeNetworkConfig } from "../../src/vl2/network-config.ts";
import { NetworkRuleContext } from "../../src/vl2/rule-context.ts";
import { type RuleContext, RulesOutcome, evaluateRules } from "../../src/vl2/rules-engine.ts";
import { decodeRules } from "../../src/vl2/rules.ts";
import { controllerIdentity, controllerSecret, fixtureJson } from "./fixtures.ts";
import { CASES, type RuleCase, ruleCase } from "./rules-corpus.ts";

/**
 * Differential test against zerotier-one 1.14.1's own rules engine (_doZtFilter): random tables
 * over every rule type with NOT/OR bits, random IPv4/IPv6/ARP/other frames (with extension
 * headers, options, truncations), tags on both sides, both directions. Every outcome field must
 * equal what 1.14 computed: result, destination after REDIRECT, TEE/WATCH target, length and kind,
 * and PRIORITY bucket. Sender authentication goes through our Membership and NetworkRuleContext
 * (certificates of ownership on both sides, NDP emulation of managed IPv6 prefixes).
 */
const outcomes = (fixtureJson("reference-rules-corpus.json") as { outcomes: string[] }).outcomes;
const hex = (v: number, bytes: number) => v.toString(16).padStart(bytes * 2, "0");
const controller = controllerSecret();

/** Our side of a case: config with our CoO and static IPs, the peer's Membership holding its CoO. */
function contextFor(c: RuleCase): RuleContext {
  const coo = (issuedTo: number, things: [number, Uint8Array][]) =>
    signCoo({ networkId: c.nwid, timestamp: 0, flags: 0n, id: 1, things: things.map(([type, value]) => ({ type, value })), issuedTo }, controller);
  const nconf = makeNetworkConfig({
    networkId: c.nwid,
    issuedTo: c.self,
    flags: c.flags,
    certificatesOfOwnership: c.localThings.length > 0 ? [coo(c.self, c.localThings)] : [],
    staticIps: c.staticIps.map(([family, ip, port]) => (family === 4 ? { family, ip: ip.subarray(0, 4), port } : { family, ip, port })),
  });
  const peer = new Membership();
  if (c.remoteThings.length > 0) expect(peer.addCoo(nconf, coo(c.ztSource, c.remoteThings), controllerIdentity()).kind).toBe("accepted-new");
  const owners = new NetworkRuleContext(c.self, nconf, { u32: () => c.random, fill: () => {} }).use(nconf, peer, c.inbound);
  const local = new Map(c.localTags);
  const remote = new Map(c.remoteTags);
  return {
    self: c.self,
    networkFlags: c.flags,
    localTag: (id) => local.get(id),
    remoteTag: (id) => remote.get(id),
    senderOwnsIp: (b, o, l) => owners.senderOwnsIp(b, o, l),
    senderOwnsMac: (m) => owners.senderOwnsMac(m),
    random: () => owners.random(),
  };
}

describe("rules engine against 1.14.1 (differential corpus)", () => {
  test(`${CASES} random tables × frames give 1.14's outcome`, () => {
    expect(outcomes.length).toBe(CASES);
    const out = new RulesOutcome();
    const byResult = new Map<string, number>();
    for (let s = 0; s < CASES; s++) {
      const c = ruleCase(s);
      const rules = decodeRules(c.rules);
      if (!rules.ok) throw new Error(`case ${s}: ${rules.error}`);
      const ctx = contextFor(c);
      out.qosBucket = 0;
      const r = evaluateRules(rules.value, { ...c, frame: c.frame, start: 0, end: c.frame.length }, ctx, out);
      const ours = hex(r, 1) + hex(out.ztDest, 5) + hex(out.ccTo, 5) + hex(out.ccLength, 2) + hex(out.ccWatch ? 1 : 0, 1) + hex(out.qosBucket, 1);
      expect(`#${s} ${ours}`).toBe(`#${s} ${outcomes[s]}`);
      byResult.set(ours.slice(0, 2), (byResult.get(ours.slice(0, 2)) ?? 0) + 1);
    }
    // the corpus exercises every result kind
    for (const k of ["00", "01", "02", "03", "04"]) expect(byResult.get(k) ?? 0).toBeGreaterThan(20);
  });
});
