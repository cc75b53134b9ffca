/**
 * FRAME (spec 4.6) and EXT_FRAME (4.7) payloads as views: parsing fills a caller-owned view with
 * offsets into the packet (no copies); writing puts the header into a caller's buffer in front of
 * a payload that is already there. The network ID is carried as two 32-bit halves so the hot
 * path never builds a bigint.
 */
import { decodeCom } from "./com.ts";
import { type Mac, readMac, writeMac } from "./mac.ts";
import type { NetworkId } from "./network-id.ts";

export const FRAME_HEADER_LENGTH = 10;
export const EXT_FRAME_HEADER_LENGTH = 23;

export const ExtFrameFlags = {
  COM: 0x01,
  /** 3-bit subtype in bits 1..3 (0 normal, 1 tee out, 2 redirect out, 3 watch out, 4 tee in, 5 redirect in, 6 watch in). */
  SUBTYPE_MASK: 0x0e,
  ACK_REQUESTED: 0x10,
} as const;

/** A network ID split for allocation-free comparison. */
export interface NetworkIdHalves {
  hi: number;
  lo: number;
}

export function splitNetworkId(nwid: NetworkId): NetworkIdHalves {
  return { hi: Number(nwid >> 32n), lo: Number(nwid & 0xffffffffn) };
}

export function joinNetworkId(h: NetworkIdHalves): NetworkId {
  return (BigInt(h.hi) << 32n) | BigInt(h.lo);
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function putU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

export class FrameView implements NetworkIdHalves {
  hi = 0;
  lo = 0;
  etherType = 0;
  payloadStart = 0;
  payloadEnd = 0;
}

/** Parses FRAME at buf[start, end). Returns null on success, else the reason. */
export function parseFrame(buf: Uint8Array, start: number, end: number, out: FrameView): string | null {
  if (end - start < FRAME_HEADER_LENGTH) return "truncated FRAME";
  out.hi = u32(buf, start);
  out.lo = u32(buf, start + 4);
  out.etherType = (buf[start + 8]! << 8) | buf[start + 9]!;
  out.payloadStart = start + FRAME_HEADER_LENGTH;
  out.payloadEnd = end;
  return null;
}

/** Writes a FRAME header at buf[off]; returns its length (10). */
export function writeFrameHeader(buf: Uint8Array, off: number, nwid: NetworkIdHalves, etherType: number): number {
  putU32(buf, off, nwid.hi);
  putU32(buf, off + 4, nwid.lo);
  buf[off + 8] = etherType >> 8;
  buf[off + 9] = etherType & 0xff;
  return FRAME_HEADER_LENGTH;
}

export class ExtFrameView implements NetworkIdHalves {
  hi = 0;
  lo = 0;
  flags = 0;
  /** [comStart, comEnd) when flags & COM, else equal. */
  comStart = 0;
  comEnd = 0;
  destMac: Mac = 0;
  sourceMac: Mac = 0;
  etherType = 0;
  payloadStart = 0;
  payloadEnd = 0;
}

export function parseExtFrame(buf: Uint8Array, start: number, end: number, out: ExtFrameView): string | null {
  if (end - start < 9) return "truncated EXT_FRAME";
  out.hi = u32(buf, start);
  out.lo = u32(buf, start + 4);
  out.flags = buf[start + 8]!;
  let p = start + 9;
  out.comStart = p;
  if ((out.flags & ExtFrameFlags.COM) !== 0) {
    // deprecated and never sent by 1.14, so decoding it here (with its allocations) is fine
    const c = decodeCom(buf, p, end);
    if (!c.ok) return `EXT_FRAME: ${c.error}`;
    p += c.value.length;
  }
  out.comEnd = p;
  if (end - p < 14) return "truncated EXT_FRAME header";
  out.destMac = readMac(buf, p);
  out.sourceMac = readMac(buf, p + 6);
  out.etherType = (buf[p + 12]! << 8) | buf[p + 13]!;
  out.payloadStart = p + 14;
  out.payloadEnd = end;
  return null;
}

/** Writes an EXT_FRAME header (without COM) at buf[off]; returns its length (23). */
export function writeExtFrameHeader(buf: Uint8Array, off: number, nwid: NetworkIdHalves, flags: number, destMac: Mac, sourceMac: Mac, etherType: number): number {
  putU32(buf, off, nwid.hi);
  putU32(buf, off + 4, nwid.lo);
  buf[off + 8] = flags & ~ExtFrameFlags.COM;
  writeMac(buf, off + 9, destMac);
  writeMac(buf, off + 15, sourceMac);
  buf[off + 21] = etherType >> 8;
  buf[off + 22] = etherType & 0xff;
  return EXT_FRAME_HEADER_LENGTH;
}
