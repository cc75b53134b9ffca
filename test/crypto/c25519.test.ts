import { describe, expect, test } from "bun:test";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import {
  C25519Secret,
  c25519Agree,
  c25519Generate,
  c25519PublicFromPrivate,
  c25519Sign,
  c25519Verify,
  ed25519PublicFromSeed,
  isLowOrderX25519,
  x25519PublicFromSecret,
} from "../../src/crypto/c25519.ts";
import { sha512 } from "../../src/crypto/sha.ts";
import { SeededRng } from "../../src/util/random.ts";
import { hex, list, loadVectors, str, toHex } from "./fixtures.ts";

const sel = loadVectors("vectors-selftest.json");
const gen = loadVectors("vectors-generated.json");
const vectors = list(sel, "c25519.vectors");

describe("C25519 selftest vectors", () => {
  test("there are 32 vectors", () => {
    expect(vectors.length).toBe(32);
  });

  vectors.forEach((v, i) => {
    test(`vector ${i}: public keys, agreement both ways, signatures by both parties`, () => {
      const pub1 = hex(v, "pub1"), priv1 = hex(v, "priv1"), pub2 = hex(v, "pub2"), priv2 = hex(v, "priv2");
      const agreement = hex(v, "agreement");
      expect(toHex(c25519PublicFromPrivate(priv1))).toBe(toHex(pub1));
      expect(toHex(c25519PublicFromPrivate(priv2))).toBe(toHex(pub2));
      expect(toHex(x25519PublicFromSecret(priv1.subarray(0, 32)))).toBe(toHex(pub1.subarray(0, 32)));
      expect(toHex(ed25519PublicFromSeed(priv2.subarray(32)))).toBe(toHex(pub2.subarray(32)));

      expect(toHex(c25519Agree(priv1, pub2, 64))).toBe(toHex(agreement));
      expect(toHex(c25519Agree(priv2, pub1, 64))).toBe(toHex(agreement));
      expect(toHex(c25519Agree(priv1, pub2))).toBe(toHex(agreement.subarray(0, 48)));

      const s1 = c25519Sign(priv1, pub1, agreement);
      const s2 = c25519Sign(priv2, pub2, agreement);
      expect(toHex(s1)).toBe(str(v, "agreementSignedBy1"));
      expect(toHex(s2)).toBe(str(v, "agreementSignedBy2"));
      expect(c25519Verify(pub1, agreement, hex(v, "agreementSignedBy1"))).toBe(true);
      expect(c25519Verify(pub2, agreement, hex(v, "agreementSignedBy2"))).toBe(true);
      // Each signature is bound to its signer.
      expect(c25519Verify(pub2, agreement, s1)).toBe(false);
      expect(c25519Verify(pub1, agreement, s2)).toBe(false);
    });
  });

  test("C25519Secret (cached key objects) gives the same results", () => {
    for (const v of vectors.slice(0, 4)) {
      const sec = new C25519Secret(hex(v, "priv1"));
      expect(toHex(sec.pub)).toBe(str(v, "pub1"));
      expect(toHex(sec.agree(hex(v, "pub2"), 64))).toBe(str(v, "agreement"));
      expect(toHex(sec.sign(hex(v, "agreement")))).toBe(str(v, "agreementSignedBy1"));
    }
  });
});

describe("C25519 with the known-good identity (generated vectors)", () => {
  const bin = hex(gen, "identity_known_good.binary_with_private");
  const pub = bin.subarray(6, 70);
  const priv = bin.subarray(71, 135);
  test("agreement with itself, 48 bytes", () => {
    expect(toHex(c25519Agree(priv, pub))).toBe(str(gen, "identity_known_good.agree_with_itself_48.hex"));
  });
  test("signature of 'hello'", () => {
    const msg = new TextEncoder().encode("hello");
    expect(toHex(c25519Sign(priv, pub, msg))).toBe(str(gen, "identity_known_good.sign_ascii_hello.hex"));
    expect(c25519Verify(pub, msg, hex(gen, "identity_known_good.sign_ascii_hello.hex"))).toBe(true);
  });
});

