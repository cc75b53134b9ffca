/**
 * Cross-check of our LZ4 block codec against the reference C library (liblz4, present on Debian and
 * Ubuntu systems because apt depends on it), loaded through bun:ffi. ZeroTier embeds the same
 * library's block functions, so "liblz4 accepts our blocks and we accept liblz4's" is the interop
 * property that matters.
 */
import { describe, expect, test } from "bun:test";
import { FFIType, dlopen, ptr } from "bun:ffi";
import { SeededRng } from "../../src/util/random.ts";
import { LZ4_ERROR_BAD_OFFSET, Lz4Compressor, lz4CompressBound, lz4Decompress } from "../../src/vl1/lz4.ts";

function loadLiblz4() {
  try {
    return dlopen("liblz4.so.1", {
      LZ4_decompress_safe: { args: [FFIType.ptr, FFIType.ptr, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
      LZ4_compress_default: { args: [FFIType.ptr, FFIType.ptr, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    }).symbols;
  } catch (e) {
    throw new Error(`this test needs the system's liblz4.so.1 (Debian/Ubuntu package liblz4-1): ${String(e)}`);
  }
}
const ref = loadLiblz4();

const MAX_OUT = 10024 - 28;
const ours = new Lz4Compressor();
const rng = new SeededRng(2024);

/** Test inputs: random, runs, text, and mixtures with copies of earlier bytes. */
function sample(i: number): Uint8Array {
  const n = i % 7 === 0 ? rng.u32() % 40 : rng.u32() % 9000;
  const d = new Uint8Array(Math.max(n, 1)).subarray(0, n);
  switch (i % 4) {
    case 0:
      rng.fill(d);
      break;
    case 1:
      for (let k = 0; k < n; k++) d[k] = rng.u32() % 100 < 90 && k > 0 ? d[k - 1]! : rng.u32() & 0xff;
      break;
    case 2:
      for (let k = 0; k < n; k++) d[k] = 97 + ((k * k) % 13);
      break;
    default:
      for (let k = 0; k < n; ) {
        const len = 1 + (rng.u32() % 60);
        if (k > 70 && rng.u32() % 2 === 0) {
          const from = rng.u32() % (k - 65);
          for (let j = 0; j < len && k < n; j++) d[k++] = d[from + j]!;
        } else for (let j = 0; j < len && k < n; j++) d[k++] = rng.u32() & 7;
      }
  }
  return d;
}

/** Walks a block's sequences (stopping at the first structural problem) looking for a match offset of 0. */
function hasZeroOffset(b: Uint8Array): boolean {
  let ip = 0;
  while (ip < b.length) {
    const token = b[ip++]!;
    let lit = token >>> 4;
    if (lit === 15) for (let x = 255; x === 255 && ip < b.length; ) lit += x = b[ip++]!;
    ip += lit;
    if (ip >= b.length - 1) return false;
    if ((b[ip]! | (b[ip + 1]! << 8)) === 0) return true;
    ip += 2;
    if ((token & 15) === 15) for (let x = 255; x === 255 && ip < b.length; ) x = b[ip++]!;
  }
  return false;
}

/** ptr() needs a non-empty buffer. */
function nonEmpty(b: Uint8Array): Uint8Array {
  return b.length > 0 ? b : new Uint8Array(1);
}

describe("LZ4 interop with liblz4", () => {
  test("liblz4 decodes every block we produce to the original bytes (400 inputs)", () => {
    const comp = new Uint8Array(lz4CompressBound(10000));
    const back = new Uint8Array(10000);
    for (let i = 0; i < 400; i++) {
      const d = sample(i);
      const n = ours.compress(d, 0, d.length, comp, 0, comp.length);
      expect(n).toBeGreaterThan(0);
      const m = ref.LZ4_decompress_safe(ptr(comp), ptr(back), n, d.length);
      expect([i, m]).toEqual([i, d.length]);
      expect(Buffer.compare(back.subarray(0, m), d)).toBe(0);
    }
  });

  test("we decode every block liblz4 produces (400 inputs); our ratio is within 10% of liblz4's", () => {
    const comp = new Uint8Array(lz4CompressBound(10000));
    const mine = new Uint8Array(lz4CompressBound(10000));
    const back = new Uint8Array(MAX_OUT);
    let refTotal = 0;
    let ourTotal = 0;
    for (let i = 0; i < 400; i++) {
      const d = sample(i);
      const n = ref.LZ4_compress_default(ptr(nonEmpty(d)), ptr(comp), d.length, comp.length);
      expect(n).toBeGreaterThan(0);
      const m = lz4Decompress(comp, 0, n, back, 0, MAX_OUT);
      expect([i, m]).toEqual([i, d.length]);
      expect(Buffer.compare(back.subarray(0, m), d)).toBe(0);
      refTotal += n;
      ourTotal += ours.compress(d, 0, d.length, mine, 0, mine.length);
    }
    expect(ourTotal / refTotal).toBeLessThan(1.1);
  });

  test("on corrupted blocks, whenever liblz4 succeeds we produce the same bytes (20,000 mutations)", () => {
    const comp = new Uint8Array(lz4CompressBound(10000));
    const refOut = new Uint8Array(MAX_OUT);
    const ourOut = new Uint8Array(MAX_OUT);
    let refAccepted = 0;
    let zeroOffsets = 0;
    for (let i = 0; i < 20_000; i++) {
      const d = sample(i % 400);
      const n0 = ref.LZ4_compress_default(ptr(nonEmpty(d)), ptr(comp), d.length, comp.length);
      const n = 1 + (rng.u32() % n0);
      const block = comp.slice(0, n);
      for (let f = 0; f < 1 + (rng.u32() % 3); f++) block[rng.u32() % n] = rng.u32() & 0xff;
      const r = ref.LZ4_decompress_safe(ptr(block), ptr(refOut), n, MAX_OUT);
      const o = lz4Decompress(block, 0, n, ourOut, 0, MAX_OUT);
      if (r >= 0) {
        if (hasZeroOffset(block)) {
          // The block format says offset 0 is invalid; liblz4 skips that check for speed and then
          // copies stale bytes from its own output buffer. We reject such blocks.
          zeroOffsets++;
          expect(o).toBe(LZ4_ERROR_BAD_OFFSET);
          continue;
        }
        refAccepted++;
        expect([i, o]).toEqual([i, r]);
        expect(Buffer.compare(ourOut.subarray(0, o), refOut.subarray(0, r))).toBe(0);
      } else expect(o).toBeLessThanOrEqual(MAX_OUT);
    }
    expect(refAccepted).toBeGreaterThan(100);
    expect(zeroOffsets).toBeGreaterThan(0);
  });
});
