/**
 * ZeroTier 40-bit node address (spec 1.2), held as a plain number: 40 bits fit exactly in a
 * double, so addresses can be Map keys and compared with === without allocation.
 */

export type Address = number;

export const ADDRESS_LENGTH = 5;
export const ADDRESS_MAX = 0xffffffffff;

/** 0 and anything starting with 0xff are reserved (0xff marks fragments on the wire, spec 3.5). */
export function isReservedAddress(a: Address): boolean {
  return a === 0 || Math.floor(a / 0x100000000) === 0xff;
}

export function isValidAddressValue(a: number): boolean {
  return Number.isInteger(a) && a >= 0 && a <= ADDRESS_MAX;
}

/** 10 lowercase hex digits, zero-padded. */
export function addressToString(a: Address): string {
  return a.toString(16).padStart(10, "0");
}

/** Parses exactly 10 hex digits (either case); null otherwise. Does not reject reserved values. */
export function addressFromString(s: string): Address | null {
  if (s.length !== 10 || !/^[0-9a-fA-F]{10}$/.test(s)) return null;
  return parseInt(s, 16);
}

export function readAddress(buf: Uint8Array, off: number): Address {
  const lo = ((buf[off + 1]! << 24) | (buf[off + 2]! << 16) | (buf[off + 3]! << 8) | buf[off + 4]!) >>> 0;
  return buf[off]! * 0x100000000 + lo;
}

export function writeAddress(buf: Uint8Array, off: number, a: Address): void {
  buf[off] = Math.floor(a / 0x100000000) & 0xff;
  const lo = a >>> 0;
  buf[off + 1] = lo >>> 24;
  buf[off + 2] = (lo >>> 16) & 0xff;
  buf[off + 3] = (lo >>> 8) & 0xff;
  buf[off + 4] = lo & 0xff;
}

export function addressToBytes(a: Address): Uint8Array {
  const b = new Uint8Array(ADDRESS_LENGTH);
  writeAddress(b, 0, a);
  return b;
}

export function addressToBigInt(a: Address): bigint {
  return BigInt(a);
}
