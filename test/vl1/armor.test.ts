import { describe, expect, test } from "bun:test";
import {
  CIPHER_AES_GMAC_SIV,
  CIPHER_POLY1305_NONE,
  CIPHER_SALSA2012_POLY1305,
  PeerKeys,
  armor,
  dearmor,
  helloCryptField,
} from "../../src/vl1/armor.ts";
import { SeededRng } from "../../src/util/random.ts";
import { hex, loadVectors, str, toHex } from "../crypto/fixtures.ts";

const gen = loadVectors("vectors-generated.json");
const key48 = hex(gen, "inputs.key48.hex");
const plain = () => hex(gen, "packet_armor.plain");
const vec = (name: string) => str(gen, `packet_armor.${name}`);

describe("PeerKeys", () => {
  test("accepts exactly 48 bytes and copies the key", () => {
    const k = key48.slice();
    const pk = new PeerKeys(k);
    k[0] = 0xff;
    expect(pk.key[0]).toBe(0);
    expect(() => new PeerKeys(new Uint8Array(32))).toThrow();
    expect(() => new PeerKeys(new Uint8Array(64))).toThrow();
  });
});

describe("armor known answers (generated vectors)", () => {
  const keys = new PeerKeys(key48);

  test("the constants are the wire values", () => {
    expect([CIPHER_POLY1305_NONE, CIPHER_SALSA2012_POLY1305, CIPHER_AES_GMAC_SIV]).toEqual([0, 1, 3]);
  });

  test("suite 0 (Poly1305, no encryption)", () => {
    const p = plain();
    armor(p, 0, p.length, keys, CIPHER_POLY1305_NONE);
    expect(toHex(p)).toBe(vec("suite0_poly1305_none"));
    expect(dearmor(p, 0, p.length, keys)).toBe(true);
    expect(toHex(p)).toBe(vec("suite0_poly1305_none"));
  });

  test("suite 1 (Salsa20/12 + Poly1305) sets the legacy 0x80 flag", () => {
    const p = plain();
    armor(p, 0, p.length, keys, CIPHER_SALSA2012_POLY1305);
    expect(toHex(p)).toBe(vec("suite1_salsa2012_poly1305"));
    expect(p[18]).toBe(0x88);
    expect(dearmor(p, 0, p.length, keys)).toBe(true);
    expect(toHex(p)).toBe(vec("suite1_dearmored"));
  });

  test("suite 3 (AES-GMAC-SIV)", () => {
    const p = plain();
    armor(p, 0, p.length, keys, CIPHER_AES_GMAC_SIV);
    expect(toHex(p)).toBe(vec("suite3_aes_gmac_siv"));
  });

  test("suite 3 with the fragmented flag (authenticated)", () => {
    const p = plain();
    p[18]! |= 0x40;
    armor(p, 0, p.length, keys, CIPHER_AES_GMAC_SIV);
    expect(toHex(p)).toBe(vec("suite3_with_fragmented_flag"));
    expect(dearmor(p, 0, p.length, keys)).toBe(true);
    const q = hex(gen, "packet_armor.suite3_with_fragmented_flag");
    q[18]! &= ~0x40;
    expect(dearmor(q, 0, q.length, keys)).toBe(false);
  });

  test("suite 3 dearmor after a relay incremented hops", () => {
    const p = hex(gen, "packet_armor.suite3_aes_gmac_siv");
    p[18]! += 1;
    expect(dearmor(p, 0, p.length, keys)).toBe(true);
    expect(toHex(p)).toBe(vec("suite3_dearmored_after_hop_increment"));
  });

  test("armor forces hops to 0 and keeps the packet inside [start, end) of a larger buffer", () => {
    const p = plain();
    const big = new Uint8Array(p.length + 50).fill(0xa5);
    big.set(p, 21);
    big[21 + 18] = 0x05 | 0x80; // stale hops and legacy flag must not leak into the result
    armor(big, 21, 21 + p.length, keys, CIPHER_SALSA2012_POLY1305);
    expect(toHex(big.subarray(21, 21 + p.length))).toBe(vec("suite1_salsa2012_poly1305"));
    expect(big[20]).toBe(0xa5);
    expect(big[21 + p.length]).toBe(0xa5);
    big[21 + 18]! |= 0x03;
    expect(dearmor(big, 21, 21 + p.length, keys)).toBe(true);
    expect(toHex(big.subarray(21 + 19, 21 + p.length))).toBe(vec("suite1_dearmored").slice(38 * 1));
  });
});

