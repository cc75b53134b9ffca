import { describe, expect, test } from "bun:test";
import { SeededRng } from "../../src/util/random.ts";
import {
  LZ4_ERROR_BAD_OFFSET,
  LZ4_ERROR_OUTPUT_TOO_SMALL,
  LZ4_ERROR_TRUNCATED,
  Lz4Compressor,
  lz4CompressBound,
  lz4Decompress,
} from "../../src/vl1/lz4.ts";
import { fromHex, hex, loadVectors, toHex } from "../crypto/fixtures.ts";

const vectors = loadVectors("vectors-generated.json");
const MAX_OUT = 10024 - 28;
const compressor = new Lz4Compressor();

function decompress(block: Uint8Array, limit = MAX_OUT): Uint8Array | number {
  const out = new Uint8Array(limit);
  const n = lz4Decompress(block, 0, block.length, out, 0, limit);
  return n < 0 ? n : out.slice(0, n);
}

function compress(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(lz4CompressBound(data.length));
  const n = compressor.compress(data, 0, data.length, out, 0, out.length);
  if (n < 0) throw new Error("did not fit the bound");
  return out.slice(0, n);
}

describe("reference vector (vectors-generated.json lz4, made by ZeroTier's own LZ4)", () => {
  const before = hex(vectors, "lz4.before");
  const after = hex(vectors, "lz4.after");

  test("decompressing the reference block yields the original payload", () => {
    const block = after.subarray(28);
    const got = decompress(block);
    expect(got).toEqual(before.subarray(28));
  });

  test("our block for the same payload is valid and no bigger than the reference", () => {
    const payload = before.subarray(28);
    const ours = compress(payload);
    expect(ours.length).toBeLessThanOrEqual(after.length - 28);
    expect(decompress(ours)).toEqual(payload);
  });
});

