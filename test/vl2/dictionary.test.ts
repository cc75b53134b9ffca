import { describe, expect, test } from "bun:test";
import { Dictionary, NETWORK_CONFIG_DICT_CAPACITY, REQUEST_METADATA_DICT_CAPACITY } from "../../src/vl2/dictionary.ts";
import { toHex } from "../../src/util/hex.ts";
import { STORED_CONFIGS, decodedEntries, fixtureBytes } from "./fixtures.ts";

const enc = new TextEncoder();
const parse = (s: string | Uint8Array, cap = 4096) => Dictionary.parse(typeof s === "string" ? enc.encode(s) : s, cap);

describe("Dictionary", () => {
  for (const [label, dir, conf, decoded] of STORED_CONFIGS) {
    test(`${label}: every entry decodes to the value in decoded.json, and re-serializes byte for byte`, () => {
      const bytes = fixtureBytes(dir, conf);
      const d = parse(bytes, NETWORK_CONFIG_DICT_CAPACITY);
      if (!d.ok) throw new Error(d.error);
      const want = decodedEntries(dir, decoded);
      expect(d.value.entries.map((e) => e.key)).toEqual(want.map((e) => e.key));
      for (const w of want) {
        const v = d.value.get(w.key)!;
        expect(v.length).toBe(w.value_length);
        expect(toHex(v)).toBe(w.value_hex);
      }
      expect(d.value.toBytes()).toEqual(bytes);
    });
  }

  test("escapes exactly NUL, CR, LF, backslash and '=' and round-trips every byte value", () => {
    const all = new Uint8Array(256).map((_, i) => i);
    const d = new Dictionary().add("B", all).add("s", "a=b\\c");
    const text = d.toBytes();
    expect(new TextDecoder("latin1").decode(text).startsWith("B=\\0\x01")).toBe(true);
    expect(new TextDecoder().decode(text.subarray(text.lastIndexOf(0x0a) + 1))).toBe("s=a\\eb\\\\c");
    const back = parse(text);
    if (!back.ok) throw new Error(back.error);
    expect(back.value.get("B")).toEqual(all);
    expect(back.value.getString("s")).toBe("a=b\\c");
  });

  test("integers: 1.14 forms, strict hex, signed, bool rule", () => {
    const d = new Dictionary().addUint("u", 7).addInt("neg", -5).addAddress("a", 0xddb1763ec1).addBool("t", true).addBool("f", false);
    expect(new TextDecoder().decode(d.toBytes())).toBe("u=0000000000000007\nneg=-0000000000000005\na=ddb1763ec1\nt=1\nf=0");
    const r = parse("x=AbC\ny=zz\nn=-10\nb=True\nbig=10000000000000000");
    if (!r.ok) throw new Error(r.error);
    expect(r.value.getUint("x", 0n)).toBe(0xabcn);
    expect(() => r.value.getUint("y", 0n)).toThrow("non-hex");
    expect(() => r.value.getUint("big", 0n)).toThrow("1..16 hex digits");
    expect(r.value.getInt("n", 0n)).toBe(-16n);
    expect(r.value.getUint("missing", 9n)).toBe(9n);
    expect(r.value.getBool("b", false)).toBe(true);
    expect(r.value.getBool("x", true)).toBe(false);
  });

  test("first occurrence wins; order and duplicates kept for re-serialization", () => {
    const r = parse("k=1\nk=2\nz=3");
    if (!r.ok) throw new Error(r.error);
    expect(r.value.getString("k")).toBe("1");
    expect(new TextDecoder().decode(r.value.toBytes())).toBe("k=1\nk=2\nz=3");
  });

  test("lenient where the reference is: CR separators, empty lines, unknown escapes", () => {
    const r = parse("a=1\r\n\r\nb=x\\qy\n");
    if (!r.ok) throw new Error(r.error);
    expect(r.value.getString("a")).toBe("1");
    expect(r.value.getString("b")).toBe("xqy");
  });

  const garbage: [string, string | Uint8Array, string][] = [
    ["line without '='", "a=1\njunk\n", "no '='"],
    ["empty key", "=5", "empty key"],
    ["dangling backslash", "a=abc\\", "dangling"],
    ["NUL byte", Uint8Array.of(0x61, 0x3d, 0x00), "NUL"],
    ["non-ASCII key", Uint8Array.of(0xc3, 0xa9, 0x3d, 0x31), "key contains byte"],
    ["space in key", "a b=1", "key contains byte"],
  ];
  for (const [name, input, reason] of garbage) {
    test(`rejects ${name} with a reason`, () => {
      const r = parse(input);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toContain(reason);
    });
  }

  test("size limits: parse and serialize refuse what would not fit the reference capacity", () => {
    const big = new Uint8Array(REQUEST_METADATA_DICT_CAPACITY).fill(0x61);
    big[0] = 0x6b;
    big[1] = 0x3d;
    expect(Dictionary.parse(big, REQUEST_METADATA_DICT_CAPACITY).ok).toBe(false);
    expect(Dictionary.parse(big.subarray(0, REQUEST_METADATA_DICT_CAPACITY - 1), REQUEST_METADATA_DICT_CAPACITY).ok).toBe(true);
    const d = new Dictionary().add("k", new Uint8Array(600).fill(0x3d));
    const s = d.serialize(REQUEST_METADATA_DICT_CAPACITY);
    expect(s.ok).toBe(false);
    expect(new Dictionary().add("k", "v").serialize(REQUEST_METADATA_DICT_CAPACITY).ok).toBe(true);
  });

  test("invalid keys are refused when building", () => {
    expect(() => new Dictionary().add("a=b", "1")).toThrow(RangeError);
    expect(() => new Dictionary().add("", "1")).toThrow(RangeError);
  });
});
