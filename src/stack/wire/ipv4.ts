/**
 * IPv4 header (RFC 791) as a view. `parseIpv4` fills a caller-owned `Ipv4Header` (reused per
 * packet, so nothing is allocated) after checking lengths and the header checksum. Options are
 * skipped by honouring IHL; the stack acts on none of them.
 */
import { checksum } from "./checksum.ts";
import { readU16, readU32, writeU16, writeU32 } from "./bytes.ts";

export const IPV4_MIN_HEADER = 20;
export const IPV4_FLAG_DF = 0x4000;
export const IPV4_FLAG_MF = 0x2000;
export const IPV4_DEFAULT_TTL = 64;

/** The parsed fields of one header; reused across packets. */
export class Ipv4Header {
  headerLen = 0;
  tos = 0;
  totalLen = 0;
  id = 0;
  dontFragment = false;
  moreFragments = false;
  /** Fragment offset in bytes. */
  fragOffset = 0;
  ttl = 0;
  proto = 0;
  src = 0;
  dst = 0;

  get isFragment(): boolean {
    return this.moreFragments || this.fragOffset !== 0;
  }
}

/** Why a datagram was rejected; "ok" when the header is usable. */
export type Ipv4Check = "ok" | "truncated" | "bad-version" | "bad-header-length" | "bad-total-length" | "bad-checksum";

/**
 * Validate buf[start, end) as an IPv4 datagram and fill `out`. Link padding after totalLen is
 * allowed (Ethernet pads short frames); a datagram longer than the bytes present is not.
 */
export function parseIpv4(buf: Uint8Array, start: number, end: number, out: Ipv4Header): Ipv4Check {
  const avail = end - start;
  if (avail < IPV4_MIN_HEADER) return "truncated";
  const vihl = buf[start]!;
  if (vihl >>> 4 !== 4) return "bad-version";
  const hlen = (vihl & 15) * 4;
  if (hlen < IPV4_MIN_HEADER || hlen > avail) return "bad-header-length";
  const total = readU16(buf, start + 2);
  if (total < hlen || total > avail) return "bad-total-length";
  if (checksum(buf, start, start + hlen) !== 0) return "bad-checksum";
  const frag = readU16(buf, start + 6);
  out.headerLen = hlen;
  out.tos = buf[start + 1]!;
  out.totalLen = total;
  out.id = readU16(buf, start + 4);
  out.dontFragment = (frag & IPV4_FLAG_DF) !== 0;
  out.moreFragments = (frag & IPV4_FLAG_MF) !== 0;
  out.fragOffset = (frag & 0x1fff) * 8;
  out.ttl = buf[start + 8]!;
  out.proto = buf[start + 9]!;
  out.src = readU32(buf, start + 12);
  out.dst = readU32(buf, start + 16);
  return "ok";
}

/**
 * Write a 20-byte header (no options) at buf[start, start + 20), checksum included.
 * `fragField` is the raw flags+offset word (offset in 8-byte units); 0 for an unfragmented datagram.
 */
export function emitIpv4(
  buf: Uint8Array,
  start: number,
  totalLen: number,
  id: number,
  fragField: number,
  ttl: number,
  proto: number,
  src: number,
  dst: number,
  tos = 0,
): void {
  buf[start] = 0x45;
  buf[start + 1] = tos;
  writeU16(buf, start + 2, totalLen);
  writeU16(buf, start + 4, id);
  writeU16(buf, start + 6, fragField);
  buf[start + 8] = ttl;
  buf[start + 9] = proto;
  buf[start + 10] = 0;
  buf[start + 11] = 0;
  writeU32(buf, start + 12, src);
  writeU32(buf, start + 16, dst);
  writeU16(buf, start + 10, checksum(buf, start, start + IPV4_MIN_HEADER));
}

/** Addresses the stack never accepts as a source: 0.0.0.0/8 (except as unspecified), 127/8, multicast, broadcast. */
export function isMartianSource(a: number): boolean {
  const first = a >>> 24;
  return first === 127 || first >= 224;
}

export function isMulticastIpv4(a: number): boolean {
  return a >>> 28 === 14;
}

/** Network mask for a prefix length (0..32) as an unsigned 32-bit number. */
export function prefixMask(prefixLen: number): number {
  return prefixLen <= 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
}
