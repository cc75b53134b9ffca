import { describe, expect, test } from "bun:test";
import { poly1305 as noblePoly1305 } from "@noble/ciphers/_poly1305.js";
import { Poly1305, poly1305 } from "../../src/crypto/poly1305.ts";
import { SeededRng } from "../../src/util/random.ts";
import { fromHex, hex, list, loadVectors, str, toHex } from "./fixtures.ts";

const sel = loadVectors("vectors-selftest.json");

describe("Poly1305 known answers", () => {
  const vs = list(sel, "poly1305");
  test("two selftest.cpp vectors are present", () => {
    expect(vs.length).toBe(2);
  });
  vs.forEach((v, i) => {
    test(`selftest vector ${i}: ${str(v, "what").slice(0, 60)}`, () => {
      expect(toHex(poly1305(hex(v, "key"), hex(v, "message")))).toBe(str(v, "tag"));
    });
  });

  test("RFC 8439 §2.5.2 example", () => {
    const key = fromHex("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b");
    const msg = new TextEncoder().encode("Cryptographic Forum Research Group");
    expect(toHex(poly1305(key, msg))).toBe("a8061dc1305136c6c22b8baf0c0127a9");
  });

  test("edge: h reaching p and carries through every limb (all-0xff message and key)", () => {
    const key = new Uint8Array(32).fill(0xff);
    for (const n of [0, 1, 15, 16, 17, 64, 1000, 10024]) {
      const msg = new Uint8Array(n).fill(0xff);
      expect(toHex(poly1305(key, msg))).toBe(toHex(noblePoly1305(msg, key)));
    }
  });

  test("RFC 8439 test vector: r with h ≥ p after the last block", () => {
    // Appendix A.3 #6: key r=2, s=0; message = 2^128-1 (16×ff) gives tag 03 00..00
    const key = fromHex("02000000000000000000000000000000" + "00".repeat(16));
    expect(toHex(poly1305(key, new Uint8Array(16).fill(0xff)))).toBe("03" + "00".repeat(15));
    // A.3 #7: key s = ff.., message 02 00.. gives 03 00.. (s addition wraps mod 2^128)
    const key2 = fromHex("02" + "00".repeat(15) + "ff".repeat(16));
    expect(toHex(poly1305(key2, fromHex("02" + "00".repeat(15))))).toBe("03" + "00".repeat(15));
  });
});

describe("Poly1305 matches @noble/ciphers on random input", () => {
  const rng = new SeededRng(1305);
  test("random keys and lengths 0..2000, one update", () => {
    for (let t = 0; t < 200; t++) {
      const key = new Uint8Array(32);
      rng.fill(key);
      const msg = new Uint8Array(rng.u32() % 2001);
      rng.fill(msg);
      expect(toHex(poly1305(key, msg))).toBe(toHex(noblePoly1305(msg, key)));
    }
  });

  test("streamed in random pieces, at offsets, instance reused", () => {
    const p = new Poly1305();
    for (let t = 0; t < 100; t++) {
      const keyBuf = new Uint8Array(40);
      rng.fill(keyBuf);
      const ko = rng.u32() % 8;
      const n = rng.u32() % 1500;
      const back = new Uint8Array(n + 10);
      rng.fill(back);
      const mo = rng.u32() % 10;
      p.init(keyBuf, ko);
      let pos = mo;
      while (pos < mo + n) {
        const len = Math.min(mo + n - pos, rng.u32() % 40);
        p.update(back, pos, pos + len);
        pos += len;
      }
      const out = new Uint8Array(20).fill(0xee);
      p.finish(out, 2);
      expect(toHex(out.subarray(2, 18))).toBe(
        toHex(noblePoly1305(back.subarray(mo, mo + n), keyBuf.subarray(ko, ko + 32))),
      );
      expect([out[0], out[1], out[18], out[19]]).toEqual([0xee, 0xee, 0xee, 0xee]);
    }
  });
});
