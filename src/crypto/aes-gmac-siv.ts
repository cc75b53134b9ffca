/**
 * AES-GMAC-SIV as ZeroTier 1.14 uses it for cipher suite 3 (spec 2.4), built from node:crypto AES.
 *
 *   g     = GMAC_K0(nonce = iv8 || 00000000, data = aad || zero pad to 16 || plaintext)
 *   tag16 = AES_K1(iv8 || (g[0..8] XOR g[8..16]))
 *   ct    = AES-CTR_K1(counter block = tag16 with byte 12 &= 0x7f)(plaintext)
 *
 * Cost model (Bun 1.4.4, 2800-byte packets): GMAC as an AES-GCM cipher fed only additional data
 * (two setAAD calls, no copy) ~4.4 GB/s; a fresh AES-CTR cipher per packet ~2.9 GB/s, about 2x
 * faster than running CTR through a reused ECB cipher and XORing in JS; the tag block goes through
 * one long-lived ECB cipher (and ECB decipher) per key. node:crypto cannot write into a caller's
 * buffer, so each packet still creates two cipher objects and a few small Buffers; that is the floor
 * with this API. Noble's AES is 30-100x slower and is never used.
 *
 * So `createAesGmacSiv` gives, in this order of preference (ZT_NC_AES=auto):
 *   - our AES-NI code (aes-gmac-siv-aesni.ts, ffi/aesni.ts): one ffi call per packet, and fast on
 *     the first packet after a quiet spell, where OpenSSL's large EVP path runs on cold caches;
 *   - OpenSSL's libcrypto through bun:ffi (aes-gmac-siv-native.ts: long-lived contexts, in place,
 *     nothing allocated), where the AES-NI library cannot be built or loaded;
 *   - the node:crypto version below: the last fallback and the tests' second opinion.
 * ZT_NC_AES=aesni|libcrypto|node asks for one (an unavailable one falls back down the list, with
 * a warning); ZT_NC_NO_LIBCRYPTO=1 still means node:crypto.
 */
import { type Cipheriv, type Decipheriv, type KeyObject, createCipheriv, createDecipheriv, createSecretKey } from "node:crypto";
import { consola } from "consola";
import { aesni, aesniError } from "../../ffi/aesni.ts";
import { libCrypto } from "../../ffi/libcrypto.ts";
import { envChoice } from "../util/env-choice.ts";
import { AesniAesGmacSiv } from "./aes-gmac-siv-aesni.ts";
import { NativeAesGmacSiv } from "./aes-gmac-siv-native.ts";

export type AesGmacSivBackend = "aesni" | "libcrypto" | "node:crypto";

/** ZT_NC_AES: auto (AES-NI, else libcrypto, else node:crypto), aesni, libcrypto or node. */
export type AesChoice = "auto" | "aesni" | "libcrypto" | "node";

export function parseAesChoice(text: string): AesChoice | null {
  return text === "auto" || text === "aesni" || text === "libcrypto" || text === "node" ? text : null;
}

let backend: AesGmacSivBackend | undefined;

/** Which implementation createAesGmacSiv uses here (decided once, from ZT_NC_AES and what loads). */
export function aesGmacSivBackend(): AesGmacSivBackend {
  if (backend !== undefined) return backend;
  let choice = envChoice("ZT_NC_AES", parseAesChoice, "auto", "auto, aesni, libcrypto or node");
  // the older switch: libcrypto refused and nothing else asked for means node:crypto, as it did
  if (choice === "auto" && process.env.ZT_NC_NO_LIBCRYPTO === "1") choice = "node";
  if (choice === "node") return (backend = "node:crypto");
  if (choice === "auto" || choice === "aesni") {
    if (aesni() !== null) return (backend = "aesni");
    const say = choice === "aesni" ? consola.warn : consola.debug;
    say(`AES-NI cipher not available (${aesniError()}); OpenSSL's libcrypto is used instead`);
  }
  return (backend = libCrypto() === null ? "node:crypto" : "libcrypto");
}

/** AES-GMAC-SIV with a key pair, any implementation (same results). */
export type AesGmacSiv = AesniAesGmacSiv | NativeAesGmacSiv | NodeAesGmacSiv;

/** The implementation aesGmacSivBackend() names. */
export function createAesGmacSiv(k0: Uint8Array, k1: Uint8Array): AesGmacSiv {
  switch (aesGmacSivBackend()) {
    case "aesni":
      return new AesniAesGmacSiv(aesni()!, k0, k1);
    case "libcrypto":
      return new NativeAesGmacSiv(libCrypto()!, k0, k1);
    default:
      return new NodeAesGmacSiv(k0, k1);
  }
}

/** The node:crypto implementation. */
export class NodeAesGmacSiv {
  private readonly k0: KeyObject;
  private readonly k1: KeyObject;
  private readonly ecbEnc: Cipheriv;
  private readonly ecbDec: Decipheriv;
  /** 12-byte GCM nonce: iv8 || 00 00 00 00 */
  private readonly nonce = Buffer.alloc(12);
  /** aad zero-padded to a 16-byte multiple (ZeroTier's aad is 11 bytes) */
  private aadBlock = Buffer.alloc(16);
  /** iv8 || t8 before tag encryption; the 16-byte tag / CTR counter block */
  private readonly block = Buffer.alloc(16);
  private readonly counter = Buffer.alloc(16);

