/**
 * HELLO partial encryption ("cryptField", spec 2.6): the tail of a HELLO payload (from the moon count
 * on) is hidden with Salsa20/12 under the UNmangled K[0..32], nonce = packet ID with the low 3 bits
 * of byte 7 cleared, keystream from counter 0. XOR, so the same call encrypts and decrypts.
 * Sender: build payload -> helloCryptField -> armor(suite 0). Receiver: dearmor -> parse -> helloCryptField.
 */
import type { PeerKeys } from "./peer-keys.ts";

/**
 * XOR the cryptField keystream over pkt[fieldStart, fieldEnd). `start` is the packet start (its ID
 * supplies the nonce); fieldStart/fieldEnd are absolute indices into pkt, like start.
 */
export function helloCryptField(pkt: Uint8Array, start: number, fieldStart: number, fieldEnd: number, keys: PeerKeys): void {
  if (fieldEnd <= fieldStart) return;
  const n = keys.helloNonce;
  for (let i = 0; i < 8; i++) n[i] = pkt[start + i]!;
  n[7]! &= 0xf8;
  keys.salsa.init(keys.key, 0, n, 0);
  keys.salsa.xor(pkt, fieldStart, fieldEnd);
}
