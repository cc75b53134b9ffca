import { describe, expect, test } from "bun:test";
import { FieldError } from "../../src/controller/json-fields.ts";
import { parseRule, parseRules, storedRulesJson } from "../../src/controller/rule-json.ts";
import { toHex } from "../../src/util/hex.ts";
import { encodeRules, type Rule } from "../../src/vl2/rules.ts";

const hex = (r: Rule[]) => toHex(encodeRules(r));
/** The field bytes of one rule entry (after type and length). */
const data = (r: Rule) => encodeRules([r]).subarray(2);
const json = (r: Rule) => storedRulesJson([r])[0]!;

describe("rule JSON <-> wire entries (spec 7.7)", () => {
  test("accept-all is the two bytes 01 00 and renders as the reference stores it", () => {
    const r = parseRule({ type: "ACTION_ACCEPT" }, "r");
    expect(hex([r])).toBe("0100");
    expect(json(r)).toEqual({ type: "ACTION_ACCEPT", not: false, or: false });
    expect(json(parseRule({ type: "MATCH_ETHERTYPE", etherType: 2048 }, "r"))).toEqual({ type: "MATCH_ETHERTYPE", etherType: 2048, not: false, or: false });
  });

  test("typical drop-non-IPv4/ARP table encodes type, NOT/OR bits and fields", () => {
    const rules = parseRules(
      [
        { type: "MATCH_ETHERTYPE", etherType: 2048, not: true },
        { type: "MATCH_ETHERTYPE", etherType: 2054, not: true },
        { type: "ACTION_DROP" },
        { type: "MATCH_IPV4_DEST", ip: "10.1.0.0/16", or: true },
        { type: "MATCH_IP_DEST_PORT_RANGE", start: 22, end: 22 },
        { type: "ACTION_ACCEPT" },
      ],
      "rules",
      1024,
    );
    expect(hex(rules)).toBe("a5020800" + "a5020806" + "0000" + "60050a01000010" + "2804" + "00160016" + "0100");
  });

  test("every field kind encodes to the documented length", () => {
    const cases: [unknown, number, number][] = [
      [{ type: "ACTION_TEE", address: "0123456789", flags: 1, length: 64 }, 2, 14],
      [{ type: "ACTION_REDIRECT", address: "0123456789" }, 4, 14],
      [{ type: "MATCH_SOURCE_ZEROTIER_ADDRESS", zt: "abcdef0123" }, 24, 5],
      [{ type: "MATCH_VLAN_ID", vlanId: 5 }, 26, 2],
      [{ type: "MATCH_MAC_DEST", mac: "02:00:00:00:00:01" }, 30, 6],
      [{ type: "MATCH_IPV6_SOURCE", ip: "fd00::/8" }, 33, 17],
      [{ type: "MATCH_IP_TOS", mask: 252, start: 0, end: 10 }, 35, 3],
      [{ type: "MATCH_ICMP", icmpType: 8, icmpCode: null }, 38, 3],
      [{ type: "MATCH_CHARACTERISTICS", mask: "8000000000000002" }, 41, 8],
      [{ type: "MATCH_FRAME_SIZE_RANGE", start: 0, end: 1500 }, 42, 4],
      [{ type: "MATCH_RANDOM", probability: 2147483648 }, 43, 4],
      [{ type: "MATCH_TAGS_EQUAL", id: 1, value: 2 }, 48, 8],
      [{ type: "INTEGER_RANGE", start: 10, end: 20, idx: 14, bits: 16 }, 51, 19],
    ];
    for (const [j, code, len] of cases) {
      const r = parseRule(j as never, "r");
      const entry = encodeRules([r]);
      expect(entry[0]! & 0x3f).toBe(code);
      expect(entry[1]).toBe(len);
      expect(entry.length).toBe(2 + len);
      // Rendering is stable: parsing the rendered JSON yields the same bytes.
      expect(hex([parseRule(storedRulesJson([r])[0]!, "r")])).toBe(toHex(entry));
    }
  });

  test("MATCH_CHARACTERISTICS and INTEGER_RANGE keep 64-bit values exact", () => {
    const c = parseRule({ type: "MATCH_CHARACTERISTICS", mask: "f000000000000fff" }, "r");
    expect(toHex(data(c))).toBe("f000000000000fff");
    expect(json(c).mask).toBe("f000000000000fff");
    const i = parseRule({ type: "INTEGER_RANGE", start: "ffffffff00000000", end: "ffffffff00000010", idx: 2, bits: 32, little: true }, "r");
    expect(toHex(data(i))).toBe("ffffffff00000000" + "ffffffff00000010" + "0002" + "9f");
  });

  test("ICMP code present sets the code-must-match flag", () => {
    expect(toHex(data(parseRule({ type: "MATCH_ICMP", icmpType: 3, icmpCode: 1 }, "r")))).toBe("030101");
    expect(toHex(data(parseRule({ type: "MATCH_ICMP", icmpType: 3 }, "r")))).toBe("030000");
  });

  test("bad rules are FieldErrors naming the field", () => {
    const bad: [unknown, RegExp][] = [
      [{ type: "MATCH_NOPE" }, /not a known rule type/],
      [{ type: 5 }, /type must be a string/],
      ["ACTION_DROP", /must be an object/],
      [{ type: "MATCH_ETHERTYPE", etherType: 70000 }, /etherType must be between 0 and 65535/],
      [{ type: "MATCH_ETHERTYPE", etherType: "2048" }, /etherType must be an integer/],
      [{ type: "MATCH_IPV4_SOURCE", ip: "10.0.0.0/40" }, /IPv4/],
      [{ type: "MATCH_IPV4_SOURCE", ip: "fd00::/8" }, /IPv4/],
      [{ type: "MATCH_MAC_SOURCE", mac: "zz" }, /MAC/],
      [{ type: "MATCH_IP_DEST_PORT_RANGE", start: 10, end: 5 }, /end must not be below start/],
      [{ type: "ACTION_TEE", address: "123" }, /10-digit hex/],
      [{ type: "ACTION_DROP", not: "yes" }, /not must be true or false/],
    ];
    for (const [json, msg] of bad) {
      expect(() => parseRule(json as never, "rules[0]")).toThrow(FieldError);
      expect(() => parseRule(json as never, "rules[0]")).toThrow(msg);
    }
    expect(() => parseRules(new Array(3).fill({ type: "ACTION_DROP" }), "rules", 2)).toThrow(/at most 2 rules/);
  });
});
