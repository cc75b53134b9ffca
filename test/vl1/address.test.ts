import { describe, expect, test } from "bun:test";
import {
  addressFromString,
  addressToBigInt,
  addressToBytes,
  addressToString,
  isReservedAddress,
  readAddress,
} from "../../src/vl1/address.ts";

describe("40-bit addresses", () => {
  test("string and byte forms round trip, including the top bit range", () => {
    for (const s of ["0000000001", "49a3649ef4", "cafe9efeb9", "feffffffff", "8000000000"]) {
      const a = addressFromString(s);
      expect(a).not.toBeNull();
      expect(addressToString(a!)).toBe(s);
      const b = addressToBytes(a!);
      expect(b.length).toBe(5);
      expect(readAddress(b, 0)).toBe(a!);
      expect(addressToBigInt(a!)).toBe(BigInt(`0x${s}`));
    }
    expect(addressFromString("CAFE9EFEB9")).toBe(0xcafe9efeb9);
  });
  test("reserved: zero and 0xff prefix", () => {
    expect(isReservedAddress(0)).toBe(true);
    expect(isReservedAddress(0xff00000000)).toBe(true);
    expect(isReservedAddress(0xffffffffff)).toBe(true);
    expect(isReservedAddress(0xfeffffffff)).toBe(false);
    expect(isReservedAddress(1)).toBe(false);
  });
  test("malformed strings", () => {
    for (const s of ["", "123456789", "12345678901", "zz23456789", " 123456789", "0x12345678"]) expect(addressFromString(s)).toBeNull();
  });
});
