/**
 * ARP for Ethernet/IPv4 (RFC 826), the only combination the stack speaks. The packet is a view:
 * `checkArp` validates it, the accessors read fields in place.
 */
import { ETHERTYPE_IPV4 } from "../link.ts";
import { readU32, writeU32 } from "./bytes.ts";
import { readMac, writeMac } from "./ethernet.ts";

export const ARP_LEN = 28;
export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;

/** Why an ARP packet was rejected; "ok" when it is usable. */
export type ArpCheck = "ok" | "truncated" | "unsupported";

/** Validate buf[start, end) as an Ethernet/IPv4 ARP request or reply. */
export function checkArp(buf: Uint8Array, start: number, end: number): ArpCheck {
  if (end - start < ARP_LEN) return "truncated";
  const htype = (buf[start]! << 8) | buf[start + 1]!;
  const ptype = (buf[start + 2]! << 8) | buf[start + 3]!;
  const op = (buf[start + 6]! << 8) | buf[start + 7]!;
  if (htype !== 1 || ptype !== ETHERTYPE_IPV4 || buf[start + 4] !== 6 || buf[start + 5] !== 4) return "unsupported";
  if (op !== ARP_REQUEST && op !== ARP_REPLY) return "unsupported";
  return "ok";
}

export function arpOp(buf: Uint8Array, start: number): number {
  return (buf[start + 6]! << 8) | buf[start + 7]!;
}
export function arpSenderMac(buf: Uint8Array, start: number): number {
  return readMac(buf, start + 8);
}
export function arpSenderIp(buf: Uint8Array, start: number): number {
  return readU32(buf, start + 14);
}
export function arpTargetMac(buf: Uint8Array, start: number): number {
  return readMac(buf, start + 18);
}
export function arpTargetIp(buf: Uint8Array, start: number): number {
  return readU32(buf, start + 24);
}

/** Write an ARP packet at buf[start, start + 28). */
export function emitArp(
  buf: Uint8Array,
  start: number,
  op: number,
  senderMac: number,
  senderIp: number,
  targetMac: number,
  targetIp: number,
): void {
  buf[start] = 0;
  buf[start + 1] = 1;
  buf[start + 2] = ETHERTYPE_IPV4 >>> 8;
  buf[start + 3] = ETHERTYPE_IPV4 & 0xff;
  buf[start + 4] = 6;
  buf[start + 5] = 4;
  buf[start + 6] = 0;
  buf[start + 7] = op;
  writeMac(buf, start + 8, senderMac);
  writeU32(buf, start + 14, senderIp);
  writeMac(buf, start + 18, targetMac);
  writeU32(buf, start + 24, targetIp);
}