describe("round trips", () => {
  const rng = new SeededRng(42);

  test("empty input encodes as the single token 0x00", () => {
    const block = compress(new Uint8Array(0));
    expect(block).toEqual(fromHex("00"));
    expect(decompress(block)).toEqual(new Uint8Array(0));
  });

  test("short inputs (0..40 bytes, below the match limit) round-trip", () => {
    for (let n = 0; n <= 40; n++) {
      const d = new Uint8Array(n);
      rng.fill(d);
      expect(decompress(compress(d))).toEqual(d);
      const z = new Uint8Array(n); // all zeros: compressible once long enough
      expect(decompress(compress(z))).toEqual(z);
    }
  });

  test("random (incompressible) data of many sizes stays within the bound and round-trips", () => {
    for (const n of [1, 15, 16, 255, 270, 1400, 2800, 9996]) {
      const d = new Uint8Array(n);
      rng.fill(d);
      const c = compress(d);
      expect(c.length).toBeLessThanOrEqual(lz4CompressBound(n));
      expect(decompress(c)).toEqual(d);
    }
  });

  test("compressible data shrinks and round-trips (text, runs, long matches, low entropy)", () => {
    const text = new TextEncoder().encode(
      "v=7\nnwid=3bc65e2b50b151d2\nts=19b7d1d0c5a\nr=1\nml=20\nf=2\nmtu=ad0\nn=ztlab\n".repeat(40),
    );
    const runs = new Uint8Array(5000).fill(7);
    const longPeriod = new Uint8Array(9996);
    for (let i = 0; i < longPeriod.length; i++) longPeriod[i] = (i * 7919) % 251 ^ (i % 1000 === 0 ? 1 : 0);
    const lowEntropy = new Uint8Array(4000);
    for (let i = 0; i < lowEntropy.length; i++) lowEntropy[i] = rng.u32() & 3;
    for (const d of [text, runs, longPeriod, lowEntropy]) {
      const c = compress(d);
      expect(c.length).toBeLessThan(d.length);
      expect(decompress(c)).toEqual(d);
    }
    expect(compress(runs).length).toBeLessThan(40);
  });

  test("200 random mixed inputs round-trip at buffer offsets", () => {
    for (let k = 0; k < 200; k++) {
      const n = rng.u32() % 3000;
      const d = new Uint8Array(n + 10);
      // blocks of random bytes and copies of earlier blocks
      let i = 5;
      while (i < n + 5) {
        const len = 1 + (rng.u32() % 40);
        if (i > 50 && rng.u32() % 2 === 0) {
          const from = rng.u32() % (i - 1);
          for (let j = 0; j < len && i < n + 5; j++) d[i++] = d[from + j]!;
        } else for (let j = 0; j < len && i < n + 5; j++) d[i++] = rng.u32() & 0xff;
      }
      const out = new Uint8Array(lz4CompressBound(n) + 20);
      const c = compressor.compress(d, 5, n + 5, out, 3, out.length);
      expect(c).toBeGreaterThan(0);
      const back = new Uint8Array(n + 8);
      const m = lz4Decompress(out, 3, 3 + c, back, 4, 4 + n);
      expect(m).toBe(n);
      expect(back.subarray(4, 4 + n)).toEqual(d.subarray(5, n + 5));
    }
  });

  test("table reuse across calls: stale positions from earlier inputs never leak into a block", () => {
    const c = new Lz4Compressor();
    const a = new TextEncoder().encode("the quick brown fox jumps over the lazy dog ".repeat(20));
    const b = new Uint8Array(a.length);
    rng.fill(b);
    const out = new Uint8Array(lz4CompressBound(a.length));
    // Same hashes as the previous input but different bytes: every hit must be re-verified.
    for (const input of [a, b, a, b]) {
      const n = c.compress(input, 0, input.length, out, 0, out.length);
      expect(decompress(out.slice(0, n))).toEqual(input);
    }
    // Force the position base to the Int32 limit so the next calls take the table-reset path.
    (c as unknown as { base: number }).base = 0x7fffffff - 100;
    for (const input of [a, b, a]) {
      const n = c.compress(input, 0, input.length, out, 0, out.length);
      expect(decompress(out.slice(0, n))).toEqual(input);
    }
    expect((c as unknown as { base: number }).base).toBeLessThan(10 * a.length);
  });

  test("compress reports -1 when the result would not fit (used for 'strictly smaller')", () => {
    const d = new Uint8Array(500);
    rng.fill(d);
    const out = new Uint8Array(600);
    expect(compressor.compress(d, 0, 500, out, 0, 499)).toBe(-1);
    const z = new Uint8Array(500);
    expect(compressor.compress(z, 0, 500, out, 0, 499)).toBeGreaterThan(0);
  });

  test("compressor output obeys the block rules reference decoders assume", () => {
    // last 5 bytes literal, last match starts >= 12 bytes before the end: walk the sequences.
    for (const d of [new Uint8Array(300).fill(1), new TextEncoder().encode("abcabcabcabcabcabcabcabcabcab")]) {
      const c = compress(d);
      let ip = 0;
      let op = 0;
      let lastMatchStart = -1;
      let lastMatchEnd = 0;
      for (;;) {
        const token = c[ip++]!;
        let lit = token >>> 4;
        if (lit === 15) for (let b = 255; b === 255; ) lit += b = c[ip++]!;
        ip += lit;
        op += lit;
        if (ip === c.length) break;
        ip += 2;
        let ml = token & 15;
        if (ml === 15) for (let b = 255; b === 255; ) ml += b = c[ip++]!;
        lastMatchStart = op;
        op += ml + 4;
        lastMatchEnd = op;
      }
      expect(op).toBe(d.length);
      expect(lastMatchStart).toBeGreaterThanOrEqual(0);
      expect(d.length - lastMatchStart).toBeGreaterThanOrEqual(12);
      expect(d.length - lastMatchEnd).toBeGreaterThanOrEqual(5);
    }
  });
});

