/**
 * Fragments (spec 3.5): an armored packet longer than the physical MTU travels as a head (its first
 * MTU bytes, unchanged) plus fragments 1..T−1, each a 16-byte fragment header and a chunk of at most
 * MTU − 16 bytes. The fragmented flag in the head must already be set before armoring (it is
 * authenticated); `fragmentCount` tells the sender whether it is needed.
 */

import { copyBytes } from "../../ffi/copy-bytes.ts";
import { type Address, readAddress, writeAddress } from "./address.ts";
import { DEFAULT_PHYSMTU, IDX_DEST, IDX_PACKET_ID, MAX_PACKET_FRAGMENTS, MIN_PACKET_LENGTH } from "./packet.ts";

export const FRAGMENT_IDX_PACKET_ID = 0;
export const FRAGMENT_IDX_DEST = 8;
export const FRAGMENT_IDX_INDICATOR = 13;
export const FRAGMENT_IDX_NUMBERS = 14;
export const FRAGMENT_IDX_HOPS = 15;
export const FRAGMENT_IDX_PAYLOAD = 16;
export const FRAGMENT_HEADER_LENGTH = 16;
/** Byte 13 of a fragment; no valid source address starts with 0xff, so heads never have it. */
export const FRAGMENT_INDICATOR = 0xff;

/** What a received datagram is, from its length and byte 13 (spec 3.5, 3.10). */
export const DatagramKind = {
  /** Too short for anything, or not recognisable. */
  INVALID: 0,
  HEAD: 1,
  FRAGMENT: 2,
  /** Legacy 13-byte LAN beacon. */
  BEACON: 3,
} as const;
export type DatagramKind = (typeof DatagramKind)[keyof typeof DatagramKind];

export function classifyDatagram(buf: Uint8Array, start: number, end: number): DatagramKind {
  const len = end - start;
  if (len > FRAGMENT_HEADER_LENGTH && buf[start + FRAGMENT_IDX_INDICATOR] === FRAGMENT_INDICATOR) return DatagramKind.FRAGMENT;
  if (len >= MIN_PACKET_LENGTH) return DatagramKind.HEAD;
  if (len === 13) return DatagramKind.BEACON;
  return DatagramKind.INVALID;
}

/** Total pieces T (head included) from byte 14's high nibble. */
export function fragmentTotal(buf: Uint8Array, start: number): number {
  return buf[start + FRAGMENT_IDX_NUMBERS]! >>> 4;
}

/** Fragment number n (1..15) from byte 14's low nibble. */
export function fragmentNumber(buf: Uint8Array, start: number): number {
  return buf[start + FRAGMENT_IDX_NUMBERS]! & 0x0f;
}

export function fragmentHops(buf: Uint8Array, start: number): number {
  return buf[start + FRAGMENT_IDX_HOPS]! & 0x07;
}

export function setFragmentHops(buf: Uint8Array, start: number, h: number): void {
  const i = start + FRAGMENT_IDX_HOPS;
  buf[i] = (buf[i]! & ~0x07) | (h & 0x07);
}

export function fragmentDestination(buf: Uint8Array, start: number): Address {
  return readAddress(buf, start + FRAGMENT_IDX_DEST);
}

/** The rules 1.14 applies before accepting a fragment: 1 < T ≤ 7, 1 ≤ n < T. */
export function isAcceptableFragment(buf: Uint8Array, start: number, end: number): boolean {
  if (end - start <= FRAGMENT_HEADER_LENGTH || buf[start + FRAGMENT_IDX_INDICATOR] !== FRAGMENT_INDICATOR) return false;
  const t = fragmentTotal(buf, start);
  const n = fragmentNumber(buf, start);
  return t > 1 && t <= MAX_PACKET_FRAGMENTS && n >= 1 && n < t;
}

/**
 * Writes a fragment header at out[outStart]: packet ID and destination copied from the armored head,
 * indicator, T/n nibbles, hops 0.
 */
