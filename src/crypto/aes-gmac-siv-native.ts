/**
 * AES-GMAC-SIV (the same construction as aes-gmac-siv.ts, spec 2.4) on OpenSSL's libcrypto with
 * four cipher contexts kept per key pair: GCM (fed only additional data: GMAC) under K0, ECB
 * encrypt and decrypt and CTR under K1. A packet costs eight ffi calls, all in place in the
 * caller's buffer, and allocates nothing. Used when libcrypto.so.3 loads (aes-gmac-siv.ts chooses).
 *
 * Memory safety: every pointer handed to C is made here from a typed array and an offset that
 * was checked against that array's length just before (`span`), for exactly the length passed.
 */
import type { Pointer } from "bun:ffi";
import { checkRange, span } from "./checked-span.ts";
import { EVP_CTRL_GCM_GET_TAG, EVP_CTRL_GCM_SET_IVLEN, type LibCrypto, libCrypto } from "../../ffi/libcrypto.ts";

/** A pointer result of libcrypto (bun:ffi types it as possibly a bigint; addresses fit a number). */
function toPtr(x: bigint | Pointer | null): Pointer | null {
  return x === null ? null : typeof x === "bigint" ? (Number(x) as Pointer) : x;
}

function newContext(c: LibCrypto, cipher: Pointer | null, key: Uint8Array, decrypt: boolean): Pointer {
  const ctx = toPtr(c.EVP_CIPHER_CTX_new());
  if (ctx === null || cipher === null) throw new Error("libcrypto: cannot create a cipher context");
  const ok = decrypt ? c.EVP_DecryptInit_ex(ctx, cipher, null, span(key, 0, 32), null) : c.EVP_EncryptInit_ex(ctx, cipher, null, span(key, 0, 32), null);
  if (ok !== 1) throw new Error("libcrypto: cipher init failed");
  return ctx;
}

const contexts = new FinalizationRegistry<Pointer[]>((ctxs) => {
  const c = libCrypto();
  if (c !== null) for (const x of ctxs) c.EVP_CIPHER_CTX_free(x);
});

export class NativeAesGmacSiv {
  private readonly c: LibCrypto;
  private readonly gcm: Pointer;
  private readonly ctr: Pointer;
  private readonly ecbEnc: Pointer;
  private readonly ecbDec: Pointer;
  /**
   * Scratch, one ArrayBuffer (never moved): nonce 12 @0, block 16 @16, tag/counter 16 @32,
   * aad ≤ 32 @48, gmac 16 @80, x 16 @96, outLen i32 @112, 16 zero bytes @128 (aad padding).
   */
  private readonly s = new Uint8Array(new ArrayBuffer(144));
  private readonly pZeros: Pointer;
  private readonly pNonce: Pointer;
  private readonly pBlock: Pointer;
  private readonly pCounter: Pointer;
  private readonly pAad: Pointer;
  private readonly pGmac: Pointer;
  private readonly pX: Pointer;
  private readonly pOutLen: Pointer;

  constructor(c: LibCrypto, k0: Uint8Array, k1: Uint8Array) {
    if (k0.length < 32 || k1.length < 32) throw new RangeError("AesGmacSiv: keys must be at least 32 bytes");
    this.c = c;
    this.gcm = newContext(c, toPtr(c.EVP_aes_256_gcm()), k0, false);
    if (c.EVP_CIPHER_CTX_ctrl(this.gcm, EVP_CTRL_GCM_SET_IVLEN, 12, null) !== 1) throw new Error("libcrypto: GCM IV length");
    this.ctr = newContext(c, toPtr(c.EVP_aes_256_ctr()), k1, false);
    this.ecbEnc = newContext(c, toPtr(c.EVP_aes_256_ecb()), k1, false);
    this.ecbDec = newContext(c, toPtr(c.EVP_aes_256_ecb()), k1, true);
    c.EVP_CIPHER_CTX_set_padding(this.ecbEnc, 0);
    c.EVP_CIPHER_CTX_set_padding(this.ecbDec, 0);
    contexts.register(this, [this.gcm, this.ctr, this.ecbEnc, this.ecbDec]);
    const s = this.s;
    this.pNonce = span(s, 0, 12);
    this.pBlock = span(s, 16, 16);
    this.pCounter = span(s, 32, 16);
    this.pAad = span(s, 48, 32);
    this.pGmac = span(s, 80, 16);
    this.pX = span(s, 96, 16);
    this.pOutLen = span(s, 112, 4);
    this.pZeros = span(s, 128, 16);
  }

