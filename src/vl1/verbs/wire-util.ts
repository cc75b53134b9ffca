/** Small big-endian helpers shared by the verb codecs (bounds are checked by the callers). */

export function readU16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

export function readU32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/** 64-bit value as a double (exact up to 2^53; used for millisecond timestamps). */
export function readU64Number(b: Uint8Array, o: number): number {
  return readU32(b, o) * 4294967296 + readU32(b, o + 4);
}

export function readU64(b: Uint8Array, o: number): bigint {
  return (BigInt(readU32(b, o)) << 32n) | BigInt(readU32(b, o + 4));
}

export function writeU16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

export function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/** Non-negative integer below 2^53 as 8 big-endian bytes. */
export function writeU64Number(b: Uint8Array, o: number, v: number): void {
  const x = v < 0 ? 0 : Math.floor(v);
  writeU32(b, o, Math.floor(x / 4294967296) >>> 0);
  writeU32(b, o + 4, x >>> 0);
}

export function writeU64(b: Uint8Array, o: number, v: bigint): void {
  writeU32(b, o, Number((v >> 32n) & 0xffffffffn));
  writeU32(b, o + 4, Number(v & 0xffffffffn));
}
