/**
 * Ethernet MAC addresses as 48-bit numbers (exact in a double, usable as Map keys), and the
 * derivation of a member's MAC from its ZeroTier address and the network ID (spec 6.2).
 */
import type { Address } from "../vl1/address.ts";
import type { NetworkId } from "./network-id.ts";

export type Mac = number;

export const MAC_BROADCAST: Mac = 0xffffffffffff;
const TWO32 = 0x100000000;

/** First octet a member MAC has on this network: from the nwid's low byte, locally administered, unicast. */
export function macFirstOctet(nwid: NetworkId): number {
  let f = (Number(nwid & 0xffn) & 0xfe) | 0x02;
  // 0x52 is avoided: KVM/libvirt and other virtualisation tools use it de facto on Linux
  if (f === 0x52) f = 0x32;
  return f;
}

/** XOR mask for the 40 low bits: bytes 1..5 of the nwid, least significant byte first. */
function addressMask(nwid: NetworkId): number {
  let m = 0;
  for (let k = 1; k <= 5; k++) m = m * 256 + Number((nwid >> BigInt(8 * k)) & 0xffn);
  return m;
}

function xor40(a: number, b: number): number {
  const hi = (Math.floor(a / TWO32) ^ Math.floor(b / TWO32)) & 0xff;
  const lo = ((a >>> 0) ^ (b >>> 0)) >>> 0;
  return hi * TWO32 + lo;
}

/** MAC(address, nwid) per spec 6.2. */
export function macFromAddress(address: Address, nwid: NetworkId): Mac {
  return macFirstOctet(nwid) * 0x10000000000 + xor40(address, addressMask(nwid));
}

/** The ZeroTier address behind a member MAC, or null if the MAC is not one (bridged or foreign). */
export function addressFromMac(mac: Mac, nwid: NetworkId): Address | null {
  if (Math.floor(mac / 0x10000000000) !== macFirstOctet(nwid)) return null;
  return xor40(mac % 0x10000000000, addressMask(nwid));
}

export function isMulticastMac(mac: Mac): boolean {
  return (Math.floor(mac / 0x10000000000) & 0x01) !== 0;
}

export function isBroadcastMac(mac: Mac): boolean {
  return mac === MAC_BROADCAST;
}

export function readMac(buf: Uint8Array, off: number): Mac {
  return buf[off]! * 0x10000000000 + buf[off + 1]! * TWO32 + (((buf[off + 2]! << 24) | (buf[off + 3]! << 16) | (buf[off + 4]! << 8) | buf[off + 5]!) >>> 0);
}

export function writeMac(buf: Uint8Array, off: number, mac: Mac): void {
  const hi = Math.floor(mac / TWO32);
  const lo = mac >>> 0;
  buf[off] = (hi >>> 8) & 0xff;
  buf[off + 1] = hi & 0xff;
  buf[off + 2] = lo >>> 24;
  buf[off + 3] = (lo >>> 16) & 0xff;
  buf[off + 4] = (lo >>> 8) & 0xff;
  buf[off + 5] = lo & 0xff;
}

/** "aa:bb:cc:dd:ee:ff" lowercase, as the local API writes it. */
export function macToString(mac: Mac): string {
  const b = new Uint8Array(6);
  writeMac(b, 0, mac);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(":");
}

/** Six ':'-separated two-digit hex octets; null otherwise. */
export function macFromString(s: string): Mac | null {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(s)) return null;
  return parseInt(s.replace(/:/g, ""), 16);
}