describe("HELLO cryptField (generated vectors)", () => {
  const keys = new PeerKeys(key48);
  test("encrypt the tail, then suite-0 armor", () => {
    const p = hex(gen, "hello_cryptField.before");
    helloCryptField(p, 0, 48, 68, keys);
    expect(toHex(p)).toBe(str(gen, "hello_cryptField.after_cryptField"));
    armor(p, 0, p.length, keys, CIPHER_POLY1305_NONE);
    expect(toHex(p)).toBe(str(gen, "hello_cryptField.after_suite0_armor"));
  });
  test("receiver: dearmor, then the same call decrypts the tail", () => {
    const p = hex(gen, "hello_cryptField.after_suite0_armor");
    expect(dearmor(p, 0, p.length, keys)).toBe(true);
    helloCryptField(p, 0, 48, 68, keys);
    expect(toHex(p.subarray(27))).toBe(str(gen, "hello_cryptField.before").slice(54));
  });
  test("works at an offset (indices are absolute) and ignores the low 3 bits of ID byte 7", () => {
    const p = hex(gen, "hello_cryptField.before");
    p[7]! |= 0x07;
    const big = new Uint8Array(p.length + 10);
    big.set(p, 10);
    helloCryptField(big, 10, 58, 78, keys);
    expect(toHex(big.subarray(10 + 27, 10 + p.length))).toBe(str(gen, "hello_cryptField.after_cryptField").slice(54));
  });
});

describe("dearmor rejects bad packets without throwing", () => {
  const keys = new PeerKeys(key48);
  const suites = [CIPHER_POLY1305_NONE, CIPHER_SALSA2012_POLY1305, CIPHER_AES_GMAC_SIV] as const;
  const regions: [string, number, number][] = [
    ["packet id", 0, 8],
    ["destination", 8, 13],
    ["source", 13, 18],
    ["mac", 19, 27],
    ["verb", 27, 28],
    ["payload", 28, 88],
  ];

  for (const suite of suites) {
    const sealed = () => {
      const p = plain();
      armor(p, 0, p.length, keys, suite);
      return p;
    };
    for (const [name, from, to] of regions) {
      test(`suite ${suite}: a flipped bit in every byte of the ${name} fails`, () => {
        for (let i = from; i < to; i++) {
          for (const bit of [0x01, 0x80]) {
            const p = sealed();
            p[i]! ^= bit;
            expect(dearmor(p, 0, p.length, keys)).toBe(false);
          }
        }
      });
    }
    test(`suite ${suite}: fragmented and legacy flag bits are authenticated, hop bits are not`, () => {
      for (const bit of [0x40, 0x80]) {
        const p = sealed();
        p[18]! ^= bit;
        expect(dearmor(p, 0, p.length, keys)).toBe(false);
      }
      for (let hops = 0; hops < 8; hops++) {
        const p = sealed();
        p[18] = (p[18]! & 0xf8) | hops;
        expect(dearmor(p, 0, p.length, keys)).toBe(true);
        expect(toHex(p.subarray(27))).toBe(toHex(plain().subarray(27)));
      }
    });
    test(`suite ${suite}: truncated or extended packets fail`, () => {
      const p = sealed();
      expect(dearmor(p, 0, p.length - 1, keys)).toBe(false);
      const longer = new Uint8Array(p.length + 1);
      longer.set(p);
      expect(dearmor(longer, 0, longer.length, keys)).toBe(false);
      for (const n of [0, 1, 18, 27]) expect(dearmor(p, 0, n, keys)).toBe(false);
    });
    test(`suite ${suite}: wrong key fails`, () => {
      const other = key48.slice();
      other[suite === CIPHER_AES_GMAC_SIV ? 40 : 5]! ^= 1;
      const p = sealed();
      expect(dearmor(p, 0, p.length, new PeerKeys(other))).toBe(false);
    });
  }

  test("unknown suites 2 and 4..7 are rejected", () => {
    for (const s of [2, 4, 5, 6, 7]) {
      const p = plain();
      armor(p, 0, p.length, keys, CIPHER_POLY1305_NONE);
      p[18] = (p[18]! & 0xc7) | (s << 3);
      expect(dearmor(p, 0, p.length, keys)).toBe(false);
    }
  });

  test("a 28-byte packet (verb only) round-trips; a minimum-size garbage packet fails", () => {
    for (const suite of suites) {
      const p = plain().subarray(0, 28).slice();
      armor(p, 0, 28, keys, suite);
      expect(dearmor(p, 0, 28, keys)).toBe(true);
      expect(p[27]).toBe(0x08);
    }
    const zero = new Uint8Array(28);
    expect(dearmor(zero, 0, 28, keys)).toBe(false);
  });

  test("oversized (> 10024) and out-of-range views are rejected", () => {
    const big = new Uint8Array(10025);
    expect(dearmor(big, 0, 10025, keys)).toBe(false);
    const p = plain();
    expect(dearmor(p, 0, p.length + 5, keys)).toBe(false);
    expect(dearmor(p, -1, p.length, keys)).toBe(false);
  });

  test("random garbage never throws and never authenticates", () => {
    const rng = new SeededRng(99);
    for (let t = 0; t < 300; t++) {
      const n = rng.u32() % 200;
      const p = new Uint8Array(n);
      rng.fill(p);
      expect(dearmor(p, 0, n, keys)).toBe(false);
    }
  });
});

