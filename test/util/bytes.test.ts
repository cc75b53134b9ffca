import { describe, expect, test } from "bun:test";
import { ByteReader, ByteWriter, DecodeError, EncodeError, bytesEqual, compareBytes } from "../../src/util/bytes.ts";

describe("ByteReader / ByteWriter", () => {
  test("big-endian round trip", () => {
    const w = new ByteWriter(1);
    w.u8(0xab).u16(0x1234).u32(0xdeadbeef).u64(0x0102030405060708n).bytes(Uint8Array.of(9, 9));
    const b = w.finish();
    expect(Array.from(b)).toEqual([0xab, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9]);
    const r = new ByteReader(b);
    expect(r.u8()).toBe(0xab);
    expect(r.u16()).toBe(0x1234);
    expect(r.u32()).toBe(0xdeadbeef);
    expect(r.u64()).toBe(0x0102030405060708n);
    expect(r.bytes(2)).toEqual(Uint8Array.of(9, 9));
    expect(r.remaining).toBe(0);
  });
  test("overruns throw DecodeError naming the field; ranges are checked", () => {
    const r = new ByteReader(Uint8Array.of(1, 2, 3), 1, 3);
    expect(() => r.u32("thing")).toThrow(DecodeError);
    expect(() => r.u32("thing")).toThrow(/thing/);
    expect(r.u16()).toBe(0x0203);
    expect(() => r.u8()).toThrow(DecodeError);
    expect(() => r.skip(1)).toThrow(DecodeError);
    expect(() => new ByteReader(new Uint8Array(2), 0, 3)).toThrow(DecodeError);
  });
  test("writer limit and u64 range", () => {
    const w = new ByteWriter(2, 3);
    w.u16(1);
    expect(() => w.u16(1)).toThrow(EncodeError);
    expect(() => new ByteWriter().u64(-1n)).toThrow(EncodeError);
    expect(() => new ByteWriter().u64(1n << 64n)).toThrow(EncodeError);
  });
  test("compare helpers", () => {
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(true);
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBe(false);
    expect(bytesEqual(Uint8Array.of(1), Uint8Array.of(1, 2))).toBe(false);
    expect(compareBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBeLessThan(0);
    expect(compareBytes(Uint8Array.of(2), Uint8Array.of(1, 3))).toBeGreaterThan(0);
    expect(compareBytes(Uint8Array.of(1), Uint8Array.of(1, 0))).toBeLessThan(0);
  });
});
