/**
 * IPv6 NDP emulation (spec 7.6): with config flag 0x4, a Neighbor Solicitation our port sends for
 * an address in our own rfc4193 /88 or 6plane /40 prefix is answered locally, since the target's
 * ZeroTier address (and so its MAC) is embedded in the address. Builds the 72-byte Neighbor
 * Advertisement 1.14 injects (src = target, dst = our matching address, hop limit 255,
 * solicited+override, target link-layer option) into a caller's buffer.
 */
import type { Address } from "../vl1/address.ts";
import { type Mac, macFromAddress, writeMac } from "./mac.ts";
import { type NetworkConfig, ndpEmulationEnabled } from "./network-config.ts";

export const NEIGHBOR_ADVERTISEMENT_LENGTH = 72;

export interface EmulatedNeighbor {
  /** The member the solicitation was for, and the MAC the advertisement names (Ethernet source). */
  readonly address: Address;
  readonly mac: Mac;
}

function embeddedAddress(b: Uint8Array, off: number): Address {
  return b[off]! * 0x100000000 + (((b[off + 1]! << 24) | (b[off + 2]! << 16) | (b[off + 3]! << 8) | b[off + 4]!) >>> 0);
}

/**
 * If the IPv6 packet at frame[start, end) is a Neighbor Solicitation 1.14 would answer locally,
 * writes the advertisement into out[0..72) and returns the neighbor; else null (send normally).
 */
export function emulateNeighborSolicitation(nconf: NetworkConfig, self: Address, frame: Uint8Array, start: number, end: number, out: Uint8Array): EmulatedNeighbor | null {
  if (!ndpEmulationEnabled(nconf) || end - start < 40 + 8 + 16) return null;
  if (frame[start + 6] !== 0x3a || frame[start + 40] !== 0x87) return null;
  const target = start + 48;
  const folded = Number((nconf.networkId ^ (nconf.networkId >> 32n)) & 0xffffffffn);
  let mine: Uint8Array | null = null;
  let peer = 0;
  for (const sip of nconf.staticIps) {
    if (sip.family !== 6) continue;
    const my = sip.ip;
    let prefix = 0;
    if (sip.port === 88 && my[0] === 0xfd && my[9] === 0x99 && my[10] === 0x93) prefix = 11;
    else if (sip.port === 40 && my[0] === 0xfc && my[1] === folded >>> 24 && my[2] === ((folded >>> 16) & 0xff) && my[3] === ((folded >>> 8) & 0xff) && my[4] === (folded & 0xff)) prefix = 5;
    if (prefix === 0) continue;
    let match = true;
    for (let i = 0; i < prefix; i++) if (frame[target + i] !== my[i]) match = false;
    if (!match) continue;
    mine = my;
    peer = embeddedAddress(frame, target + prefix);
    break;
  }
  if (mine === null || peer === 0 || peer === self) return null;
  const mac = macFromAddress(peer, nconf.networkId);
  out.fill(0, 0, NEIGHBOR_ADVERTISEMENT_LENGTH);
  out[0] = 0x60;
  out[5] = 0x20; // payload length 32
  out[6] = 0x3a;
  out[7] = 0xff;
  out.set(frame.subarray(target, target + 16), 8);
  out.set(mine, 24);
  out[40] = 0x88;
  out[44] = 0x60; // solicited + override
  out.set(frame.subarray(target, target + 16), 48);
  out[64] = 0x02; // target link-layer address option, 8 bytes
  out[65] = 0x01;
  writeMac(out, 66, mac);
  // ICMPv6 checksum over the pseudo-header (src, dst, length 32, next header 58) and the message
  let sum = 32 + 0x3a;
  for (let i = 8; i < 40; i += 2) sum += (out[i]! << 8) | out[i + 1]!;
  for (let i = 40; i < 72; i += 2) sum += (out[i]! << 8) | out[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const c = ~sum & 0xffff;
  out[42] = c >> 8;
  out[43] = c & 0xff;
  return { address: peer, mac };
}
