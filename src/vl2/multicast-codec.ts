/**
 * Payloads of the multicast verbs (spec 4.9, 4.14, 4.15): MULTICAST_LIKE records, MULTICAST_GATHER
 * and its OK, MULTICAST_FRAME and its OK. Parsers return views/offsets or small records; writers
 * fill caller buffers. Malformed input is a reason string, never an exception.
 */
import type { Address } from "../vl1/address.ts";
import { readAddress, writeAddress } from "../vl1/address.ts";
import { decodeCom } from "./com.ts";
import { type NetworkIdHalves } from "./frame-codec.ts";
import { type Mac, readMac, writeMac } from "./mac.ts";
import { type MulticastGroup, readMulticastGroup, writeMulticastGroup } from "./multicast-group.ts";

export const MULTICAST_LIKE_RECORD_LENGTH = 18;

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function putU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

function putNwid(b: Uint8Array, o: number, n: NetworkIdHalves): void {
  putU32(b, o, n.hi);
  putU32(b, o + 4, n.lo);
}

// ---- MULTICAST_LIKE ----

/**
 * Calls `each` for every (network, group) record; a trailing partial record is an error. The
 * network-ID object passed to `each` is reused between records: copy it to keep it.
 */
export function parseMulticastLikes(buf: Uint8Array, start: number, end: number, each: (nwid: NetworkIdHalves, group: MulticastGroup) => void): string | null {
  if ((end - start) % MULTICAST_LIKE_RECORD_LENGTH !== 0) return `MULTICAST_LIKE length ${end - start} is not a multiple of 18`;
  const n = { hi: 0, lo: 0 };
  for (let p = start; p < end; p += MULTICAST_LIKE_RECORD_LENGTH) {
    n.hi = u32(buf, p);
    n.lo = u32(buf, p + 4);
    each(n, readMulticastGroup(buf, p + 8));
  }
  return null;
}

/** Writes one record at buf[off]; returns 18. */
export function writeMulticastLike(buf: Uint8Array, off: number, nwid: NetworkIdHalves, group: MulticastGroup): number {
  putNwid(buf, off, nwid);
  writeMulticastGroup(buf, off + 8, group);
  return MULTICAST_LIKE_RECORD_LENGTH;
}

// ---- MULTICAST_GATHER ----

export interface MulticastGather {
  readonly nwid: NetworkIdHalves;
  readonly flags: number;
  readonly group: MulticastGroup;
  readonly gatherLimit: number;
  /** [comStart, comEnd) if flags & 0x01. */
  readonly comStart: number;
  readonly comEnd: number;
}

export function parseMulticastGather(buf: Uint8Array, start: number, end: number): MulticastGather | string {
  if (end - start < 23) return "truncated MULTICAST_GATHER";
  const flags = buf[start + 8]!;
  let comEnd = start + 23;
  if ((flags & 0x01) !== 0) {
    const c = decodeCom(buf, start + 23, end);
    if (!c.ok) return `MULTICAST_GATHER: ${c.error}`;
    comEnd += c.value.length;
  }
  return {
    nwid: { hi: u32(buf, start), lo: u32(buf, start + 4) },
    flags,
    group: readMulticastGroup(buf, start + 9),
    gatherLimit: u32(buf, start + 19),
    comStart: start + 23,
    comEnd,
  };
}

/** Writes a GATHER at buf[off] with an optional serialized COM; returns bytes written. */
export function writeMulticastGather(buf: Uint8Array, off: number, nwid: NetworkIdHalves, group: MulticastGroup, gatherLimit: number, com: Uint8Array | null): number {
  putNwid(buf, off, nwid);
  buf[off + 8] = com === null ? 0 : 0x01;
  writeMulticastGroup(buf, off + 9, group);
  putU32(buf, off + 19, gatherLimit);
  if (com === null) return 23;
  buf.set(com, off + 23);
  return 23 + com.length;
}

// ---- gather results (OK(MULTICAST_GATHER) and the tail of OK(MULTICAST_FRAME)) ----

