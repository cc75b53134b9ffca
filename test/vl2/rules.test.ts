import { describe, expect, test } from "bun:test";
import { toHex } from "../../src/util/hex.ts";
import { SeededRng } from "../../src/util/random.ts";
import { MAX_NETWORK_RULES, type Rule, decodeRules, encodeRules } from "../../src/vl2/rules.ts";
import { type RuleJson, ruleFromJson, ruleToJson, rulesFromJson } from "../../src/vl2/rules-json.ts";
import { fixtureJson } from "./fixtures.ts";

const F = { not: false, or: false };

/** One of every type, with the bytes 1.14's serializeRules writes for it. */
const EVERY: [Rule, string][] = [
  [{ type: 0, ...F }, "0000"],
  [{ type: 1, ...F }, "0100"],
  [{ type: 2, ...F, address: 0x1122334455, flags: 7, length: 64 }, "020e" + "0000001122334455" + "00000007" + "0040"],
  [{ type: 3, ...F, address: 0x1122334455, flags: 0, length: 0 }, "030e" + "0000001122334455" + "00000000" + "0000"],
  [{ type: 4, ...F, address: 0x1122334455, flags: 0, length: 0 }, "040e" + "0000001122334455" + "00000000" + "0000"],
  [{ type: 5, ...F }, "0500"],
  [{ type: 6, ...F, qosBucket: 0 }, "0600"],
  [{ type: 24, ...F, address: 0xaabbccddee }, "1805aabbccddee"],
  [{ type: 25, ...F, address: 0x0102030405 }, "19050102030405"],
  [{ type: 26, ...F, vlanId: 100 }, "1a020064"],
  [{ type: 27, ...F, value: 3 }, "1b0103"],
  [{ type: 28, ...F, value: 1 }, "1c0101"],
  [{ type: 29, ...F, mac: 0x02aabbccddee }, "1d0602aabbccddee"],
  [{ type: 30, ...F, mac: 0xffffffffffff }, "1e06ffffffffffff"],
  [{ type: 31, ...F, ip: Uint8Array.of(10, 0, 0, 0), prefixBits: 8 }, "1f050a00000008"],
  [{ type: 32, ...F, ip: Uint8Array.of(192, 168, 1, 1), prefixBits: 32 }, "2005c0a8010120"],
  [{ type: 33, ...F, ip: new Uint8Array(16).fill(0xfd, 0, 1), prefixBits: 8 }, "2111fd00000000000000000000000000000008"],
  [{ type: 34, ...F, ip: new Uint8Array(16), prefixBits: 0 }, "22110000000000000000000000000000000000"],
  [{ type: 35, ...F, mask: 0xfc, low: 0x20, high: 0x40 }, "2303fc2040"],
  [{ type: 36, ...F, protocol: 6 }, "240106"],
  [{ type: 37, ...F, etherType: 0x0806 }, "25020806"],
  [{ type: 38, ...F, icmpType: 8, icmpCode: 0, icmpFlags: 1 }, "2603080001"],
  [{ type: 39, ...F, low: 1024, high: 65535 }, "27040400ffff"],
  [{ type: 40, ...F, low: 22, high: 22 }, "280400160016"],
  [{ type: 41, ...F, characteristics: 0x8000000000000002n }, "29088000000000000002"],
  [{ type: 42, ...F, low: 64, high: 1500 }, "2a04004005dc"],
  [{ type: 43, ...F, probability: 0x7fffffff }, "2b047fffffff"],
  ...([44, 45, 46, 47, 48, 49, 50] as const).map((t): [Rule, string] => [{ type: t, ...F, tagId: 100, tagValue: 5 }, `${t.toString(16)}080000006400000005`]),
  [{ type: 51, ...F, start: 100n, end: 200n, index: 14, format: 0x8f }, "3313" + "0000000000000064" + "00000000000000c8" + "000e" + "8f"],
];

