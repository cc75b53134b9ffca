import { describe, expect, test } from "bun:test";
import { FieldError } from "../../src/controller/json-fields.ts";
import { applyNetworkPost, networkSettings } from "../../src/controller/network-json.ts";
import { parseRule } from "../../src/controller/rule-json.ts";
import { toHex } from "../../src/util/hex.ts";
import { encodeRules } from "../../src/vl2/rules.ts";
import { ruleFromJson } from "../../src/vl2/rules-json.ts";
import type { JsonValue } from "../../src/util/json.ts";

const NWID = "3bc65e2b50b151d2";
const entry = (r: Parameters<typeof encodeRules>[0][number]) => toHex(encodeRules([r]));

describe("an IP rule without /bits", () => {
  test("is refused in a POST with a message saying what it would have meant", () => {
    for (const [type, ip] of [["MATCH_IPV4_SOURCE", "10.0.0.1"], ["MATCH_IPV4_DEST", "10.0.0.1"], ["MATCH_IPV6_SOURCE", "fd00::1"], ["MATCH_IPV6_DEST", "fd00::1"]] as const) {
      const rules: JsonValue = [{ type, ip }, { type: "ACTION_DROP" }];
      expect(() => applyNetworkPost(null, { rules }, NWID, 1)).toThrow(FieldError);
      expect(() => applyNetworkPost(null, { rules }, NWID, 1)).toThrow(/rules\[0\]\.ip .*needs "\/bits".*\/0, which matches every address/);
      expect(() => applyNetworkPost(null, { capabilities: [{ id: 1, rules }] }, NWID, 1)).toThrow(/capabilities\[0\]\.rules\[0\]\.ip .*needs "\/bits"/);
    }
  });

  test("is read from a stored record as zerotier-one 1.14 reads it: /0", () => {
    const s = networkSettings({ id: NWID, rules: [{ type: "MATCH_IPV4_DEST", ip: "10.0.0.1", not: false, or: false }, { type: "MATCH_IPV6_SOURCE", ip: "fd00::1" }, { type: "ACTION_ACCEPT" }] });
    expect(s.rules.length).toBe(3);
    expect(entry(s.rules[0]!)).toBe("2005" + "0a000001" + "00");
    expect(entry(s.rules[1]!)).toBe("2111" + "fd000000000000000000000000000001" + "00");
    const caps = networkSettings({ id: NWID, capabilities: [{ id: 7, rules: [{ type: "MATCH_IPV4_SOURCE", ip: "10.0.0.1" }] }] }).capabilities;
    expect(caps.map((c) => c.rules.map(entry))).toEqual([["1f050a00000100"]]);
    // the VL2 codec's own (lenient) reading is the same one
    const r = ruleFromJson({ type: "MATCH_IPV4_DEST", ip: "10.0.0.1" });
    expect(r.ok && entry(r.value)).toBe("20050a00000100");
    expect(ruleFromJson({ type: "MATCH_IPV4_DEST", ip: "10.0.0.1" }, { strict: true }).ok).toBe(false);
  });

  test("with /bits, POST and stored readings agree and the stored form is what the reference writes", () => {
    const post = applyNetworkPost(null, { rules: [{ type: "MATCH_IPV4_DEST", ip: "10.0.0.1/32" }, { type: "MATCH_IPV6_SOURCE", ip: "fd00:0:0:0:0:0:0:0/8" }, { type: "ACTION_ACCEPT" }] }, NWID, 1);
    expect(post.rules).toEqual([
      { type: "MATCH_IPV4_DEST", ip: "10.0.0.1/32", not: false, or: false },
      { type: "MATCH_IPV6_SOURCE", ip: "fd00::/8", not: false, or: false },
      { type: "ACTION_ACCEPT", not: false, or: false },
    ]);
    const s = networkSettings(post);
    expect(s.rules.map(entry)).toEqual(["20050a00000120", "2111fd00000000000000000000000000000008", "0100"]);
    // what a GET returns is accepted again by POST, unchanged
    expect(applyNetworkPost(post, { rules: post.rules ?? null }, NWID, 2).rules).toEqual(post.rules);
    expect(parseRule({ type: "MATCH_IPV4_SOURCE", ip: "0.0.0.0/0" }, "r").type).toBe(31);
  });
});