export interface GatherResults {
  readonly totalKnown: number;
  readonly members: Address[];
}

function parseGatherResults(buf: Uint8Array, p: number, end: number, what: string): GatherResults | string {
  if (end - p < 6) return `truncated ${what} results`;
  const totalKnown = u32(buf, p);
  const count = (buf[p + 4]! << 8) | buf[p + 5]!;
  if (end - p - 6 < count * 5) return `${what}: ${count} addresses do not fit`;
  const members: Address[] = [];
  for (let i = 0; i < count; i++) members.push(readAddress(buf, p + 6 + 5 * i));
  return { totalKnown, members };
}

function writeGatherResults(buf: Uint8Array, off: number, totalKnown: number, members: readonly Address[]): number {
  putU32(buf, off, totalKnown);
  buf[off + 4] = members.length >> 8;
  buf[off + 5] = members.length & 0xff;
  for (let i = 0; i < members.length; i++) writeAddress(buf, off + 6 + 5 * i, members[i]!);
  return 6 + 5 * members.length;
}

export interface OkMulticastGather extends GatherResults {
  readonly nwid: NetworkIdHalves;
  readonly group: MulticastGroup;
}

/** Body of OK(MULTICAST_GATHER) after the 9-byte in-re header. */
export function parseOkMulticastGather(buf: Uint8Array, start: number, end: number): OkMulticastGather | string {
  if (end - start < 18) return "truncated OK(MULTICAST_GATHER)";
  const r = parseGatherResults(buf, start + 18, end, "OK(MULTICAST_GATHER)");
  if (typeof r === "string") return r;
  return { nwid: { hi: u32(buf, start), lo: u32(buf, start + 4) }, group: readMulticastGroup(buf, start + 8), ...r };
}

export function writeOkMulticastGather(buf: Uint8Array, off: number, nwid: NetworkIdHalves, group: MulticastGroup, totalKnown: number, members: readonly Address[]): number {
  putNwid(buf, off, nwid);
  writeMulticastGroup(buf, off + 8, group);
  return 18 + writeGatherResults(buf, off + 18, totalKnown, members);
}

// ---- MULTICAST_FRAME ----

export const MulticastFrameFlags = { COM: 0x01, GATHER_LIMIT: 0x02, SOURCE_MAC: 0x04, PLEASE_REPLICATE: 0x08 } as const;

export class MulticastFrameView implements NetworkIdHalves {
  hi = 0;
  lo = 0;
  flags = 0;
  /** 0 when absent. */
  gatherLimit = 0;
  /** -1 when absent (then the source MAC is derived from the sender's address). */
  sourceMac: Mac = -1;
  group: MulticastGroup = { mac: 0, adi: 0 };
  etherType = 0;
  payloadStart = 0;
  payloadEnd = 0;
}

export function parseMulticastFrame(buf: Uint8Array, start: number, end: number, out: MulticastFrameView): string | null {
  if (end - start < 9) return "truncated MULTICAST_FRAME";
  out.hi = u32(buf, start);
  out.lo = u32(buf, start + 4);
  const flags = buf[start + 8]!;
  out.flags = flags;
  let p = start + 9;
  if ((flags & MulticastFrameFlags.COM) !== 0) {
    const c = decodeCom(buf, p, end);
    if (!c.ok) return `MULTICAST_FRAME: ${c.error}`;
    p += c.value.length;
  }
  out.gatherLimit = 0;
  if ((flags & MulticastFrameFlags.GATHER_LIMIT) !== 0) {
    if (end - p < 4) return "truncated MULTICAST_FRAME gather limit";
    out.gatherLimit = u32(buf, p);
    p += 4;
  }
  out.sourceMac = -1;
  if ((flags & MulticastFrameFlags.SOURCE_MAC) !== 0) {
    if (end - p < 6) return "truncated MULTICAST_FRAME source MAC";
    out.sourceMac = readMac(buf, p);
    p += 6;
  }
  if (end - p < 12) return "truncated MULTICAST_FRAME header";
  out.group = readMulticastGroup(buf, p);
  out.etherType = (buf[p + 10]! << 8) | buf[p + 11]!;
  out.payloadStart = p + 12;
  out.payloadEnd = end;
  return null;
}

