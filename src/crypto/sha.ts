/**
 * SHA-512 / SHA-384, HMAC-SHA384 and ZeroTier's KBKDF, all from node:crypto (native, ~10x noble).
 */
import { createHash, createHmac } from "node:crypto";

export function sha512(data: Uint8Array): Uint8Array {
  return toU8(createHash("sha512").update(data).digest());
}

/** SHA-512 of data written into out[outOff, outOff+64). */
export function sha512Into(data: Uint8Array, out: Uint8Array, outOff: number): void {
  out.set(createHash("sha512").update(data).digest(), outOff);
}

export function sha384(data: Uint8Array): Uint8Array {
  return toU8(createHash("sha384").update(data).digest());
}

export function hmacSha384(key: Uint8Array, msg: Uint8Array): Uint8Array {
  return toU8(createHmac("sha384", key).update(msg).digest());
}

/**
 * ZeroTier's single-block KBKDF (NIST SP 800-108 counter mode, HMAC-SHA384): derives the 48-byte
 * AES-GMAC-SIV key material K0 (label '0') and K1 (label '1') from the per-peer key (spec 2.1).
 */
export function kbkdfHmacSha384(key48: Uint8Array, label: number): Uint8Array {
  // BE32 counter 0 || 'Z' 'T' label || 0x00 separator || context 0x00 || BE32 output bits (384)
  const msg = new Uint8Array([0, 0, 0, 0, 0x5a, 0x54, label & 0xff, 0, 0, 0, 0, 1, 0x80]);
  return hmacSha384(key48, msg);
}

/** Buffers are Uint8Arrays, but callers compare with plain Uint8Array semantics (e.g. toEqual). */
function toU8(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}