export function writeFragmentHeader(
  out: Uint8Array,
  outStart: number,
  head: Uint8Array,
  headStart: number,
  total: number,
  n: number,
): void {
  for (let i = 0; i < 8; i++) out[outStart + FRAGMENT_IDX_PACKET_ID + i] = head[headStart + IDX_PACKET_ID + i]!;
  for (let i = 0; i < 5; i++) out[outStart + FRAGMENT_IDX_DEST + i] = head[headStart + IDX_DEST + i]!;
  out[outStart + FRAGMENT_IDX_INDICATOR] = FRAGMENT_INDICATOR;
  out[outStart + FRAGMENT_IDX_NUMBERS] = ((total & 0x0f) << 4) | (n & 0x0f);
  out[outStart + FRAGMENT_IDX_HOPS] = 0;
}

/** Writes just a destination into a fragment header (tests, relays). */
export function setFragmentDestination(buf: Uint8Array, start: number, a: Address): void {
  writeAddress(buf, start + FRAGMENT_IDX_DEST, a);
}

/**
 * Number of datagrams a packet of `length` bytes needs at this MTU (1 = no fragmentation), or -1 if
 * it would need more than 1.14 receivers accept.
 */
export function fragmentCount(length: number, mtu: number = DEFAULT_PHYSMTU): number {
  if (length <= mtu) return 1;
  const chunk = mtu - FRAGMENT_HEADER_LENGTH;
  const t = 1 + Math.ceil((length - mtu) / chunk);
  return t <= MAX_PACKET_FRAGMENTS ? t : -1;
}

/**
 * Writes datagram n (0 = head, 1..T−1 = fragment) of the armored packet pkt[start, end) into
 * out[outStart…]; returns its length, or -1 if n is out of range or out is too small.
 * For n = 0 this copies the head; senders that can send pkt[start, start + mtu) directly need not.
 */
export function writeFragment(
  pkt: Uint8Array,
  start: number,
  end: number,
  mtu: number,
  n: number,
  out: Uint8Array,
  outStart: number,
): number {
  const total = fragmentCount(end - start, mtu);
  if (total < 0 || n < 0 || n >= total) return -1;
  if (n === 0) {
    const len = Math.min(end - start, mtu);
    if (outStart + len > out.length) return -1;
    copyBytes(out, outStart, pkt, start, start + len);
    return len;
  }
  const chunk = mtu - FRAGMENT_HEADER_LENGTH;
  const from = start + mtu + (n - 1) * chunk;
  const to = Math.min(from + chunk, end);
  const len = FRAGMENT_HEADER_LENGTH + (to - from);
  if (outStart + len > out.length) return -1;
  writeFragmentHeader(out, outStart, pkt, start, total, n);
  copyBytes(out, outStart + FRAGMENT_HEADER_LENGTH, pkt, from, to);
  return len;
}

/** Receives each datagram of a split packet; buf[start, end) is only valid during the call. */
export type DatagramSink = (buf: Uint8Array, start: number, end: number, n: number, total: number) => void;

/**
 * Splits the armored packet pkt[start, end) for sending. The head is handed to the sink as a view of
 * pkt itself; each fragment is built in `scratch` (≥ mtu bytes, reused between calls). Returns T, or
 * -1 (nothing emitted) if more than MAX_PACKET_FRAGMENTS pieces would be needed or scratch is too small.
 * The caller must have set the fragmented flag before armoring when T > 1.
 */
export function splitPacket(
  pkt: Uint8Array,
  start: number,
  end: number,
  mtu: number,
  scratch: Uint8Array,
  sink: DatagramSink,
): number {
  const total = fragmentCount(end - start, mtu);
  if (total < 0 || (total > 1 && scratch.length < mtu)) return -1;
  sink(pkt, start, Math.min(end, start + mtu), 0, total);
  for (let n = 1; n < total; n++) {
    const len = writeFragment(pkt, start, end, mtu, n, scratch, 0);
    sink(scratch, 0, len, n, total);
  }
  return total;
}
