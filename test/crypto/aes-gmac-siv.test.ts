import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { aesni, aesniError } from "../../ffi/aesni.ts";
import { libCryptoError } from "../../ffi/libcrypto.ts";
import { aes256EncryptBlock, type AesGmacSiv, createAesGmacSiv, aesGmacSivBackend, aesGmacSivIntermediate, NodeAesGmacSiv } from "../../src/crypto/aes-gmac-siv.ts";
import { aesniAesGmacSiv } from "../../src/crypto/aes-gmac-siv-aesni.ts";
import { nativeAesGmacSiv } from "../../src/crypto/aes-gmac-siv-native.ts";
import { SeededRng } from "../../src/util/random.ts";
import { hex, loadVectors, str, toHex } from "./fixtures.ts";

const gen = loadVectors("vectors-generated.json");
const k0 = hex(gen, "kbkdf.k0");
const k1 = hex(gen, "kbkdf.k1");
const iv8 = hex(gen, "aes_gmac_siv_raw.iv8");
const aad = hex(gen, "aes_gmac_siv_raw.aad");
const plaintext = hex(gen, "aes_gmac_siv_raw.plaintext");
const tag16 = str(gen, "aes_gmac_siv_raw.tag16");
const ciphertext = str(gen, "aes_gmac_siv_raw.ciphertext");

/** The generated vector's plaintext sealed in place by `siv`: its tag and the buffer. */
function sealReference(siv: Pick<AesGmacSiv, "encrypt">): { tag: Uint8Array; buf: Uint8Array } {
  const buf = plaintext.slice();
  const tag = new Uint8Array(16);
  siv.encrypt(iv8, 0, aad, 0, aad.length, buf, 0, buf.length, tag, 0);
  return { tag, buf };
}

describe("AES known answers (generated vectors)", () => {
  test("AES-256 of the zero block with K0 (the GHASH subkey H)", () => {
    expect(toHex(aes256EncryptBlock(k0, new Uint8Array(16)))).toBe(str(gen, "aes256_ecb.out"));
  });
  test("intermediate GMAC", () => {
    expect(toHex(aesGmacSivIntermediate(k0, iv8, aad, plaintext))).toBe(str(gen, "aes_gmac_siv_raw.intermediate_gmac16"));
  });
  test("encrypt gives the reference tag and ciphertext, in place", () => {
    const { tag, buf } = sealReference(createAesGmacSiv(k0, k1));
    expect(toHex(tag)).toBe(tag16);
    expect(toHex(buf)).toBe(ciphertext);
  });
  test("decrypt authenticates and restores the plaintext", () => {
    const siv = createAesGmacSiv(k0, k1);
    const buf = hex(gen, "aes_gmac_siv_raw.ciphertext");
    expect(siv.decrypt(hex(gen, "aes_gmac_siv_raw.tag16"), 0, aad, 0, aad.length, buf, 0, buf.length)).toBe(true);
    expect(toHex(buf)).toBe(toHex(plaintext));
  });
  test("offsets inside larger buffers leave the surroundings alone", () => {
    const siv = createAesGmacSiv(k0, k1);
    const big = new Uint8Array(300).fill(0x5c);
    big.set(plaintext, 37);
    const ivBuf = new Uint8Array(20);
    ivBuf.set(iv8, 3);
    const aadBuf = new Uint8Array(30);
    aadBuf.set(aad, 9);
    const tagBuf = new Uint8Array(40);
    siv.encrypt(ivBuf, 3, aadBuf, 9, 20, big, 37, 37 + plaintext.length, tagBuf, 5);
    expect(toHex(tagBuf.subarray(5, 21))).toBe(tag16);
    expect(toHex(big.subarray(37, 37 + plaintext.length))).toBe(ciphertext);
    expect(big[36]).toBe(0x5c);
    expect(big[37 + plaintext.length]).toBe(0x5c);
    expect(siv.decrypt(tagBuf, 5, aadBuf, 9, 20, big, 37, 37 + plaintext.length)).toBe(true);
    expect(toHex(big.subarray(37, 37 + plaintext.length))).toBe(toHex(plaintext));
  });
});

describe("AES-GMAC-SIV rejects tampering", () => {
  const siv = createAesGmacSiv(k0, k1);
  const sealed = hex(gen, "aes_gmac_siv_raw.ciphertext");
  const tag = hex(gen, "aes_gmac_siv_raw.tag16");
  test("any flipped tag bit, ciphertext byte or aad byte fails", () => {
    for (let i = 0; i < 16; i++) {
      const t = tag.slice();
      t[i]! ^= 0x01 << (i % 8);
      expect(siv.decrypt(t, 0, aad, 0, aad.length, sealed.slice(), 0, sealed.length)).toBe(false);
    }
    for (let i = 0; i < sealed.length; i += 7) {
      const c = sealed.slice();
      c[i]! ^= 0x80;
      expect(siv.decrypt(tag, 0, aad, 0, aad.length, c, 0, c.length)).toBe(false);
    }
    for (let i = 0; i < aad.length; i++) {
      const a = aad.slice();
      a[i]! ^= 0x04;
      expect(siv.decrypt(tag, 0, a, 0, a.length, sealed.slice(), 0, sealed.length)).toBe(false);
    }
  });
  test("wrong keys fail", () => {
    const other = createAesGmacSiv(k1, k0);
    expect(other.decrypt(tag, 0, aad, 0, aad.length, sealed.slice(), 0, sealed.length)).toBe(false);
  });
});

