/**
 * Multicast groups (spec 7.1): a multicast MAC plus a 32-bit ADI. IPv4 ARP uses the broadcast MAC
 * with the IPv4 address as ADI so that only the owner of that address is asked; IPv6 uses the
 * solicited-node MAC.
 */
import { MAC_BROADCAST, type Mac, readMac, writeMac } from "./mac.ts";

export interface MulticastGroup {
  readonly mac: Mac;
  readonly adi: number;
}

export const MULTICAST_GROUP_LENGTH = 10;
export const BROADCAST_GROUP: MulticastGroup = { mac: MAC_BROADCAST, adi: 0 };

/** The group an ARP request for this IPv4 address (4 bytes, network order) goes to. */
export function arpGroupForIpv4(ip: Uint8Array, off = 0): MulticastGroup {
  return { mac: MAC_BROADCAST, adi: ((ip[off]! << 24) | (ip[off + 1]! << 16) | (ip[off + 2]! << 8) | ip[off + 3]!) >>> 0 };
}

/** Solicited-node group (33:33:ff:xx:yy:zz, 0) for a 16-byte IPv6 address. */
export function ndpGroupForIpv6(ip: Uint8Array, off = 0): MulticastGroup {
  const mac = 0x3333ff000000 + ((ip[off + 13]! << 16) | (ip[off + 14]! << 8) | ip[off + 15]!);
  return { mac, adi: 0 };
}

/** The address-resolution group of an assigned address (spec 7.2). */
export function addressResolutionGroup(ip: Uint8Array): MulticastGroup | null {
  if (ip.length === 4) return arpGroupForIpv4(ip);
  if (ip.length === 16) return ndpGroupForIpv6(ip);
  return null;
}

export function multicastGroupEquals(a: MulticastGroup, b: MulticastGroup): boolean {
  return a.mac === b.mac && a.adi === b.adi;
}

/** Order the reference keeps subscriptions in: by MAC, then ADI. */
export function compareMulticastGroups(a: MulticastGroup, b: MulticastGroup): number {
  if (a.mac !== b.mac) return a.mac < b.mac ? -1 : 1;
  return a.adi - b.adi;
}

/** Stable string key for maps: "mac/adi" in hex. */
export function multicastGroupKey(g: MulticastGroup): string {
  return `${g.mac.toString(16).padStart(12, "0")}/${g.adi.toString(16).padStart(8, "0")}`;
}

export function readMulticastGroup(buf: Uint8Array, off: number): MulticastGroup {
  return { mac: readMac(buf, off), adi: ((buf[off + 6]! << 24) | (buf[off + 7]! << 16) | (buf[off + 8]! << 8) | buf[off + 9]!) >>> 0 };
}

export function writeMulticastGroup(buf: Uint8Array, off: number, g: MulticastGroup): void {
  writeMac(buf, off, g.mac);
  buf[off + 6] = g.adi >>> 24;
  buf[off + 7] = (g.adi >>> 16) & 0xff;
  buf[off + 8] = (g.adi >>> 8) & 0xff;
  buf[off + 9] = g.adi & 0xff;
}
