/**
 * Which managed IPs a member gets (the reference controller's rules, spec 6.10 step 6):
 *  1. rfc4193 / 6plane addresses computed from network ID and member address, if enabled;
 *  2. the member's recorded ipAssignments that fall inside a route (prefix = longest route);
 *  3. if it has no IPv6 (IPv4) managed address yet and v6AssignMode.zt (v4AssignMode.zt) is on,
 *     one new address from the pools, inside a route, not held by any other member.
 * New addresses are returned so the caller records them: the next request finds them in step 2,
 * which is what keeps an assignment stable. noAutoAssignIps skips steps 1 and 3.
 *
 * The first pool candidate is derived from the member's address (as the reference does, so the
 * same member gets the same address from both), spreading members over the pool; collisions
 * probe linearly, covering the whole pool.
 */

import { type InetAddress, ipToString } from "../vl1/inet-address.ts";
import type { MemberSettings } from "./member-json.ts";
import { compareIp, type NetworkSettings, type Route } from "./network-json.ts";

/** Bound on pool probing per request, so one request cannot spin over a huge exhausted pool. */
const MAX_TRIALS = 1 << 20;

export interface Assignment {
  /** What goes into the config's static IP list; port = prefix bits. */
  staticIps: InetAddress[];
  /** Newly picked pool addresses (bare, port 0), to append to the member's ipAssignments. */
  added: InetAddress[];
  /** An rfc4193 or 6plane address was assigned: the config sets flag 0x4 (NDP emulation). */
  ndpEmulation: boolean;
}

/**
 * @param taken answers whether an address (ipToString form) is recorded for any member of the network.
 */
export function assignIps(nwid: string, address: string, net: NetworkSettings, member: MemberSettings, taken: { has(ip: string): boolean }): Assignment {
  const staticIps: InetAddress[] = [];
  const added: InetAddress[] = [];
  let ndpEmulation = false;
  const auto = !member.noAutoAssignIps;

  if (auto && net.v6AssignRfc4193) {
    staticIps.push(rfc4193Address(nwid, address));
    ndpEmulation = true;
  }
  if (auto && net.v6Assign6plane) {
    staticIps.push(sixPlaneAddress(nwid, address));
    ndpEmulation = true;
  }

  let haveV4 = false;
  let haveV6 = false;
  for (const ip of member.ipAssignments) {
    const bits = longestRouteBits(net.routes, ip, false);
    if (bits < 0) continue;
    staticIps.push({ ...ip, port: bits });
    if (ip.family === 4) haveV4 = true;
    else haveV6 = true;
  }

  const pick = (family: 4 | 6) => {
    for (const pool of net.pools) {
      if (pool.start.family !== family) continue;
      const ip = family === 4 ? pickV4(pool.start.ip, pool.end.ip, address, net.routes, taken) : pickV6(pool.start.ip, pool.end.ip, address, net.routes, taken);
      if (ip !== null) {
        added.push({ ...ip, port: 0 });
        staticIps.push(ip);
        return;
      }
    }
  };
  if (auto && net.v6AssignZt && !haveV6) pick(6);
  if (auto && net.v4AssignZt && !haveV4) pick(4);

  return { staticIps: staticIps.slice(0, 32), added, ndpEmulation };
}

/** Prefix bits of the longest route containing ip (optionally only routes without a gateway), -1 if none. */
function longestRouteBits(routes: readonly Route[], ip: InetAddress, directOnly: boolean): number {
  let best = -1;
  for (const r of routes) {
    if (directOnly && r.via !== null) continue;
    if (r.target.family === ip.family && prefixContains(r.target.ip, r.target.port, ip.ip) && r.target.port > best) best = r.target.port;
  }
  return best;
}

function prefixContains(net: Uint8Array, bits: number, ip: Uint8Array): boolean {
  for (let i = 0; i < net.length; i++) {
    const b = Math.min(8, Math.max(0, bits - 8 * i));
    const mask = b === 0 ? 0 : (0xff << (8 - b)) & 0xff;
    if ((net[i]! & mask) !== (ip[i]! & mask)) return false;
  }
  return true;
}

function pickV4(startIp: Uint8Array, endIp: Uint8Array, address: string, routes: readonly Route[], taken: { has(ip: string): boolean }): InetAddress | null {
  const start = u32(startIp);
  const end = u32(endIp);
  if (start === 0 || end < start) return null;
  // Candidates as the reference orders them: start + ((low 32 bits of address + k) mod (end - start)),
  // which covers start..end-1; end itself is tried last.
  const span = end - start;
  const first = parseInt(address.slice(2), 16);
  const trials = Math.min(span + 1, MAX_TRIALS);
  for (let k = 0; k < trials; k++) {
    const v = k === span ? end : span === 0 ? start : start + ((first + k) % span);
    if ((v & 0xff) === 0xff) continue; // never hand out x.x.x.255
    const ip = Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
    const cand: InetAddress = { family: 4, ip, port: 0 };
    const bits = longestRouteBits(routes, cand, false);
    if (bits <= 0 || taken.has(ipToString(cand))) continue;
    return { family: 4, ip, port: bits };
  }
  return null;
}

function pickV6(startIp: Uint8Array, endIp: Uint8Array, address: string, routes: readonly Route[], taken: { has(ip: string): boolean }): InetAddress | null {
  const start = big(startIp);
  const end = big(endIp);
  if (compareIp(startIp, endIp) > 0) return null;
  const size = end - start + 1n;
  const addr = BigInt(`0x${address}`);
  // A pool spanning >= 2^40 addresses holds the member's address verbatim in the low bits.
  const first = size > 0xffffffffffn ? addr : addr % size;
  const trials = size < BigInt(MAX_TRIALS) ? Number(size) : MAX_TRIALS;
  for (let k = 0; k < trials; k++) {
    const ip = bytes16(start + ((first + BigInt(k)) % size));
    const cand: InetAddress = { family: 6, ip, port: 0 };
    const bits = longestRouteBits(routes, cand, true);
    if (bits <= 0 || taken.has(ipToString(cand))) continue;
    return { family: 6, ip, port: bits };
  }
  return null;
}

/** fd ‖ nwid(8) ‖ 99 93 ‖ address(5), /88 (spec 6.14). */
export function rfc4193Address(nwid: string, address: string): InetAddress {
  return { family: 6, ip: hexBytes(`fd${nwid}9993${address}`), port: 88 };
}

/** fc ‖ low 32 bits of (nwid ^ nwid>>32) ‖ address(5) ‖ 00…01, /40 (spec 6.14). */
export function sixPlaneAddress(nwid: string, address: string): InetAddress {
  const n = BigInt(`0x${nwid}`);
  const h = ((n ^ (n >> 32n)) & 0xffffffffn).toString(16).padStart(8, "0");
  return { family: 6, ip: hexBytes(`fc${h}${address}000000000001`), port: 40 };
}

function u32(b: Uint8Array): number {
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

function big(b: Uint8Array): bigint {
  let x = 0n;
  for (const v of b) x = (x << 8n) | BigInt(v);
  return x;
}

function bytes16(x: bigint): Uint8Array {
  const out = new Uint8Array(16);
  for (let i = 15; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}
