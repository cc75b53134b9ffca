/**
 * VL1 packet head: field offsets, constants and accessors over a byte buffer (spec 3.1-3.6).
 *
 * Every accessor takes (buf, start) where `start` is the offset of the packet's first byte, so a
 * packet can sit behind headroom in a larger preallocated buffer. Nothing here allocates: packet IDs
 * are handled as two unsigned 32-bit halves and addresses as plain numbers (40 bits fit a double).
 * Callers check `end - start >= MIN_PACKET_LENGTH` before reading fields.
 */

import { type Address, readAddress, writeAddress } from "./address.ts";

// ---- protocol constants (spec 0, 3.6) ----

export const PROTOCOL_VERSION = 12;
export const PROTOCOL_VERSION_MIN = 4;

/** Max UDP payload per datagram (head size and fragment size) unless configured otherwise. */
export const DEFAULT_PHYSMTU = 1432;
/** Lower clamp for a configured physical MTU. */
export const MIN_PHYSMTU = 1400;
/** 1.14 receivers accept at most this many pieces (head included) although the header allows 16. */
export const MAX_PACKET_FRAGMENTS = 7;
/** Largest assembled packet: MAX_PACKET_FRAGMENTS × DEFAULT_PHYSMTU. */
export const MAX_PACKET_LENGTH = 10024;
/** Default virtual Ethernet MTU. */
export const DEFAULT_MTU = 2800;
/** Largest virtual network MTU. */
export const MAX_MTU = 10000;

// ---- head layout (spec 3.1) ----

export const IDX_PACKET_ID = 0;
export const IDX_DEST = 8;
export const IDX_SOURCE = 13;
export const IDX_FLAGS = 18;
export const IDX_MAC = 19;
export const IDX_VERB = 27;
export const IDX_PAYLOAD = 28;
/** Header plus verb byte: the shortest datagram that can be a packet head. */
export const MIN_PACKET_LENGTH = 28;
/** Size of the region before the verb byte (the part that is never encrypted). */
export const HEADER_LENGTH = 27;

// ---- byte 18 (spec 3.2) ----

/** Legacy "encrypted" flag; senders set it iff cipher suite 1. Authenticated, otherwise ignored. */
export const FLAG_ENCRYPTED = 0x80;
/** More fragments follow this head. Authenticated, so it must be decided before armoring. */
export const FLAG_FRAGMENTED = 0x40;
export const FLAGS_CIPHER_MASK = 0x38;
export const FLAGS_HOPS_MASK = 0x07;
/** Relays stop forwarding once the hop count reaches this (spec 3.9). */
export const RELAY_MAX_HOPS = 3;

export const CIPHER_POLY1305_NONE = 0;
export const CIPHER_SALSA2012_POLY1305 = 1;
export const CIPHER_NONE_TRUSTED_PATH = 2;
export const CIPHER_AES_GMAC_SIV = 3;

// ---- byte 27 (spec 3.3) ----

export const VERB_FLAG_COMPRESSED = 0x80;
export const VERB_MASK = 0x1f;

// ---- verbs (spec 4.0) ----

export const Verb = {
  NOP: 0x00,
  HELLO: 0x01,
  ERROR: 0x02,
  OK: 0x03,
  WHOIS: 0x04,
  RENDEZVOUS: 0x05,
  FRAME: 0x06,
  EXT_FRAME: 0x07,
  ECHO: 0x08,
  MULTICAST_LIKE: 0x09,
  NETWORK_CREDENTIALS: 0x0a,
  NETWORK_CONFIG_REQUEST: 0x0b,
  NETWORK_CONFIG: 0x0c,
  MULTICAST_GATHER: 0x0d,
  MULTICAST_FRAME: 0x0e,
  PUSH_DIRECT_PATHS: 0x10,
  ACK: 0x12,
  QOS_MEASUREMENT: 0x13,
  USER_MESSAGE: 0x14,
  REMOTE_TRACE: 0x15,
  PATH_NEGOTIATION_REQUEST: 0x16,
} as const;
export type VerbName = keyof typeof Verb;
export type VerbCode = (typeof Verb)[VerbName];

/**
 * Verb names indexed by code (0..31); null for unassigned codes (0x0f, 0x11, 0x17..0x1f).
 * The lower-case form of these is what zerotier-one's `zt_packet{packet_type}` metric uses.
 */
export const VERB_NAMES: readonly (VerbName | null)[] = (() => {
  const names: (VerbName | null)[] = new Array<VerbName | null>(32).fill(null);
  for (const name of Object.keys(Verb) as VerbName[]) names[Verb[name]] = name;
  return names;
})();

export function verbName(code: number): VerbName | null {
  return VERB_NAMES[code & VERB_MASK] ?? null;
}

// ---- ERROR codes (spec 4.2; the reference's Packet::ErrorCode) ----

export const ErrorCode = {
  NONE: 0x00,
  INVALID_REQUEST: 0x01,
  BAD_PROTOCOL_VERSION: 0x02,
  OBJ_NOT_FOUND: 0x03,
  IDENTITY_COLLISION: 0x04,
  UNSUPPORTED_OPERATION: 0x05,
  NEED_MEMBERSHIP_CERTIFICATE: 0x06,
  NETWORK_ACCESS_DENIED: 0x07,
  UNWANTED_MULTICAST: 0x08,
  NETWORK_AUTHENTICATION_REQUIRED: 0x09,
} as const;

// ---- accessors ----

