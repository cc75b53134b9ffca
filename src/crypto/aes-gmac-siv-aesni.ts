/**
 * AES-GMAC-SIV (spec 2.4) on our AES-NI code (ffi/aesni.ts): one ffi call per packet, in place in
 * the caller's buffer, nothing allocated. Chosen first where it loads (aes-gmac-siv.ts): its small
 * code stays fast on the first packet after a quiet spell, where OpenSSL's EVP path runs cold.
 *
 * Memory safety: every pointer handed to C is made by `span` from a typed array and an offset
 * checked against that array's length, for exactly the length passed; the key context is one
 * ArrayBuffer of the size the library asks for (it aligns inside it).
 */
import type { Pointer } from "bun:ffi";
import { type AesniLib, aesni } from "../../ffi/aesni.ts";
import { span } from "./checked-span.ts";

export class AesniAesGmacSiv {
  private readonly context: Uint8Array;
  private readonly pContext: Pointer;

  constructor(
    private readonly lib: AesniLib,
    k0: Uint8Array,
    k1: Uint8Array,
  ) {
    if (k0.length < 32 || k1.length < 32) throw new RangeError("AesGmacSiv: keys must be at least 32 bytes");
    const size = lib.zt_gmac_siv_context_size();
    // an ArrayBuffer of its own: its memory never moves, so the pointer stays valid
    this.context = new Uint8Array(new ArrayBuffer(size));
    this.pContext = span(this.context, 0, size);
    lib.zt_gmac_siv_init(this.pContext, span(k0, 0, 32), span(k1, 0, 32));
  }

  /** A pointer for `len` bytes at `off`; for an empty range any valid pointer (C reads none of it). */
  private at(view: Uint8Array, off: number, len: number): Pointer {
    return len === 0 ? this.pContext : span(view, off, len);
  }

  encrypt(iv: Uint8Array, ivOff: number, aad: Uint8Array, aadStart: number, aadEnd: number, buf: Uint8Array, start: number, end: number, tagOut: Uint8Array, tagOff: number): void {
    const aadLen = aadEnd - aadStart;
    const len = end - start;
    this.lib.zt_gmac_siv_encrypt(this.pContext, span(iv, ivOff, 8), this.at(aad, aadStart, aadLen), aadLen, this.at(buf, start, len), len, span(tagOut, tagOff, 16));
  }

  decrypt(tag: Uint8Array, tagOff: number, aad: Uint8Array, aadStart: number, aadEnd: number, buf: Uint8Array, start: number, end: number): boolean {
    const aadLen = aadEnd - aadStart;
    const len = end - start;
    return this.lib.zt_gmac_siv_decrypt(this.pContext, span(tag, tagOff, 16), this.at(aad, aadStart, aadLen), aadLen, this.at(buf, start, len), len) === 1;
  }
}

/** The AES-NI implementation when its library loads here, else null. */
export function aesniAesGmacSiv(k0: Uint8Array, k1: Uint8Array): AesniAesGmacSiv | null {
  const lib = aesni();
  return lib === null ? null : new AesniAesGmacSiv(lib, k0, k1);
}