describe("AES-GMAC-SIV round trips", () => {
  test("random sizes 0..3000, empty and odd aad", () => {
    const rng = new SeededRng(3);
    const siv = createAesGmacSiv(k0, k1);
    for (let t = 0; t < 100; t++) {
      const n = t < 3 ? t : rng.u32() % 3001;
      const msg = new Uint8Array(n);
      rng.fill(msg);
      const a = new Uint8Array(t % 4 === 0 ? 0 : rng.u32() % 40);
      rng.fill(a);
      const iv = new Uint8Array(8);
      rng.fill(iv);
      const buf = msg.slice();
      const tg = new Uint8Array(16);
      siv.encrypt(iv, 0, a, 0, a.length, buf, 0, n, tg, 0);
      if (n >= 16) expect(toHex(buf)).not.toBe(toHex(msg));
      expect(siv.decrypt(tg, 0, a, 0, a.length, buf, 0, n)).toBe(true);
      expect(toHex(buf)).toBe(toHex(msg));
    }
  });
});

describe("AES-GMAC-SIV matches a construction from independent parts", () => {
  test("random sizes up to 10000: tag and ciphertext equal spec 2.4 built with noble AES-CTR", async () => {
    const { ctr } = await import("@noble/ciphers/aes.js");
    const rng = new SeededRng(11);
    const siv = createAesGmacSiv(k0, k1);
    for (const n of [1, 15, 16, 17, 1400, 2800, 9997]) {
      const msg = new Uint8Array(n);
      rng.fill(msg);
      const iv = new Uint8Array(8);
      rng.fill(iv);
      const a = new Uint8Array(11);
      rng.fill(a);
      const g = aesGmacSivIntermediate(k0, iv, a, msg);
      const blk = new Uint8Array(16);
      blk.set(iv, 0);
      for (let i = 0; i < 8; i++) blk[8 + i] = g[i]! ^ g[8 + i]!;
      const expectTag = aes256EncryptBlock(k1, blk);
      const counter = expectTag.slice();
      counter[12]! &= 0x7f;
      const expectCt = ctr(k1.subarray(0, 32), counter).encrypt(msg);
      const buf = msg.slice();
      const tg = new Uint8Array(16);
      siv.encrypt(iv, 0, a, 0, 11, buf, 0, n, tg, 0);
      expect(toHex(tg)).toBe(toHex(expectTag));
      expect(toHex(buf)).toBe(toHex(expectCt));
    }
  });
});

/** The ffi implementations, each checked against node:crypto below. */
type FfiSiv = Pick<NodeAesGmacSiv, "encrypt" | "decrypt">;
const ffiImplementations: [string, (k0: Uint8Array, k1: Uint8Array) => FfiSiv][] = [
  [
    "libcrypto",
    (a, b) => {
      const x = nativeAesGmacSiv(a, b);
      if (x === null) throw new Error(`libcrypto did not load: ${libCryptoError()}`);
      return x;
    },
  ],
  [
    "aesni",
    (a, b) => {
      const x = aesniAesGmacSiv(a, b);
      if (x === null) throw new Error(`the AES-NI library did not build or load: ${aesniError()}`);
      return x;
    },
  ],
];

describe("the backend choice", () => {
  test("AES-NI where it builds and loads (x86-64 with a C compiler), else libcrypto where libcrypto.so.3 is installed", () => {
    const has = ["/usr/lib/x86_64-linux-gnu/libcrypto.so.3", "/usr/lib/aarch64-linux-gnu/libcrypto.so.3", "/lib/x86_64-linux-gnu/libcrypto.so.3"].some((p) => existsSync(p));
    expect(aesGmacSivBackend()).toBe(aesni() !== null ? "aesni" : has ? "libcrypto" : "node:crypto");
    // this project's machines (and CI) have both: the AES-NI code must actually be in use there
    if (process.arch === "x64" && Bun.which("cc") !== null) expect(aesni()).not.toBeNull();
  });

  test("ZT_NC_AES and ZT_NC_NO_LIBCRYPTO choose (read once, so each in its own process)", () => {
    const script = `import { aesGmacSivBackend } from "${import.meta.dir}/../../src/crypto/aes-gmac-siv.ts"; process.stdout.write(aesGmacSivBackend());`;
    const run = (env: Record<string, string>): { out: string; err: string } => {
      const r = Bun.spawnSync([process.execPath, "-e", script], { env: { ...process.env, ZT_NC_AES: "", ZT_NC_NO_LIBCRYPTO: "", ...env }, stdout: "pipe", stderr: "pipe" });
      return { out: r.stdout.toString(), err: r.stderr.toString() };
    };
    expect(run({ ZT_NC_AES: "node" }).out).toBe("node:crypto");
    expect(run({ ZT_NC_AES: "libcrypto" }).out).toBe("libcrypto");
    expect(run({ ZT_NC_AES: "aesni" }).out).toBe(aesGmacSivBackend());
    expect(run({ ZT_NC_AES: "auto" }).out).toBe(aesGmacSivBackend());
    expect(run({ ZT_NC_NO_LIBCRYPTO: "1" }).out).toBe("node:crypto");
    expect(run({ ZT_NC_NO_LIBCRYPTO: "0" }).out).toBe(aesGmacSivBackend());
    const bad = run({ ZT_NC_AES: "fastest" });
    expect(bad.out).toBe(aesGmacSivBackend());
    expect(bad.err).toContain("ZT_NC_AES=fastest");
  });
});

