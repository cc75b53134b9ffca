import { describe, expect, test } from "bun:test";
import type { RuleContext } from "../../src/vl2/rules-engine.ts";
import { FilterDecision, filterFrame } from "../../src/vl2/rules-filter.ts";
import { decodeRules, type Rule } from "../../src/vl2/rules.ts";
import { FILTER_CASES, filterCase } from "./filter-corpus.ts";
import { fixtureJson } from "./fixtures.ts";

/**
 * Differential test against zerotier-one 1.14.1's own Network::filterOutgoingPacket and
 * filterIncomingPacket: the network's table, then capabilities (ours outbound, the sender's
 * inbound), noTee, and every EXT_FRAME copy (TEE/WATCH/REDIRECT: destination, flag byte, length,
 * order). We must return what 1.14 returns and ask for exactly the copies it sent.
 */
const decisions = (fixtureJson("reference-filter-corpus.json") as { decisions: string[] }).decisions;

function rulesOf(b: Uint8Array): Rule[] {
  const r = decodeRules(b);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

describe("frame filtering against 1.14.1 (differential corpus)", () => {
  test(`${FILTER_CASES} cases: same verdict and the same copies`, () => {
    expect(decisions.length).toBe(FILTER_CASES);
    const d = new FilterDecision();
    const kinds = new Set<string>();
    for (let s = 0; s < FILTER_CASES; s++) {
      const f = filterCase(s);
      const c = f.base;
      const local = new Map(c.localTags);
      const remote = new Map(c.remoteTags);
      // outbound to no particular member (ztDest 0) there is no membership to take tags from
      const havePeer = c.inbound || c.ztDest !== 0;
      const ctx: RuleContext = {
        self: c.self,
        networkFlags: c.flags & 0x8,
        localTag: (id) => local.get(id),
        remoteTag: (id) => (havePeer ? remote.get(id) : undefined),
        senderOwnsIp: () => false,
        senderOwnsMac: () => false,
        random: () => c.random,
      };
      const frame = { inbound: c.inbound, ztSource: c.inbound ? f.peer : c.self, ztDest: c.ztDest, macSource: c.macSource, macDest: c.macDest, etherType: c.etherType, vlanId: c.vlanId, frame: c.frame, start: 0, end: c.frame.length };
      filterFrame(rulesOf(c.rules), (c.inbound ? f.peerCaps : f.ourCaps).map(rulesOf), frame, ctx, d, f.noTee);
      // 1.14 returns accept (0/1/2) inbound and "deliver" outbound; a redirect is never delivered locally
      const ret = c.inbound ? (d.redirectTo !== 0 ? 0 : d.accept) : d.deliver ? 1 : 0;
      let ours = `${ret}`;
      for (let i = 0; i < d.teeCount; i++) ours += ` ${d.tees[i]!.to.toString(16).padStart(10, "0")}:${d.tees[i]!.extFrameFlags.toString(16)}:${d.tees[i]!.length}`;
      if (d.redirectTo !== 0) ours += ` ${d.redirectTo.toString(16).padStart(10, "0")}:${d.redirectFlags.toString(16)}:${c.frame.length}`;
      expect(`#${s} ${ours}`).toBe(`#${s} ${decisions[s]}`);
      kinds.add(`${ret}/${ours.split(" ").length - 1}`);
    }
    // verdicts 0, 1, 2 with and without copies all occur
    for (const k of ["0/0", "1/0", "2/0", "0/1", "1/1"]) expect(kinds.has(k)).toBe(true);
  });
});
