/**
 * UDP header (RFC 768) as a view. Checksum 0 means "not computed" on receive; on send a computed
 * 0 is transmitted as 0xffff.
 */
import { IPPROTO_UDP } from "../link.ts";
import { checksum, pseudoHeaderSumV4 } from "./checksum.ts";
import { readU16, writeU16 } from "./bytes.ts";

export const UDP_HEADER_LEN = 8;

export type UdpCheck = "ok" | "truncated" | "bad-length" | "bad-checksum";

/**
 * Validate the UDP datagram in buf[start, end) (end = end of the IP payload). The UDP length field
 * may be shorter than the IP payload (trailing bytes are ignored) but never longer.
 */
export function checkUdp(buf: Uint8Array, start: number, end: number, src: number, dst: number): UdpCheck {
  if (end - start < UDP_HEADER_LEN) return "truncated";
  const len = readU16(buf, start + 4);
  if (len < UDP_HEADER_LEN || len > end - start) return "bad-length";
  if (readU16(buf, start + 6) !== 0) {
    if (checksum(buf, start, start + len, pseudoHeaderSumV4(src, dst, IPPROTO_UDP, len)) !== 0) return "bad-checksum";
  }
  return "ok";
}

export function udpSrcPort(buf: Uint8Array, start: number): number {
  return readU16(buf, start);
}
export function udpDstPort(buf: Uint8Array, start: number): number {
  return readU16(buf, start + 2);
}
export function udpLength(buf: Uint8Array, start: number): number {
  return readU16(buf, start + 4);
}

/**
 * Write the UDP header at buf[start, start + 8) for a payload already at buf[start + 8, end), and
 * compute the checksum over the pseudo-header, header and payload.
 */
export function emitUdp(buf: Uint8Array, start: number, end: number, srcPort: number, dstPort: number, src: number, dst: number): void {
  const len = end - start;
  writeU16(buf, start, srcPort);
  writeU16(buf, start + 2, dstPort);
  writeU16(buf, start + 4, len);
  buf[start + 6] = 0;
  buf[start + 7] = 0;
  const c = checksum(buf, start, end, pseudoHeaderSumV4(src, dst, IPPROTO_UDP, len));
  writeU16(buf, start + 6, c === 0 ? 0xffff : c);
}