for (const [name, make] of ffiImplementations) {
  describe(`AES-GMAC-SIV on ${name} (ffi) and on node:crypto agree`, () => {
    test("the generated vector: tag and ciphertext, then decrypt", () => {
      const siv = make(k0, k1);
      const { tag, buf } = sealReference(siv);
      expect(toHex(tag)).toBe(tag16);
      expect(toHex(buf)).toBe(ciphertext);
      expect(siv.decrypt(tag, 0, aad, 0, aad.length, buf, 0, buf.length)).toBe(true);
      expect(toHex(buf)).toBe(toHex(plaintext));
    });

    test("500 packets in a row, sizes 0..3000, aad 0..40: same ciphertext and tag, both decrypt the other's", () => {
      const k0 = randomBytes(32);
      const k1 = randomBytes(32);
      const native = make(k0, k1);
      const node = new NodeAesGmacSiv(k0, k1);
      for (let n = 0; n < 500; n++) {
        const len = n < 40 ? n : Math.floor(Math.random() * 3001);
        const aadLen = n % 41;
        const iv = randomBytes(8);
        const aad = randomBytes(aadLen);
        const plain = randomBytes(len);
        // the packet sits at an odd offset in a larger buffer, as in a datagram
        const a = new Uint8Array(len + 7);
        a.set(plain, 3);
        const b = a.slice();
        const tagA = new Uint8Array(20);
        const tagB = new Uint8Array(20);
        native.encrypt(iv, 0, aad, 0, aadLen, a, 3, 3 + len, tagA, 2);
        node.encrypt(iv, 0, aad, 0, aadLen, b, 3, 3 + len, tagB, 2);
        expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
        expect(Buffer.from(tagA).equals(Buffer.from(tagB))).toBe(true);
        expect(node.decrypt(tagA, 2, aad, 0, aadLen, a, 3, 3 + len)).toBe(true);
        expect(native.decrypt(tagB, 2, aad, 0, aadLen, b, 3, 3 + len)).toBe(true);
        expect(Buffer.from(a.subarray(3, 3 + len)).equals(plain)).toBe(true);
        expect(Buffer.from(b.subarray(3, 3 + len)).equals(plain)).toBe(true);
      }
    });

    test("a flipped bit anywhere fails authentication", () => {
      const native = make(randomBytes(32), randomBytes(32));
      const iv = randomBytes(8);
      const aad = randomBytes(11);
      const plain = randomBytes(1400);
      const pkt = Uint8Array.from(plain);
      const tag = new Uint8Array(16);
      native.encrypt(iv, 0, aad, 0, 11, pkt, 0, pkt.length, tag, 0);
      for (const where of ["data", "data end", "tag", "tag start", "aad"] as const) {
        const p = pkt.slice();
        const t = tag.slice();
        const a = Uint8Array.from(aad);
        if (where === "data") p[700]! ^= 1;
        else if (where === "data end") p[1399]! ^= 0x80;
        else if (where === "tag") t[15]! ^= 0x80;
        else if (where === "tag start") t[0]! ^= 1;
        else a[10]! ^= 4;
        expect(native.decrypt(t, 0, a, 0, 11, p, 0, p.length)).toBe(false);
      }
    });

    test("ranges outside the buffer are refused before any pointer is made", () => {
      const native = make(randomBytes(32), randomBytes(32));
      const buf = new Uint8Array(100);
      const tag = new Uint8Array(16);
      expect(() => native.encrypt(randomBytes(8), 0, new Uint8Array(11), 0, 11, buf, 50, 101, tag, 0)).toThrow(RangeError);
      expect(() => native.decrypt(tag, 0, new Uint8Array(40), 0, 40, buf, -1, 10)).toThrow(RangeError);
      expect(() => native.encrypt(new Uint8Array(7), 0, new Uint8Array(11), 0, 11, buf, 0, 10, tag, 0)).toThrow(RangeError);
      expect(() => native.encrypt(randomBytes(8), 0, new Uint8Array(11), 0, 11, buf, 0, 10, tag, 1)).toThrow(RangeError);
    });
  });
}