  encrypt(iv: Uint8Array, ivOff: number, aad: Uint8Array, aadStart: number, aadEnd: number, buf: Uint8Array, start: number, end: number, tagOut: Uint8Array, tagOff: number): void {
    checkRange(iv, ivOff, 8);
    checkRange(tagOut, tagOff, 16);
    const s = this.s;
    for (let i = 0; i < 8; i++) s[16 + i] = iv[ivOff + i]!;
    this.gmacHalves(aad, aadStart, aadEnd, buf, start, end);
    // tag = AES_K1(block)
    if (this.c.EVP_EncryptUpdate(this.ecbEnc, this.pCounter, this.pOutLen, this.pBlock, 16) !== 1) throw new Error("libcrypto: ECB");
    for (let i = 0; i < 16; i++) tagOut[tagOff + i] = s[32 + i]!;
    this.ctrInPlace(buf, start, end);
  }

  decrypt(tag: Uint8Array, tagOff: number, aad: Uint8Array, aadStart: number, aadEnd: number, buf: Uint8Array, start: number, end: number): boolean {
    checkRange(tag, tagOff, 16);
    const s = this.s;
    for (let i = 0; i < 16; i++) s[32 + i] = tag[tagOff + i]!;
    // x = AES_K1^-1(tag) = iv8 || (g halves XORed)
    if (this.c.EVP_DecryptUpdate(this.ecbDec, this.pX, this.pOutLen, this.pCounter, 16) !== 1) throw new Error("libcrypto: ECB");
    this.ctrInPlace(buf, start, end);
    for (let i = 0; i < 8; i++) s[16 + i] = s[96 + i]!;
    this.gmacHalves(aad, aadStart, aadEnd, buf, start, end);
    let diff = 0;
    for (let i = 8; i < 16; i++) diff |= s[16 + i]! ^ s[96 + i]!;
    return diff === 0;
  }

  /** GMAC_K0(nonce = block[0..8] || 0000, aad || pad || data); block[8..16] = g[0..8] XOR g[8..16]. */
  private gmacHalves(aad: Uint8Array, aadStart: number, aadEnd: number, buf: Uint8Array, start: number, end: number): void {
    const s = this.s;
    const c = this.c;
    const aadLen = aadEnd - aadStart;
    const padded = (aadLen + 15) & ~15;
    for (let i = 0; i < 8; i++) s[i] = s[16 + i]!;
    s[8] = s[9] = s[10] = s[11] = 0;
    if (c.EVP_EncryptInit_ex(this.gcm, null, null, null, this.pNonce) !== 1) throw new Error("libcrypto: GCM IV");
    if (padded <= 32) {
      // ZeroTier's 11-byte aad: copied and padded in the scratch, one call
      for (let i = 0; i < aadLen; i++) s[48 + i] = aad[aadStart + i]!;
      for (let i = aadLen; i < padded; i++) s[48 + i] = 0;
      if (padded > 0 && c.EVP_EncryptUpdate(this.gcm, null, this.pOutLen, this.pAad, padded) !== 1) throw new Error("libcrypto: GCM AAD");
    } else {
      if (c.EVP_EncryptUpdate(this.gcm, null, this.pOutLen, span(aad, aadStart, aadLen), aadLen) !== 1) throw new Error("libcrypto: GCM AAD");
      if (padded > aadLen && c.EVP_EncryptUpdate(this.gcm, null, this.pOutLen, this.pZeros, padded - aadLen) !== 1) throw new Error("libcrypto: GCM AAD");
    }
    // the padded aad ends on a block boundary: the data as more AAD is the same GHASH input
    if (end > start && c.EVP_EncryptUpdate(this.gcm, null, this.pOutLen, span(buf, start, end - start), end - start) !== 1) throw new Error("libcrypto: GCM AAD");
    if (c.EVP_EncryptFinal_ex(this.gcm, this.pGmac, this.pOutLen) !== 1) throw new Error("libcrypto: GCM final");
    if (c.EVP_CIPHER_CTX_ctrl(this.gcm, EVP_CTRL_GCM_GET_TAG, 16, this.pGmac) !== 1) throw new Error("libcrypto: GCM tag");
    for (let i = 0; i < 8; i++) s[24 + i] = s[80 + i]! ^ s[88 + i]!;
  }

  /** AES-CTR_K1 over buf[start, end) in place, counter = the tag at s[32..48) with bit 31 of word 3 cleared. */
  private ctrInPlace(buf: Uint8Array, start: number, end: number): void {
    if (end <= start) return;
    const s = this.s;
    s[44]! &= 0x7f;
    const p = span(buf, start, end - start);
    if (this.c.EVP_EncryptInit_ex(this.ctr, null, null, null, this.pCounter) !== 1) throw new Error("libcrypto: CTR IV");
    if (this.c.EVP_EncryptUpdate(this.ctr, p, this.pOutLen, p, end - start) !== 1) throw new Error("libcrypto: CTR");
  }
}

/** A native implementation when libcrypto loads here, else null. */
export function nativeAesGmacSiv(k0: Uint8Array, k1: Uint8Array): NativeAesGmacSiv | null {
  const c = libCrypto();
  return c === null ? null : new NativeAesGmacSiv(c, k0, k1);
}
