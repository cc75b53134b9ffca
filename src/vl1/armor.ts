/**
 * Packet armor (spec 2.2-2.4, 3.1-3.2): authenticate and encrypt a whole ZeroTier packet in place.
 *
 * Layout used here (offsets from the packet start): 0 packet ID/IV [8], 8 destination [5],
 * 13 source [5], 18 flags|cipher|hops, 19 MAC [8], 27 verb, 28.. payload.
 */
import type { PeerKeys } from "./peer-keys.ts";

export { PeerKeys } from "./peer-keys.ts";
export { helloCryptField } from "./hello-crypt.ts";

export const CIPHER_POLY1305_NONE = 0;
export const CIPHER_SALSA2012_POLY1305 = 1;
export const CIPHER_AES_GMAC_SIV = 3;
export type ArmorSuite = typeof CIPHER_POLY1305_NONE | typeof CIPHER_SALSA2012_POLY1305 | typeof CIPHER_AES_GMAC_SIV;

export const PACKET_MIN_LENGTH = 28;
export const PACKET_MAX_LENGTH = 10024;

const IDX_FLAGS = 18;
const IDX_MAC = 19;
const IDX_VERB = 27;
const FLAG_ENCRYPTED_LEGACY = 0x80;
const FLAG_FRAGMENTED = 0x40;
const HOPS_MASK = 0x07;

/**
 * Armor pkt[start, end) in place with `suite`. The header (ID, destination, source, fragmented flag,
 * verb, payload) must be complete. Sets the cipher bits, the legacy 0x80 flag (suite 1 only), hops 0,
 * encrypts (suites 1, 3) and writes the MAC (suite 3: tag halves into bytes 0..7 and 19..26).
 */
export function armor(pkt: Uint8Array, start: number, end: number, keys: PeerKeys, suite: ArmorSuite): void {
  const len = end - start;
  if (len < PACKET_MIN_LENGTH || len > 0xffff) throw new RangeError(`armor: bad packet length ${len}`);
  const frag = pkt[start + IDX_FLAGS]! & FLAG_FRAGMENTED;
  if (suite === CIPHER_AES_GMAC_SIV) {
    pkt[start + IDX_FLAGS] = frag | (CIPHER_AES_GMAC_SIV << 3);
    const tag = keys.tag;
    // iv = packet ID, aad = destination || source || flags (hops are 0 here, as the receiver masks them)
    keys.siv.encrypt(pkt, start, pkt, start + 8, start + 19, pkt, start + IDX_VERB, end, tag, 0);
    for (let i = 0; i < 8; i++) {
      pkt[start + i] = tag[i]!;
      pkt[start + IDX_MAC + i] = tag[8 + i]!;
    }
    return;
  }
  if (suite !== CIPHER_POLY1305_NONE && suite !== CIPHER_SALSA2012_POLY1305) {
    throw new RangeError(`armor: unsupported cipher suite ${String(suite)}`);
  }
  pkt[start + IDX_FLAGS] = frag | (suite << 3) | (suite === CIPHER_SALSA2012_POLY1305 ? FLAG_ENCRYPTED_LEGACY : 0);
  salsaPolyStart(pkt, start, len, keys);
  if (suite === CIPHER_SALSA2012_POLY1305) keys.salsa.xor(pkt, start + IDX_VERB, end);
  const poly = keys.poly;
  poly.init(keys.polyKey, 0);
  poly.update(pkt, start + IDX_VERB, end);
  poly.finish(keys.mac, 0);
  const mac = keys.mac;
  for (let i = 0; i < 8; i++) pkt[start + IDX_MAC + i] = mac[i]!;
}

/**
 * Verify and decrypt pkt[start, end) in place. Returns false (never throws) for a bad MAC, an
 * unknown or unsupported suite (2, 4..7), or a length outside [28, 10024]. On false the payload may
 * have been modified; the caller drops the packet. The hop bits are not authenticated and are kept.
 */
export function dearmor(pkt: Uint8Array, start: number, end: number, keys: PeerKeys): boolean {
  const len = end - start;
  if (!(len >= PACKET_MIN_LENGTH && len <= PACKET_MAX_LENGTH) || start < 0 || end > pkt.length) return false;
  const suite = (pkt[start + IDX_FLAGS]! >>> 3) & 7;
  if (suite === CIPHER_AES_GMAC_SIV) {
    const tag = keys.tag;
    const aad = keys.aad;
    for (let i = 0; i < 8; i++) {
      tag[i] = pkt[start + i]!;
      tag[8 + i] = pkt[start + IDX_MAC + i]!;
    }
    for (let i = 0; i < 11; i++) aad[i] = pkt[start + 8 + i]!;
    aad[10]! &= ~HOPS_MASK & 0xff;
    return keys.siv.decrypt(tag, 0, aad, 0, 11, pkt, start + IDX_VERB, end);
  }
  if (suite !== CIPHER_POLY1305_NONE && suite !== CIPHER_SALSA2012_POLY1305) return false;
  salsaPolyStart(pkt, start, len, keys);
  const poly = keys.poly;
  poly.init(keys.polyKey, 0);
  poly.update(pkt, start + IDX_VERB, end);
  const mac = keys.mac;
  poly.finish(mac, 0);
  let diff = 0;
  for (let i = 0; i < 8; i++) diff |= mac[i]! ^ pkt[start + IDX_MAC + i]!;
  if (diff !== 0) return false;
  if (suite === CIPHER_SALSA2012_POLY1305) keys.salsa.xor(pkt, start + IDX_VERB, end);
  return true;
}

/**
 * Suites 0/1: derive the per-packet key (K[0..32] mangled with the header and length), start
 * Salsa20/12 with the packet ID as nonce, take the Poly1305 key from keystream block 0 and leave the
 * stream positioned at block 1.
 */
function salsaPolyStart(pkt: Uint8Array, start: number, len: number, keys: PeerKeys): void {
  const k = keys.key;
  const m = keys.mangled;
  for (let i = 0; i < 18; i++) m[i] = k[i]! ^ pkt[start + i]!;
  m[18] = k[18]! ^ (pkt[start + IDX_FLAGS]! & 0xf8);
  m[19] = k[19]! ^ (len & 0xff);
  m[20] = k[20]! ^ ((len >>> 8) & 0xff);
  for (let i = 21; i < 32; i++) m[i] = k[i]!;
  const s = keys.salsa;
  s.init(m, 0, pkt, start);
  s.keystream(keys.polyKey, 0, 32);
  s.skip(32);
}