describe("rule serialization", () => {
  test("every action and match type encodes as 1.14 writes it and decodes back", () => {
    for (const [rule, hex] of EVERY) {
      expect(toHex(encodeRules([rule]))).toBe(hex);
      const back = decodeRules(encodeRules([rule]));
      expect(back.ok && back.value).toEqual([rule]);
    }
    const all = EVERY.map(([r]) => r);
    const d = decodeRules(encodeRules(all));
    expect(d.ok && d.value).toEqual(all);
  });

  test("NOT (0x80) and OR (0x40) live in the type byte", () => {
    const r: Rule = { type: 37, not: true, or: true, etherType: 0x800 };
    expect(toHex(encodeRules([r]))).toBe("e5020800");
    const d = decodeRules(Uint8Array.of(0xe5, 2, 8, 0));
    expect(d.ok && d.value[0]).toEqual(r);
  });

  test("unknown types are skipped by their length and written back empty (as 1.14 does)", () => {
    const d = decodeRules(Uint8Array.of(0x3c, 3, 1, 2, 3, 0x01, 0x00));
    expect(d.ok && d.value).toEqual([{ type: 60, ...F }, { type: 1, ...F }]);
    expect(d.ok && toHex(encodeRules(d.value))).toBe("3c000100");
  });

  test("a longer field than needed is accepted (forward compatible); a shorter one with nothing after it fails (1.14 reads on past it)", () => {
    const long = decodeRules(Uint8Array.of(0x25, 3, 8, 0, 9));
    expect(long.ok && long.value).toEqual([{ type: 37, ...F, etherType: 0x800 }]);
    const short = decodeRules(Uint8Array.of(0x25, 1, 8));
    expect(!short.ok && short.error).toContain("needs 2");
  });

  test("integer range keeps 1.14's 32-bit delta between start and end", () => {
    const d = decodeRules(Uint8Array.from(Buffer.from("3313" + "0000000000000001" + "0000000200000003" + "0000" + "07", "hex")));
    expect(d.ok && d.value[0]).toEqual({ type: 51, ...F, start: 1n, end: 3n, index: 0, format: 7 });
  });

  test(`at most ${MAX_NETWORK_RULES} rules; random bytes never throw`, () => {
    const many = new Uint8Array((MAX_NETWORK_RULES + 1) * 2).fill(0);
    for (let i = 0; i < many.length; i += 2) many[i] = 1;
    const r = decodeRules(many);
    expect(!r.ok && r.error).toContain(`more than ${MAX_NETWORK_RULES}`);
    const rng = new SeededRng(99);
    for (let i = 0; i < 2000; i++) {
      const b = new Uint8Array(rng.u32() % 64);
      rng.fill(b);
      const x = decodeRules(b);
      if (x.ok) expect(decodeRules(encodeRules(x.value)).ok).toBe(true);
      else expect(x.error).toContain("rules");
    }
  });
});

describe("controller JSON rules", () => {
  test("every type renders and parses back to the same rule (PRIORITY has no JSON form in 1.14)", () => {
    for (const [rule] of EVERY) {
      const j = ruleToJson(rule);
      if (rule.type === 6) {
        expect(j).toBeNull();
        continue;
      }
      const back = ruleFromJson(JSON.parse(JSON.stringify(j)));
      if (!back.ok) throw new Error(`${JSON.stringify(j)}: ${back.error}`);
      expect(back.value).toEqual(rule);
    }
  });

  test("rendering follows 1.14: actions without not/or, matches with them", () => {
    expect(ruleToJson({ type: 1, not: false, or: false })).toEqual({ type: "ACTION_ACCEPT" });
    expect(ruleToJson({ type: 37, not: true, or: false, etherType: 2048 })).toEqual({ type: "MATCH_ETHERTYPE", etherType: 2048, not: true, or: false });
    expect(ruleToJson({ type: 31, not: false, or: false, ip: Uint8Array.of(10, 0, 0, 0), prefixBits: 8 })!.ip).toBe("10.0.0.0/8");
    expect(ruleToJson({ type: 38, not: false, or: false, icmpType: 8, icmpCode: 0, icmpFlags: 0 })!.icmpCode).toBeNull();
  });

  test("the default network rules from the real controller JSON", () => {
    const net = fixtureJson("controller-network.json") as { rules: unknown };
    const r = rulesFromJson(net.rules);
    expect(r.ok && r.value).toEqual([{ type: 1, not: false, or: false }]);
  });

  test("typical rules: drop non-IPv4/ARP/IPv6, port ranges with default end", () => {
    const r = rulesFromJson([
      { type: "MATCH_ETHERTYPE", etherType: 2048, not: true },
      { type: "MATCH_ETHERTYPE", etherType: 2054, not: true },
      { type: "MATCH_ETHERTYPE", etherType: 34525, not: true },
      { type: "ACTION_DROP" },
      { type: "MATCH_IP_DEST_PORT_RANGE", start: 22 },
      { type: "MATCH_IPV4_SOURCE", ip: "10.1.0.0/16" },
      { type: "MATCH_CHARACTERISTICS", mask: "0000000000000002" },
      { type: "MATCH_TAGS_EQUAL", id: 1000, value: 1 },
      { type: "ACTION_ACCEPT" },
    ]);
    if (!r.ok) throw new Error(r.error);
    expect(toHex(encodeRules(r.value))).toBe("a5020800a5020806a50286dd0000" + "280400160016" + "1f050a01000010" + "29080000000000000002" + "3008000003e800000001" + "0100");
  });

  test("bad JSON rules are errors naming the field", () => {
    const cases: [unknown, string][] = [
      ["x", "object"],
      [{ type: 5 }, "type must be a string"],
      [{ type: "MATCH_NOPE" }, "unknown rule type"],
      [{ type: "MATCH_ETHERTYPE", etherType: 70000 }, "etherType"],
      [{ type: "MATCH_ETHERTYPE", etherType: -1 }, "etherType"],
      [{ type: "MATCH_ETHERTYPE", etherType: 1.5 }, "etherType"],
      [{ type: "MATCH_IPV4_SOURCE", ip: "fd00::1/8" }, "IPv4"],
      [{ type: "MATCH_MAC_SOURCE", mac: "zz" }, "mac"],
      [{ type: "ACTION_TEE", address: "xyz" }, "address"],
      [{ type: "MATCH_ETHERTYPE", etherType: 1, not: "yes" }, "not must be a boolean"],
      [{ type: "INTEGER_RANGE", start: 10, end: 5 }, "end"],
    ];
    for (const [json, reason] of cases) {
      const r = ruleFromJson(json);
      expect(!r.ok && r.error).toContain(reason);
    }
    expect(rulesFromJson({}).ok).toBe(false);
    const idx = rulesFromJson([{ type: "ACTION_ACCEPT" }, { type: "?" }]);
    expect(!idx.ok && idx.error).toContain("rules[1]");
  });
});