/** Header length for these options (no COM: 1.14 never sends one). */
export function multicastFrameHeaderLength(gatherLimit: number | null, sourceMac: Mac | null): number {
  return 9 + (gatherLimit === null ? 0 : 4) + (sourceMac === null ? 0 : 6) + 12;
}

export function writeMulticastFrameHeader(
  buf: Uint8Array,
  off: number,
  nwid: NetworkIdHalves,
  group: MulticastGroup,
  etherType: number,
  gatherLimit: number | null,
  sourceMac: Mac | null,
  pleaseReplicate = false,
): number {
  putNwid(buf, off, nwid);
  let flags = 0;
  let p = off + 9;
  if (gatherLimit !== null) {
    flags |= MulticastFrameFlags.GATHER_LIMIT;
    putU32(buf, p, gatherLimit);
    p += 4;
  }
  if (sourceMac !== null) {
    flags |= MulticastFrameFlags.SOURCE_MAC;
    writeMac(buf, p, sourceMac);
    p += 6;
  }
  if (pleaseReplicate) flags |= MulticastFrameFlags.PLEASE_REPLICATE;
  buf[off + 8] = flags;
  writeMulticastGroup(buf, p, group);
  buf[p + 10] = etherType >> 8;
  buf[p + 11] = etherType & 0xff;
  return p + 12 - off;
}

export interface OkMulticastFrame {
  readonly nwid: NetworkIdHalves;
  readonly group: MulticastGroup;
  readonly flags: number;
  readonly gather: GatherResults | null;
}

/** Body of OK(MULTICAST_FRAME) after the 9-byte in-re header. */
export function parseOkMulticastFrame(buf: Uint8Array, start: number, end: number): OkMulticastFrame | string {
  if (end - start < 19) return "truncated OK(MULTICAST_FRAME)";
  const flags = buf[start + 18]!;
  let p = start + 19;
  if ((flags & 0x01) !== 0) {
    const c = decodeCom(buf, p, end);
    if (!c.ok) return `OK(MULTICAST_FRAME): ${c.error}`;
    p += c.value.length;
  }
  let gather: GatherResults | null = null;
  if ((flags & 0x02) !== 0) {
    const r = parseGatherResults(buf, p, end, "OK(MULTICAST_FRAME)");
    if (typeof r === "string") return r;
    gather = r;
  }
  return { nwid: { hi: u32(buf, start), lo: u32(buf, start + 4) }, group: readMulticastGroup(buf, start + 8), flags, gather };
}

export function writeOkMulticastFrame(buf: Uint8Array, off: number, nwid: NetworkIdHalves, group: MulticastGroup, totalKnown: number, members: readonly Address[]): number {
  putNwid(buf, off, nwid);
  writeMulticastGroup(buf, off + 8, group);
  buf[off + 18] = 0x02;
  return 19 + writeGatherResults(buf, off + 19, totalKnown, members);
}

/**
 * MULTICAST_LIKE payloads announcing `groups` of one network, each payload within `maxPayload`
 * bytes (1.14 starts a new packet when the next record would not fit). Pass the groups sorted
 * (compareMulticastGroups) to announce them in 1.14's order.
 */
export function multicastLikePayloads(nwid: NetworkIdHalves, groups: readonly MulticastGroup[], maxPayload = 10000 - 28): Uint8Array[] {
  const perPacket = Math.max(1, Math.floor(maxPayload / MULTICAST_LIKE_RECORD_LENGTH));
  const out: Uint8Array[] = [];
  for (let i = 0; i < groups.length; i += perPacket) {
    const n = Math.min(perPacket, groups.length - i);
    const b = new Uint8Array(n * MULTICAST_LIKE_RECORD_LENGTH);
    for (let k = 0; k < n; k++) writeMulticastLike(b, k * MULTICAST_LIKE_RECORD_LENGTH, nwid, groups[i + k]!);
    out.push(b);
  }
  return out;
}
