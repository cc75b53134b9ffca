/**
 * ICMPv4 (RFC 792, RFC 1191 for "fragmentation needed"). Echo is answered in place; errors quote
 * the offending datagram's header and the first 8 bytes of its payload (the minimum RFC 792
 * requires; more would be allowed by RFC 1812, but 8 covers TCP/UDP ports and TCP's sequence).
 */
import { checksum } from "./checksum.ts";
import { readU16, writeU16 } from "./bytes.ts";

export const ICMP_HEADER_LEN = 8;
export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACHABLE = 3;
export const ICMP_SOURCE_QUENCH = 4;
export const ICMP_REDIRECT = 5;
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAMETER_PROBLEM = 12;

/** Destination-unreachable codes. */
export const UNREACH_NET = 0;
export const UNREACH_HOST = 1;
export const UNREACH_PROTOCOL = 2;
export const UNREACH_PORT = 3;
export const UNREACH_FRAG_NEEDED = 4;

/** Time-exceeded codes. */
export const TIME_EXCEEDED_TTL = 0;
export const TIME_EXCEEDED_REASSEMBLY = 1;

export type IcmpCheck = "ok" | "truncated" | "bad-checksum";

/** Validate buf[start, end) as an ICMP message (header length and checksum over the whole message). */
export function checkIcmp(buf: Uint8Array, start: number, end: number): IcmpCheck {
  if (end - start < ICMP_HEADER_LEN) return "truncated";
  if (checksum(buf, start, end) !== 0) return "bad-checksum";
  return "ok";
}

export function icmpType(buf: Uint8Array, start: number): number {
  return buf[start]!;
}
export function icmpCode(buf: Uint8Array, start: number): number {
  return buf[start + 1]!;
}
/** Echo identifier / sequence (types 0 and 8). */
export function icmpEchoId(buf: Uint8Array, start: number): number {
  return readU16(buf, start + 4);
}
export function icmpEchoSeq(buf: Uint8Array, start: number): number {
  return readU16(buf, start + 6);
}
/** Next-hop MTU of a "fragmentation needed" message (RFC 1191); 0 when the sender did not set it. */
export function icmpNextHopMtu(buf: Uint8Array, start: number): number {
  return readU16(buf, start + 6);
}

/** True for the types whose body quotes a datagram we sent (errors, not queries). */
export function isIcmpError(type: number): boolean {
  return (
    type === ICMP_DEST_UNREACHABLE ||
    type === ICMP_SOURCE_QUENCH ||
    type === ICMP_TIME_EXCEEDED ||
    type === ICMP_PARAMETER_PROBLEM
  );
}

/** Recompute the checksum of the message buf[start, end) after its fields were written. */
export function finishIcmp(buf: Uint8Array, start: number, end: number): void {
  buf[start + 2] = 0;
  buf[start + 3] = 0;
  writeU16(buf, start + 2, checksum(buf, start, end));
}

/** Write an echo header (request or reply) at buf[start]; the data follows at start + 8. */
export function emitEchoHeader(buf: Uint8Array, start: number, type: number, id: number, seq: number): void {
  buf[start] = type;
  buf[start + 1] = 0;
  buf[start + 2] = 0;
  buf[start + 3] = 0;
  writeU16(buf, start + 4, id);
  writeU16(buf, start + 6, seq);
}

/**
 * Write an error message at buf[start]: header, then `quotedLen` bytes of the offending datagram
 * copied from quoted[qStart, qStart + quotedLen). Returns the message end. `rest` is the 32-bit
 * "unused" word (next-hop MTU in its low 16 bits for code 4; pointer in the top byte for type 12).
 */
export function emitIcmpError(
  buf: Uint8Array,
  start: number,
  type: number,
  code: number,
  rest: number,
  quoted: Uint8Array,
  qStart: number,
  quotedLen: number,
): number {
  buf[start] = type;
  buf[start + 1] = code;
  buf[start + 4] = rest >>> 24;
  buf[start + 5] = rest >>> 16;
  buf[start + 6] = rest >>> 8;
  buf[start + 7] = rest;
  // Errors are rare, so the subarray view allocated here is not a hot-path cost.
  if (quoted === buf) buf.copyWithin(start + ICMP_HEADER_LEN, qStart, qStart + quotedLen);
  else buf.set(quoted.subarray(qStart, qStart + quotedLen), start + ICMP_HEADER_LEN);
  const end = start + ICMP_HEADER_LEN + quotedLen;
  finishIcmp(buf, start, end);
  return end;
}
