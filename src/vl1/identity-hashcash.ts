/**
 * The memory-hard proof-of-work digest behind identity addresses (spec 1.5).
 *
 * The 2 MiB scratch area and the Salsa20/20 instance are allocated once per process and reused:
 * validating an identity runs this every time a new peer says HELLO, and generation runs it
 * thousands of times. Not re-entrant, which is fine on a single JS thread (nothing here awaits).
 */

import { Salsa20 } from "../crypto/salsa20.ts";
import { sha512Into } from "../crypto/sha.ts";

export const HASHCASH_MEMORY = 2097152;
/** A public key is acceptable when digest[0] is below this (ZT_IDENTITY_GEN_HASHCASH_FIRST_BYTE_LESS_THAN). */
export const HASHCASH_FIRST_BYTE_LESS_THAN = 17;

const WORDS64 = HASHCASH_MEMORY / 8;

let area: Uint8Array | null = null;
let areaWords: Uint32Array | null = null;
const salsa = new Salsa20(20);

/**
 * M and D live in one ArrayBuffer: M = [0, 2 MiB), D = [2 MiB, 2 MiB + 64). The cipher caches a
 * word view per ArrayBuffer, so alternating between them costs nothing.
 */
function scratch(): { bytes: Uint8Array; words: Uint32Array } {
  if (area === null || areaWords === null) {
    area = new Uint8Array(HASHCASH_MEMORY + 64);
    areaWords = new Uint32Array(area.buffer);
  }
  return { bytes: area, words: areaWords };
}

/**
 * Computes the 64-byte digest of a 64-byte public key into out[outOff..outOff+64).
 * Address = digest[59..63]; valid when digest[0] < 17.
 */
export function hashcashDigest(publicKey: Uint8Array, out: Uint8Array = new Uint8Array(64), outOff = 0): Uint8Array {
  if (publicKey.length !== 64) throw new RangeError("hashcashDigest: public key must be 64 bytes");
  const { bytes: m, words: w } = scratch();
  const D = HASHCASH_MEMORY; // byte offset of D in the scratch area
  const DW = D >>> 2;

  sha512Into(publicKey, m, D);
  salsa.init(m, D, m, D + 32);

  // Fill: block i = block i-1 XOR keystream block i. Generate all keystream over zeros in one
  // call, then turn it into the running XOR with a word pass.
  m.fill(0, 0, HASHCASH_MEMORY);
  salsa.xor(m, 0, HASHCASH_MEMORY);
  const memWords = HASHCASH_MEMORY >>> 2;
  for (let i = 16; i < memWords; i++) w[i] = w[i]! ^ w[i - 16]!;

  // Mixing: swap 8-byte words of M with 8-byte words of D, re-encrypting D after each swap.
  for (let k = 0; k < WORDS64; k += 2) {
    const p = k << 3; // byte offset of W(k)
    const a = m[p + 7]! & 7; // BE uint64 mod 8 = low bits of its last byte
    const b = ((m[p + 13]! & 3) << 16) | (m[p + 14]! << 8) | m[p + 15]!; // W(k+1) mod 2^18
    const mw = b << 1;
    const dw = DW + (a << 1);
    const t0 = w[mw]!;
    const t1 = w[mw + 1]!;
    w[mw] = w[dw]!;
    w[mw + 1] = w[dw + 1]!;
    w[dw] = t0;
    w[dw + 1] = t1;
    salsa.xor(m, D, D + 64);
  }

  out.set(m.subarray(D, D + 64), outOff);
  return out;
}
