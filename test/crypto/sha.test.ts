import { describe, expect, test } from "bun:test";
import { hmac } from "@noble/hashes/hmac.js";
import { sha384 as nobleSha384 } from "@noble/hashes/sha2.js";
import { hmacSha384, kbkdfHmacSha384, sha384, sha512, sha512Into } from "../../src/crypto/sha.ts";
import { hex, loadVectors, str, toHex } from "./fixtures.ts";

const sel = loadVectors("vectors-selftest.json");
const gen = loadVectors("vectors-generated.json");

describe("SHA-2 family", () => {
  test("SHA-512 selftest vector", () => {
    const input = new TextEncoder().encode(str(sel, "sha512.input_ascii"));
    expect(toHex(sha512(input))).toBe(str(sel, "sha512.digest"));
  });

  test("sha512Into writes at an offset and nothing else", () => {
    const input = hex(sel, "sha512.input_hex");
    const out = new Uint8Array(70).fill(7);
    sha512Into(input, out, 3);
    expect(toHex(out.subarray(3, 67))).toBe(str(sel, "sha512.digest"));
    expect([out[0], out[1], out[2], out[67], out[68], out[69]]).toEqual([7, 7, 7, 7, 7, 7]);
  });

  test("SHA-384 public key hash of the known-good identity (address || public key)", () => {
    const bin = hex(gen, "identity_known_good.binary_public");
    const addrAndKey = new Uint8Array(69);
    addrAndKey.set(bin.subarray(0, 5), 0);
    addrAndKey.set(bin.subarray(6, 70), 5);
    expect(toHex(sha384(addrAndKey))).toBe(str(gen, "identity_known_good.publicKeyHash_sha384.hex"));
  });

  test("HMAC-SHA384 agrees with noble for assorted key/message sizes", () => {
    for (const [kl, ml] of [[48, 13], [1, 0], [128, 200], [200, 1000]] as const) {
      const k = new Uint8Array(kl).map((_, i) => (i * 7 + 1) & 0xff);
      const m = new Uint8Array(ml).map((_, i) => (i * 13 + 5) & 0xff);
      expect(toHex(hmacSha384(k, m))).toBe(toHex(hmac(nobleSha384, k, m)));
    }
  });
});

describe("KBKDF-HMAC-SHA384 (spec 2.1)", () => {
  const key48 = hex(gen, "inputs.key48.hex");
  test("label '0' gives K0", () => {
    expect(toHex(kbkdfHmacSha384(key48, 0x30))).toBe(str(gen, "kbkdf.k0"));
  });
  test("label '1' gives K1", () => {
    expect(toHex(kbkdfHmacSha384(key48, 0x31))).toBe(str(gen, "kbkdf.k1"));
  });
  test("output is 48 bytes and depends on the key", () => {
    const other = key48.slice();
    other[47] ^= 1;
    const k = kbkdfHmacSha384(other, 0x30);
    expect(k.length).toBe(48);
    expect(toHex(k)).not.toBe(str(gen, "kbkdf.k0"));
  });
});