describe("armor -> dearmor round trips", () => {
  test("random sizes 28..10024, all suites, hops changed in between, both directions' keys equal", () => {
    const rng = new SeededRng(2026);
    const k = new Uint8Array(48);
    rng.fill(k);
    const sender = new PeerKeys(k);
    const receiver = new PeerKeys(k);
    const sizes = [28, 29, 43, 44, 91, 92, 1432, 2800, 10024];
    for (let t = 0; t < 40; t++) sizes.push(28 + (rng.u32() % (10024 - 28 + 1)));
    const buf = new Uint8Array(10024 + 8);
    for (const n of sizes) {
      for (const suite of [CIPHER_POLY1305_NONE, CIPHER_SALSA2012_POLY1305, CIPHER_AES_GMAC_SIV] as const) {
        const off = rng.u32() % 8;
        const orig = new Uint8Array(n);
        rng.fill(orig);
        orig[18] = rng.u32() & 0x40; // maybe fragmented
        buf.set(orig, off);
        armor(buf, off, off + n, sender, suite);
        if (suite !== CIPHER_POLY1305_NONE && n > 40) {
          expect(toHex(buf.subarray(off + 28, off + n))).not.toBe(toHex(orig.subarray(28)));
        }
        const hops = 1 + (rng.u32() % 7);
        buf[off + 18] = (buf[off + 18]! & 0xf8) | hops;
        expect(dearmor(buf, off, off + n, receiver)).toBe(true);
        expect(toHex(buf.subarray(off + 27, off + n))).toBe(toHex(orig.subarray(27)));
        expect(buf[off + 18]! & 0x07).toBe(hops);
        expect((buf[off + 18]! >>> 3) & 7).toBe(suite);
        expect(buf[off + 18]! & 0x40).toBe(orig[18]!);
        if (suite !== CIPHER_AES_GMAC_SIV) expect(toHex(buf.subarray(off, off + 18))).toBe(toHex(orig.subarray(0, 18)));
      }
    }
  });
});