describe("C25519 agrees with @noble/curves", () => {
  test("generated keys: public halves, agreement, signature format", () => {
    const rng = new SeededRng(42);
    for (let i = 0; i < 5; i++) {
      const a = c25519Generate(rng);
      const b = c25519Generate(rng);
      expect(toHex(a.pub.subarray(0, 32))).toBe(toHex(x25519.getPublicKey(a.priv.subarray(0, 32))));
      expect(toHex(a.pub.subarray(32))).toBe(toHex(ed25519.getPublicKey(a.priv.subarray(32))));
      const shared = x25519.getSharedSecret(a.priv.subarray(0, 32), b.pub.subarray(0, 32));
      expect(toHex(c25519Agree(a.priv, b.pub, 64))).toBe(toHex(sha512(shared)));
      expect(toHex(c25519Agree(a.priv, b.pub, 100).subarray(64))).toBe(toHex(sha512(sha512(shared)).subarray(0, 36)));
      const msg = new Uint8Array(i * 37).fill(i);
      const sig = c25519Sign(a.priv, a.pub, msg);
      const h = sha512(msg).subarray(0, 32);
      expect(toHex(sig.subarray(64))).toBe(toHex(h));
      expect(ed25519.verify(sig.subarray(0, 64), h, a.pub.subarray(32))).toBe(true);
      expect(c25519Verify(a.pub, msg, sig)).toBe(true);
    }
  });

  test("c25519Generate without an rng uses the system CSPRNG (distinct keys)", () => {
    const a = c25519Generate();
    const b = c25519Generate();
    expect(toHex(a.priv)).not.toBe(toHex(b.priv));
    expect(toHex(c25519PublicFromPrivate(a.priv))).toBe(toHex(a.pub));
  });
});

describe("C25519 bad input is rejected, never thrown", () => {
  const v = vectors[0];
  const pub1 = hex(v, "pub1");
  const msg = hex(v, "agreement");
  const sig = hex(v, "agreementSignedBy1");

  test("every single-bit flip of the signature fails", () => {
    for (let byte = 0; byte < 96; byte++) {
      const bad = sig.slice();
      bad[byte]! ^= 1 << (byte % 8);
      expect(c25519Verify(pub1, msg, bad)).toBe(false);
    }
  });

  test("modified message or public key fails", () => {
    const m = msg.slice();
    m[5]! ^= 0x10;
    expect(c25519Verify(pub1, m, sig)).toBe(false);
    const p = pub1.slice();
    p[40]! ^= 0x01;
    expect(c25519Verify(p, msg, sig)).toBe(false);
  });

  test("wrong lengths and garbage give false", () => {
    expect(c25519Verify(pub1, msg, sig.subarray(0, 95))).toBe(false);
    expect(c25519Verify(pub1, msg, new Uint8Array(97))).toBe(false);
    expect(c25519Verify(pub1, msg, sig.subarray(0, 64))).toBe(false);
    expect(c25519Verify(pub1, msg, new Uint8Array(0))).toBe(false);
    expect(c25519Verify(pub1.subarray(0, 63), msg, sig)).toBe(false);
    expect(c25519Verify(new Uint8Array(0), msg, sig)).toBe(false);
    expect(c25519Verify(new Uint8Array(64).fill(0xff), msg, sig)).toBe(false);
    expect(c25519Verify(new Uint8Array(64), msg, new Uint8Array(96))).toBe(false);
  });

  test("a low-order peer key yields a deterministic key instead of throwing", () => {
    const priv = hex(v, "priv1");
    const zeroPub = new Uint8Array(64);
    expect(toHex(c25519Agree(priv, zeroPub))).toBe(toHex(sha512(new Uint8Array(32)).subarray(0, 48)));
  });

  test("exactly the low-order points (any bit 255) are recognised, and each gives the zero-secret key", () => {
    const priv = hex(v, "priv1");
    const zeroKey = toHex(sha512(new Uint8Array(32)).subarray(0, 48));
    const lowOrder = [
      "0000000000000000000000000000000000000000000000000000000000000000",
      "0100000000000000000000000000000000000000000000000000000000000000",
      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
      "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ];
    for (const h of lowOrder) {
      for (const top of [0, 0x80]) {
        const pub = new Uint8Array(64);
        pub.set(Uint8Array.from(Buffer.from(h, "hex")));
        pub[31]! |= top;
        expect(isLowOrderX25519(pub)).toBe(true);
        expect(toHex(c25519Agree(priv, pub))).toBe(zeroKey);
      }
    }
    // A near miss and a real key are ordinary keys: agreement works and is not the zero-secret key.
    const near = Uint8Array.from(Buffer.from(lowOrder[2]!, "hex"));
    near[0]! ^= 1;
    const real = hex(v, "pub2");
    for (const pub of [near, real]) {
      expect(isLowOrderX25519(pub)).toBe(false);
      expect(toHex(c25519Agree(priv, pub))).not.toBe(zeroKey);
    }
  });
});