describe("strict reading of JSON rules (controller API input)", () => {
  test("refuses what 1.14 would read but silently change; lenient reading takes it as 1.14 does", () => {
    const cases: [unknown, string, string][] = [
      // [rule, part of the strict error, lenient entry bytes]
      [{ type: "MATCH_IPV4_SOURCE", ip: "10.0.0.1" }, 'needs "/bits"', "1f050a00000100"],
      [{ type: "MATCH_IPV6_DEST", ip: "fd00::1" }, 'needs "/bits"', "2211fd00000000000000000000000000000100"],
      [{ type: "MATCH_IPV4_DEST", ip: "10.0.0.0/40" }, "at most 32 bits", "20050a00000020"],
      [{ type: "MATCH_ETHERTYPE", etherType: "2048" }, "etherType must be an integer", "25020800"],
      [{ type: "MATCH_SOURCE_ZEROTIER_ADDRESS", zt: "123" }, "zt must be a 10-digit", "18050000000123"],
      [{ type: "MATCH_IP_DEST_PORT_RANGE", start: 10, end: 5 }, "end must not be below start", "2804000a0005"],
      [{ type: "MATCH_MAC_DEST", mac: "02:00:00:00:00:01!" }, "mac must be a MAC", "1e06020000000001"],
    ];
    for (const [json, reason, bytes] of cases) {
      const strict = ruleFromJson(json, { strict: true, path: "rules[7]" });
      expect(!strict.ok && strict.error).toContain(reason);
      expect(!strict.ok && strict.error).toStartWith("rules[7].");
      const lenient = ruleFromJson(json);
      if (!lenient.ok) throw new Error(lenient.error);
      expect(toHex(encodeRules([lenient.value]))).toBe(bytes);
    }
  });

  test("accepts what ruleToJson writes (the reference's rendering)", () => {
    const rendered: RuleJson[] = [
      { type: "MATCH_IPV4_SOURCE", ip: "10.0.0.1/32", not: false, or: false },
      { type: "MATCH_IPV6_SOURCE", ip: "fd00::/8", not: true, or: false },
      { type: "MATCH_MAC_SOURCE", mac: "02:00:00:00:00:01", not: false, or: true },
      { type: "INTEGER_RANGE", start: "0000000000000010", end: "0000000000000020", idx: 3, little: false, bits: 8, not: false, or: false },
      { type: "ACTION_TEE", address: "0123456789", flags: 0, length: 64 },
    ];
    for (const json of rendered) {
      const r = ruleFromJson(json, { strict: true });
      if (!r.ok) throw new Error(r.error);
      expect(ruleToJson(r.value)).toEqual(json);
    }
  });
});
