/**
 * Everything needed to armor and dearmor packets with one peer (spec 2.1): the 48-byte agreement key
 * K, its AES-GMAC-SIV keys (K0/K1 by KBKDF), and reusable cipher instances and scratch buffers so the
 * per-packet path allocates nothing (suites 0/1) or only what node:crypto forces (suite 3).
 *
 * An instance is used synchronously by one packet at a time (JS is single-threaded; armor/dearmor
 * never yield), so sharing its scratch between sending and receiving is safe.
 */
import { type AesGmacSiv, createAesGmacSiv } from "../crypto/aes-gmac-siv.ts";
import { Poly1305 } from "../crypto/poly1305.ts";
import { Salsa20 } from "../crypto/salsa20.ts";
import { kbkdfHmacSha384 } from "../crypto/sha.ts";

export const SYMMETRIC_KEY_LEN = 48;

export class PeerKeys {
  /** K: the 48-byte per-peer key (first 32 bytes for Salsa20/12 and the HELLO cryptField). */
  readonly key: Uint8Array;
  readonly siv: AesGmacSiv;
  readonly salsa = new Salsa20(12);
  readonly poly = new Poly1305();
  /** Per-packet mangled Salsa20 key (suites 0/1). */
  readonly mangled = new Uint8Array(32);
  /** Poly1305 one-time key from keystream block 0. */
  readonly polyKey = new Uint8Array(32);
  /** Full Poly1305 tag; only 8 bytes go on the wire. */
  readonly mac = new Uint8Array(16);
  /** Suite 3: the 16-byte SIV tag and the 11-byte AAD with hop bits masked. */
  readonly tag = new Uint8Array(16);
  readonly aad = new Uint8Array(11);
  /** HELLO cryptField nonce (packet ID with the low 3 bits of byte 7 cleared). */
  readonly helloNonce = new Uint8Array(8);

  constructor(key48: Uint8Array) {
    if (key48.length !== SYMMETRIC_KEY_LEN) throw new RangeError(`PeerKeys: key must be ${SYMMETRIC_KEY_LEN} bytes`);
    this.key = key48.slice();
    this.siv = createAesGmacSiv(kbkdfHmacSha384(this.key, 0x30), kbkdfHmacSha384(this.key, 0x31));
  }
}
