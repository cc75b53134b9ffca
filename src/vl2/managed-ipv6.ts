/**
 * Managed IPv6 address schemes (spec 6.14): rfc4193 (/88) and 6plane (/40 per network, /80 per
 * node), both computed from the network ID and the node address, so members can derive each
 * other's addresses (and emulate NDP) without asking anyone.
 */
import type { Address } from "../vl1/address.ts";
import type { InetAddress } from "../vl1/inet-address.ts";
import type { NetworkId } from "./network-id.ts";

function putAddress(b: Uint8Array, off: number, a: Address): void {
  b[off] = Math.floor(a / 0x100000000) & 0xff;
  b[off + 1] = (a >>> 24) & 0xff;
  b[off + 2] = (a >>> 16) & 0xff;
  b[off + 3] = (a >>> 8) & 0xff;
  b[off + 4] = a & 0xff;
}

/** fd ‖ nwid(8) ‖ 99 93 ‖ address(5), prefix /88. */
export function rfc4193Address(nwid: NetworkId, address: Address): InetAddress {
  const ip = new Uint8Array(16);
  ip[0] = 0xfd;
  for (let i = 0; i < 8; i++) ip[1 + i] = Number((nwid >> BigInt(56 - 8 * i)) & 0xffn);
  ip[9] = 0x99;
  ip[10] = 0x93;
  putAddress(ip, 11, address);
  return { family: 6, ip, port: 88 };
}

/** fc ‖ (nwid XOR nwid>>32) low 32 bits ‖ address(5) ‖ 0…0 01, prefix /40. */
export function sixPlaneAddress(nwid: NetworkId, address: Address): InetAddress {
  const ip = new Uint8Array(16);
  const folded = Number((nwid ^ (nwid >> 32n)) & 0xffffffffn);
  ip[0] = 0xfc;
  ip[1] = folded >>> 24;
  ip[2] = (folded >>> 16) & 0xff;
  ip[3] = (folded >>> 8) & 0xff;
  ip[4] = folded & 0xff;
  putAddress(ip, 5, address);
  ip[15] = 0x01;
  return { family: 6, ip, port: 40 };
}

/** The member address embedded in an rfc4193 (after 11 bytes) or 6plane (after 5 bytes) address. */
export function addressInManagedIpv6(ip: Uint8Array, off: number, prefixBytes: 5 | 11): Address {
  const p = off + prefixBytes;
  return ip[p]! * 0x100000000 + (((ip[p + 1]! << 24) | (ip[p + 2]! << 16) | (ip[p + 3]! << 8) | ip[p + 4]!) >>> 0);
}