describe("hostile input never crashes, reads or writes out of bounds, or hangs", () => {
  test("hand-made malformed blocks give the right error", () => {
    const cases: [string, number][] = [
      ["", LZ4_ERROR_TRUNCATED], // no token at all
      ["50616263", LZ4_ERROR_TRUNCATED], // 5 literals announced, 3 present
      ["f0", LZ4_ERROR_TRUNCATED], // literal length extension missing
      ["f0ff", LZ4_ERROR_TRUNCATED], // extension continues past the end
      ["106101", LZ4_ERROR_TRUNCATED], // 1-byte offset
      ["10610000", LZ4_ERROR_BAD_OFFSET], // offset 0
      ["10610200" + "00", LZ4_ERROR_BAD_OFFSET], // offset 2 > 1 byte produced
      ["00" + "0100", LZ4_ERROR_BAD_OFFSET], // match before any output
      ["1f610100", LZ4_ERROR_TRUNCATED], // match length extension missing
      ["1f610100ff", LZ4_ERROR_TRUNCATED], // extension continues past the end
      ["14610100", LZ4_ERROR_TRUNCATED], // block ends after a match (no final literals token)
    ];
    for (const [h, want] of cases) expect([h, decompress(fromHex(h))]).toEqual([h, want]);
    // Contrast: a block that ends right after its literals is complete and valid.
    expect(decompress(fromHex("1061"))).toEqual(fromHex("61"));
  });

  test("overlong literal and match lengths hit the output limit, not memory", () => {
    // literal run claiming 15+255*40 bytes with enough input: exceeds a 1000-byte limit
    const lit = new Uint8Array(1 + 41 + 15 + 255 * 40);
    lit[0] = 0xf0;
    lit.fill(255, 1, 41);
    lit[41] = 0;
    expect(decompress(lit, 1000)).toBe(LZ4_ERROR_OUTPUT_TOO_SMALL);
    // one literal then a match of 4+15+255*100 bytes (RLE of the literal)
    const m = fromHex("1f610100" + "ff".repeat(100) + "00" + "00");
    expect(decompress(m, MAX_OUT)).toBe(LZ4_ERROR_OUTPUT_TOO_SMALL);
    // exactly at the limit is fine: 1 literal + 19 match = 20
    expect(decompress(fromHex("1f61010000" + "00"), 20)).toEqual(new Uint8Array(20).fill(0x61));
    expect(decompress(fromHex("1f61010000" + "00"), 19)).toBe(LZ4_ERROR_OUTPUT_TOO_SMALL);
  });

  test("decoding respects the given input and output ranges inside larger buffers", () => {
    const src = fromHex("ee" + "30616263" + "ee");
    const dst = new Uint8Array(10).fill(0xcc);
    expect(lz4Decompress(src, 1, 5, dst, 2, 5)).toBe(3);
    expect(toHex(dst)).toBe("cccc616263cccccccccc");
    expect(lz4Decompress(src, 1, 5, dst, 2, 4)).toBe(LZ4_ERROR_OUTPUT_TOO_SMALL);
    expect(lz4Decompress(src, 1, 99, dst, 0, 10)).toBe(LZ4_ERROR_TRUNCATED); // range past the array
  });

  test("50,000 random and mutated blocks: only lengths in range or error codes", () => {
    const rng = new SeededRng(7);
    const out = new Uint8Array(MAX_OUT + 16);
    const sample = new TextEncoder().encode("multicast like frame gather ".repeat(30));
    const good = compress(sample);
    for (let k = 0; k < 50_000; k++) {
      let block: Uint8Array;
      if (k % 2 === 0) {
        block = new Uint8Array(rng.u32() % 64);
        rng.fill(block);
      } else {
        block = good.slice(0, 1 + (rng.u32() % good.length));
        for (let f = 0; f < 3; f++) block[rng.u32() % block.length] = rng.u32() & 0xff;
      }
      out.fill(0xab, MAX_OUT);
      const n = lz4Decompress(block, 0, block.length, out, 0, MAX_OUT);
      expect(n >= LZ4_ERROR_BAD_OFFSET && n <= MAX_OUT).toBe(true);
      // the guard bytes after the limit are untouched
      if (out[MAX_OUT] !== 0xab || out[MAX_OUT + 15] !== 0xab) throw new Error("wrote past the limit");
    }
  });
});
