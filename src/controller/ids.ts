/**
 * Network IDs and member addresses as the controller API writes them: 16 and 10 lowercase hex
 * digits. Parsing is strict so a malformed ID in a URL or a body is a 400, never a lookup.
 */

import { isReservedAddress } from "../vl1/address.ts";

const NWID_RE = /^[0-9a-fA-F]{16}$/;
const ADDRESS_RE = /^[0-9a-fA-F]{10}$/;

/** Lowercase 16-hex network ID, or null if `s` is not exactly 16 hex digits or is zero. */
export function parseNetworkId(s: string): string | null {
  if (!NWID_RE.test(s)) return null;
  const id = s.toLowerCase();
  return id === "0000000000000000" ? null : id;
}

/** Lowercase 10-hex member address, or null if malformed or reserved (0, 0xff…). */
export function parseMemberAddress(s: string): string | null {
  if (!ADDRESS_RE.test(s)) return null;
  const a = s.toLowerCase();
  return isReservedAddress(parseInt(a, 16)) ? null : a;
}

/** The controller address a network ID belongs to: its top 40 bits. */
export function controllerOf(nwid: string): string {
  return nwid.slice(0, 10);
}

export function networkIdToBigInt(nwid: string): bigint {
  return BigInt(`0x${nwid}`);
}

export function networkIdFromBigInt(n: bigint): string {
  return (n & 0xffffffffffffffffn).toString(16).padStart(16, "0");
}