  /** k0 = GMAC key, k1 = tag/CTR key; the first 32 bytes of each are used (K0/K1 from the KBKDF). */
  constructor(k0: Uint8Array, k1: Uint8Array) {
    if (k0.length < 32 || k1.length < 32) throw new RangeError("AesGmacSiv: keys must be at least 32 bytes");
    this.k0 = createSecretKey(Buffer.from(k0.subarray(0, 32)));
    this.k1 = createSecretKey(Buffer.from(k1.subarray(0, 32)));
    this.ecbEnc = createCipheriv("aes-256-ecb", this.k1, null);
    this.ecbEnc.setAutoPadding(false);
    this.ecbDec = createDecipheriv("aes-256-ecb", this.k1, null);
    this.ecbDec.setAutoPadding(false);
  }

  /**
   * Encrypt buf[start, end) in place and write the 16-byte tag to tagOut[tagOff..].
   * iv8 = iv[ivOff..ivOff+8]; aad = aad[aadStart, aadEnd).
   */
  encrypt(
    iv: Uint8Array,
    ivOff: number,
    aad: Uint8Array,
    aadStart: number,
    aadEnd: number,
    buf: Uint8Array,
    start: number,
    end: number,
    tagOut: Uint8Array,
    tagOff: number,
  ): void {
    const b = this.block;
    for (let i = 0; i < 8; i++) b[i] = iv[ivOff + i]!;
    this.gmacHalves(b, aad, aadStart, aadEnd, buf, start, end);
    const tag = this.ecbEnc.update(b);
    tagOut.set(tag, tagOff);
    this.ctr(tag, buf, start, end);
  }

  /**
   * Decrypt buf[start, end) in place given the tag at tag[tagOff..tagOff+16]; returns whether it
   * authenticates. On false the buffer holds garbage (callers drop the packet).
   */
  decrypt(
    tag: Uint8Array,
    tagOff: number,
    aad: Uint8Array,
    aadStart: number,
    aadEnd: number,
    buf: Uint8Array,
    start: number,
    end: number,
  ): boolean {
    const t = this.counter;
    for (let i = 0; i < 16; i++) t[i] = tag[tagOff + i]!;
    const x = this.ecbDec.update(t);
    this.ctr(t, buf, start, end);
    const b = this.block;
    for (let i = 0; i < 8; i++) b[i] = x[i]!;
    this.gmacHalves(b, aad, aadStart, aadEnd, buf, start, end);
    let diff = 0;
    for (let i = 8; i < 16; i++) diff |= b[i]! ^ x[i]!;
    return diff === 0;
  }

  /** GMAC with nonce b[0..8] || 0000; writes g[0..8] XOR g[8..16] into b[8..16]. */
  private gmacHalves(
    b: Buffer,
    aad: Uint8Array,
    aadStart: number,
    aadEnd: number,
    buf: Uint8Array,
    start: number,
    end: number,
  ): void {
    const n = this.nonce;
    for (let i = 0; i < 8; i++) n[i] = b[i]!;
    const aadLen = aadEnd - aadStart;
    const padded = (aadLen + 15) & ~15;
    if (this.aadBlock.length !== padded) this.aadBlock = Buffer.alloc(padded);
    const a = this.aadBlock;
    for (let i = 0; i < aadLen; i++) a[i] = aad[aadStart + i]!;
    for (let i = aadLen; i < padded; i++) a[i] = 0;
    const gcm = createCipheriv("aes-256-gcm", this.k0, n);
    // The aad pads to a block boundary, so feeding the plaintext as a second AAD chunk is the same
    // GHASH input as one concatenated buffer, without copying the packet.
    if (padded > 0) gcm.setAAD(a);
    if (end > start) gcm.setAAD(buf.subarray(start, end));
    gcm.final();
    const g = gcm.getAuthTag();
    for (let i = 0; i < 8; i++) b[8 + i] = g[i]! ^ g[8 + i]!;
  }

  /** AES-CTR with K1 over buf[start, end), initial counter = tag with bit 31 of the counter word cleared. */
  private ctr(tag: Uint8Array, buf: Uint8Array, start: number, end: number): void {
    if (end <= start) return;
    const c = this.counter;
    if (c !== tag) c.set(tag.subarray(0, 16), 0);
    c[12]! &= 0x7f;
    const out = createCipheriv("aes-256-ctr", this.k1, c).update(buf.subarray(start, end));
    buf.set(out, start);
  }
}

/** One AES-256 block encryption (cold path: tests, tools). */
export function aes256EncryptBlock(key32: Uint8Array, block16: Uint8Array): Uint8Array {
  const c = createCipheriv("aes-256-ecb", Buffer.from(key32.subarray(0, 32)), null);
  c.setAutoPadding(false);
  return new Uint8Array(c.update(block16.subarray(0, 16)));
}

/** The SIV's intermediate GMAC: GMAC_K0(iv8 || 0000, aad || zero pad to 16 || data) (cold path). */
export function aesGmacSivIntermediate(k0: Uint8Array, iv8: Uint8Array, aad: Uint8Array, data: Uint8Array): Uint8Array {
  const nonce = Buffer.alloc(12);
  nonce.set(iv8.subarray(0, 8), 0);
  const padded = Buffer.alloc((aad.length + 15) & ~15);
  padded.set(aad, 0);
  const gcm = createCipheriv("aes-256-gcm", Buffer.from(k0.subarray(0, 32)), nonce);
  gcm.setAAD(Buffer.concat([padded, data]));
  gcm.final();
  return new Uint8Array(gcm.getAuthTag());
}
