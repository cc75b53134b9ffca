import { describe, expect, test } from "bun:test";
import { fromHex, fromHexExact, hexToBytes, isHex, toHex } from "../../src/util/hex.ts";

describe("hex", () => {
  test("round trip of every byte value, lowercase out, either case in", () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const h = toHex(all);
    expect(h.length).toBe(512);
    expect(h).toBe(h.toLowerCase());
    expect(fromHex(h)).toEqual(all);
    expect(fromHex(h.toUpperCase())).toEqual(all);
    expect(toHex(all, 254, 256)).toBe("feff");
  });
  test("strict decoding", () => {
    for (const bad of ["0", "abc", "0g", "g0", " 00", "00 ", "0x00", "é0", "\u0660\u0660"]) expect(fromHex(bad)).toBeNull();
    expect(fromHex("")).toEqual(new Uint8Array(0));
    expect(fromHexExact("0011", 2)).toEqual(Uint8Array.of(0, 0x11));
    expect(fromHexExact("0011", 3)).toBeNull();
    expect(() => hexToBytes("zz", "key")).toThrow(/invalid key/);
    expect(isHex("09afAF")).toBe(true);
    expect(isHex("09afAFg")).toBe(false);
  });
});
