/**
 * Pointers for bun:ffi made only from a typed array and a range checked against its length: the
 * AES-GMAC-SIV implementations on native code (aes-gmac-siv-native.ts, aes-gmac-siv-aesni.ts)
 * hand C nothing else.
 */
import { type Pointer, ptr } from "bun:ffi";

/** A pointer to view[off, off + len) after checking that range lies inside the view. */
export function span(view: Uint8Array, off: number, len: number): Pointer {
  checkRange(view, off, len);
  return ptr(view, off);
}

/** Throws unless view[off, off + len) lies inside the view (the IV and tag, copied in JS, too). */
export function checkRange(view: Uint8Array, off: number, len: number): void {
  if (!Number.isInteger(off) || !Number.isInteger(len) || off < 0 || len < 0 || off + len > view.length) {
    throw new RangeError(`aes-gmac-siv: range ${off}+${len} outside a ${view.length}-byte buffer`);
  }
}
