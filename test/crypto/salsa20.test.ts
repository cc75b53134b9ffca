import { describe, expect, test } from "bun:test";
import { salsa20 as nobleSalsa20 } from "@noble/ciphers/salsa.js";
import { Salsa20 } from "../../src/crypto/salsa20.ts";
import { SeededRng } from "../../src/util/random.ts";
import { hex, loadVectors, toHex } from "./fixtures.ts";

const sel = loadVectors("vectors-selftest.json");

function keystream(rounds: 12 | 20, key: Uint8Array, iv: Uint8Array, n: number): Uint8Array {
  const s = new Salsa20(rounds);
  s.init(key, 0, iv, 0);
  const buf = new Uint8Array(n);
  s.xor(buf, 0, n);
  return buf;
}

describe("Salsa20 known answers (selftest.cpp)", () => {
  for (const [name, rounds] of [["salsa20_20rounds", 20], ["salsa20_12rounds", 12]] as const) {
    test(`${name} first keystream block`, () => {
      const ks = keystream(rounds, hex(sel, `${name}.key`), hex(sel, `${name}.iv`), 64);
      expect(toHex(ks)).toBe(toHex(hex(sel, `${name}.keystream_first_64`)));
    });
  }

  test("key and nonce are read at the given offsets", () => {
    const key = hex(sel, "salsa20_12rounds.key");
    const iv = hex(sel, "salsa20_12rounds.iv");
    const kbuf = new Uint8Array(40);
    kbuf.set(key, 5);
    const ibuf = new Uint8Array(20);
    ibuf.set(iv, 11);
    const s = new Salsa20(12);
    s.init(kbuf, 5, ibuf, 11);
    const out = new Uint8Array(64);
    s.xor(out, 0, 64);
    expect(toHex(out)).toBe(toHex(hex(sel, "salsa20_12rounds.keystream_first_64")));
  });
});

describe("Salsa20/20 long streams match an independent implementation (noble)", () => {
  const rng = new SeededRng(7);
  const key = new Uint8Array(32);
  const iv = new Uint8Array(8);
  rng.fill(key);
  rng.fill(iv);
  const n = 5000;
  const expected = nobleSalsa20(key, iv, new Uint8Array(n));

  test("one call", () => {
    expect(toHex(keystream(20, key, iv, n))).toBe(toHex(expected));
  });

  test("split into random-length calls at random (mis)alignments continues the stream", () => {
    for (let trial = 0; trial < 20; trial++) {
      const backing = new Uint8Array(n + 16);
      const off = rng.u32() % 8;
      const s = new Salsa20(20);
      s.init(key, 0, iv, 0);
      let p = 0;
      while (p < n) {
        const len = Math.min(n - p, rng.u32() % 200);
        s.xor(backing, off + p, off + p + len);
        p += len;
      }
      expect(toHex(backing.subarray(off, off + n))).toBe(toHex(expected));
    }
  });

  test("XOR is in place and leaves bytes outside [start,end) alone", () => {
    const buf = new Uint8Array(300).fill(0xaa);
    const s = new Salsa20(20);
    s.init(key, 0, iv, 0);
    s.xor(buf, 10, 290);
    for (let i = 0; i < 10; i++) expect(buf[i]).toBe(0xaa);
    for (let i = 290; i < 300; i++) expect(buf[i]).toBe(0xaa);
    for (let i = 10; i < 290; i++) expect(buf[i]).toBe(0xaa ^ expected[i - 10]!);
  });

  test("works on a subarray view with an odd byteOffset", () => {
    const big = new Uint8Array(n + 3);
    const view = big.subarray(3);
    const s = new Salsa20(20);
    s.init(key, 0, iv, 0);
    s.xor(view, 0, n);
    expect(toHex(view)).toBe(toHex(expected));
  });

  test("a resizable buffer that grows after first use is still fully XORed (cached word views)", () => {
    const ab = new ArrayBuffer(128, { maxByteLength: 8192 });
    const view = new Uint8Array(ab); // length-tracking
    const s = new Salsa20(20);
    s.init(key, 0, iv, 0);
    s.xor(view, 0, 128);
    ab.resize(n + 128);
    s.xor(view, 128, n);
    expect(toHex(view.subarray(0, n))).toBe(toHex(expected));
  });

  test("re-init resets the counter", () => {
    const s = new Salsa20(20);
    s.init(key, 0, iv, 0);
    const a = new Uint8Array(100);
    s.xor(a, 0, 100);
    s.init(key, 0, iv, 0);
    const b = new Uint8Array(100);
    s.xor(b, 0, 100);
    expect(toHex(b)).toBe(toHex(expected.subarray(0, 100)));
  });

  test("skip and keystream consume the same stream as xor", () => {
    const s = new Salsa20(20);
    s.init(key, 0, iv, 0);
    const first = new Uint8Array(32);
    s.keystream(first, 0, 32);
    s.skip(40);
    const rest = new Uint8Array(100);
    s.xor(rest, 0, 100);
    expect(toHex(first)).toBe(toHex(expected.subarray(0, 32)));
    expect(toHex(rest)).toBe(toHex(expected.subarray(72, 172)));
  });
});
