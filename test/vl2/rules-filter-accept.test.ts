import { describe, expect, test } from "bun:test";
import { FilterResult, type RuleContext, RulesOutcome, evaluateRules } from "../../src/vl2/rules-engine.ts";
import { FilterDecision, acceptsEveryFrame, filterFrame } from "../../src/vl2/rules-filter.ts";
import { decodeRules, type Rule, RuleType } from "../../src/vl2/rules.ts";
import { FILTER_CASES, filterCase } from "./filter-corpus.ts";

/**
 * filterFrame decides a table that accepts at its first rule without evaluating it: the decision
 * must be the one the evaluation gives (no copies, no redirect, no capability, default priority),
 * whatever follows in the table and whatever capabilities the sender holds.
 */
function rulesOf(b: Uint8Array): Rule[] {
  const r = decodeRules(b);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

const ACCEPT: Rule = rulesOf(new Uint8Array([RuleType.ACTION_ACCEPT, 0]))[0]!;

describe("a table that accepts every frame", () => {
  test("is told apart from tables that decide otherwise", () => {
    expect(acceptsEveryFrame([ACCEPT])).toBe(true);
    expect(acceptsEveryFrame([])).toBe(false);
    const drop = rulesOf(new Uint8Array([RuleType.ACTION_DROP, 0]));
    expect(acceptsEveryFrame([...drop, ACCEPT])).toBe(false);
  });

  test("corpus frames and tables behind a leading accept: the evaluation's decision", () => {
    const d = new FilterDecision();
    const out = new RulesOutcome();
    let withTail = 0;
    for (let s = 0; s < FILTER_CASES; s += 7) {
      const f = filterCase(s);
      const c = f.base;
      const ctx: RuleContext = {
        self: c.self,
        networkFlags: c.flags & 0x8,
        localTag: () => undefined,
        remoteTag: () => undefined,
        senderOwnsIp: () => false,
        senderOwnsMac: () => false,
        random: () => c.random,
      };
      const frame = { inbound: c.inbound, ztSource: c.inbound ? f.peer : c.self, ztDest: c.ztDest, macSource: c.macSource, macDest: c.macDest, etherType: c.etherType, vlanId: c.vlanId, frame: c.frame, start: 0, end: c.frame.length };
      const table = [ACCEPT, ...rulesOf(c.rules)];
      if (table.length > 1) withTail++;
      // the evaluation itself accepts at rule 0 with no copy and the frame's own destination
      expect(evaluateRules(table, frame, ctx, out)).toBe(FilterResult.ACCEPT);
      expect([out.ccTo, out.ztDest, out.qosBucket]).toEqual([0, c.ztDest, 4]);
      filterFrame(table, (c.inbound ? f.peerCaps : f.ourCaps).map(rulesOf), frame, ctx, d, f.noTee);
      expect({ accept: d.accept, deliver: d.deliver, redirectTo: d.redirectTo, tees: d.teeCount, capability: d.capability, qos: d.qosBucket, why: d.dropReason }).toEqual({
        accept: 1,
        deliver: true,
        redirectTo: 0,
        tees: 0,
        capability: -1,
        qos: 4,
        why: "",
      });
      expect([d.main.result, d.main.ztDest, d.main.ccTo]).toEqual([FilterResult.ACCEPT, c.ztDest, 0]);
    }
    expect(withTail).toBeGreaterThan(100);
  });
});