/** Upper 32 bits of the on-wire packet ID (the half 1.14 remembers for reply matching, spec 3.4). */
export function packetIdHi(buf: Uint8Array, start: number): number {
  return ((buf[start]! << 24) | (buf[start + 1]! << 16) | (buf[start + 2]! << 8) | buf[start + 3]!) >>> 0;
}

export function packetIdLo(buf: Uint8Array, start: number): number {
  return ((buf[start + 4]! << 24) | (buf[start + 5]! << 16) | (buf[start + 6]! << 8) | buf[start + 7]!) >>> 0;
}

export function setPacketId(buf: Uint8Array, start: number, hi: number, lo: number): void {
  writeU32(buf, start, hi);
  writeU32(buf, start + 4, lo);
}

/** Packet ID as a bigint, for logs and tests (allocates; not for the hot path). */
export function packetIdBigInt(buf: Uint8Array, start: number): bigint {
  return (BigInt(packetIdHi(buf, start)) << 32n) | BigInt(packetIdLo(buf, start));
}

/** True when the 8 packet-ID bytes at a and b are equal. */
export function samePacketId(a: Uint8Array, aStart: number, b: Uint8Array, bStart: number): boolean {
  for (let i = 0; i < 8; i++) if (a[aStart + i] !== b[bStart + i]) return false;
  return true;
}

export function destination(buf: Uint8Array, start: number): Address {
  return readAddress(buf, start + IDX_DEST);
}

export function setDestination(buf: Uint8Array, start: number, a: Address): void {
  writeAddress(buf, start + IDX_DEST, a);
}

export function source(buf: Uint8Array, start: number): Address {
  return readAddress(buf, start + IDX_SOURCE);
}

export function setSource(buf: Uint8Array, start: number, a: Address): void {
  writeAddress(buf, start + IDX_SOURCE, a);
}

export function flags(buf: Uint8Array, start: number): number {
  return buf[start + IDX_FLAGS]!;
}

export function cipher(buf: Uint8Array, start: number): number {
  return (buf[start + IDX_FLAGS]! & FLAGS_CIPHER_MASK) >>> 3;
}

/**
 * Sets the cipher suite and, as 1.14 senders do, the legacy encrypted flag iff the suite is 1
 * (the flag is covered by the MAC, so it must be right before armoring).
 */
export function setCipher(buf: Uint8Array, start: number, suite: number): void {
  const i = start + IDX_FLAGS;
  let b = (buf[i]! & ~(FLAGS_CIPHER_MASK | FLAG_ENCRYPTED)) | ((suite & 7) << 3);
  if (suite === CIPHER_SALSA2012_POLY1305) b |= FLAG_ENCRYPTED;
  buf[i] = b;
}

export function hops(buf: Uint8Array, start: number): number {
  return buf[start + IDX_FLAGS]! & FLAGS_HOPS_MASK;
}

export function setHops(buf: Uint8Array, start: number, h: number): void {
  const i = start + IDX_FLAGS;
  buf[i] = (buf[i]! & ~FLAGS_HOPS_MASK) | (h & FLAGS_HOPS_MASK);
}

/** Relay step: adds one hop; returns the new count, or -1 if the packet may not be relayed further. */
export function incrementHops(buf: Uint8Array, start: number): number {
  const h = hops(buf, start);
  if (h >= RELAY_MAX_HOPS) return -1;
  setHops(buf, start, h + 1);
  return h + 1;
}

export function isFragmented(buf: Uint8Array, start: number): boolean {
  return (buf[start + IDX_FLAGS]! & FLAG_FRAGMENTED) !== 0;
}

export function setFragmented(buf: Uint8Array, start: number, on: boolean): void {
  const i = start + IDX_FLAGS;
  buf[i] = on ? buf[i]! | FLAG_FRAGMENTED : buf[i]! & ~FLAG_FRAGMENTED;
}

/** Verb code (0..31) without the compressed bit. Only meaningful after dearmor for suites 1 and 3. */
export function verb(buf: Uint8Array, start: number): number {
  return buf[start + IDX_VERB]! & VERB_MASK;
}

/** Sets the verb and clears the compressed bit. */
export function setVerb(buf: Uint8Array, start: number, v: number): void {
  buf[start + IDX_VERB] = v & VERB_MASK;
}

export function isCompressed(buf: Uint8Array, start: number): boolean {
  return (buf[start + IDX_VERB]! & VERB_FLAG_COMPRESSED) !== 0;
}

export function setCompressed(buf: Uint8Array, start: number, on: boolean): void {
  const i = start + IDX_VERB;
  buf[i] = on ? buf[i]! | VERB_FLAG_COMPRESSED : buf[i]! & ~VERB_FLAG_COMPRESSED;
}

/** Writes a fresh head: ID, addresses, flags byte 0 (suite 0, hops 0, not fragmented), zero MAC, verb. */
export function writeHeader(
  buf: Uint8Array,
  start: number,
  idHi: number,
  idLo: number,
  dest: Address,
  src: Address,
  v: number,
): void {
  setPacketId(buf, start, idHi, idLo);
  writeAddress(buf, start + IDX_DEST, dest);
  writeAddress(buf, start + IDX_SOURCE, src);
  buf[start + IDX_FLAGS] = 0;
  buf.fill(0, start + IDX_MAC, start + IDX_VERB);
  buf[start + IDX_VERB] = v & VERB_MASK;
}

function writeU32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v >>> 24;
  buf[off + 1] = (v >>> 16) & 0xff;
  buf[off + 2] = (v >>> 8) & 0xff;
  buf[off + 3] = v & 0xff;
}
