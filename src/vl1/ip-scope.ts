/**
 * IP address scopes as ZeroTier ranks them (spec 8.3). The numeric values matter: path quality is
 * multiplied by (8 − scope), so a private path (7) beats a global one (4), and `ipScope` shows up in
 * self-awareness keys.
 */

import type { InetAddress } from "./inet-address.ts";

export const IpScope = {
  NONE: 0,
  MULTICAST: 1,
  LOOPBACK: 2,
  PSEUDOPRIVATE: 3,
  GLOBAL: 4,
  LINK_LOCAL: 5,
  SHARED: 6,
  PRIVATE: 7,
} as const;
export type IpScope = (typeof IpScope)[keyof typeof IpScope];

/** /8 blocks allocated to military and government networks: routed privately in practice. */
const PSEUDOPRIVATE_V4_FIRST_OCTETS = new Set([6, 11, 21, 22, 25, 26, 28, 29, 30, 51, 55, 56]);

/** [network, mask] pairs of IPv4 ranges that are private scope (RFC 1918 and the documentation/benchmark nets). */
const PRIVATE_V4: readonly (readonly [number, number])[] = [
  [0x0a000000, 0xff000000], // 10/8
  [0xac100000, 0xfff00000], // 172.16/12
  [0xc0a80000, 0xffff0000], // 192.168/16
  [0xc0000200, 0xffffff00], // 192.0.2/24
  [0xc6120000, 0xfffe0000], // 198.18/15
  [0xc6336400, 0xffffff00], // 198.51.100/24
  [0xcb007100, 0xffffff00], // 203.0.113/24
];

export function ipScope(a: InetAddress): IpScope {
  const ip = a.ip;
  if (a.family === 4) {
    const v = ((ip[0]! << 24) | (ip[1]! << 16) | (ip[2]! << 8) | ip[3]!) >>> 0;
    const first = ip[0]!;
    if (first === 0 || first === 255) return IpScope.NONE;
    if (first === 127) return IpScope.LOOPBACK;
    for (const [net, mask] of PRIVATE_V4) if (((v & mask) >>> 0) === net) return IpScope.PRIVATE;
    if (((v & 0xffc00000) >>> 0) === 0x64400000) return IpScope.SHARED; // 100.64/10 (carrier-grade NAT)
    if (((v & 0xffff0000) >>> 0) === 0xa9fe0000) return IpScope.LINK_LOCAL; // 169.254/16
    if (PSEUDOPRIVATE_V4_FIRST_OCTETS.has(first)) return IpScope.PSEUDOPRIVATE;
    if (first >>> 4 === 0xe) return IpScope.MULTICAST;
    if (first >>> 4 === 0xf) return IpScope.PSEUDOPRIVATE; // 240/4 reserved
    return IpScope.GLOBAL;
  }
  if (ip[0] === 0xff) return IpScope.MULTICAST;
  if (ip[0] === 0xfe && (ip[1]! & 0xc0) === 0x80) return IpScope.LINK_LOCAL;
  if ((ip[0]! & 0xfe) === 0xfc) return IpScope.PRIVATE; // fc00::/7 unique local
  let zeroPrefix = true;
  for (let i = 0; i < 15; i++) if (ip[i] !== 0) zeroPrefix = false;
  if (zeroPrefix) return ip[15] === 1 ? IpScope.LOOPBACK : ip[15] === 0 ? IpScope.NONE : IpScope.GLOBAL;
  return IpScope.GLOBAL;
}

/**
 * Whether ZeroTier traffic may use this address as a path (spec 8.3): IPv4/IPv6 in private,
 * pseudo-private, shared or global scope, and not a Hurricane Electric tunnel (2001:470::/32).
 * `allowLoopback` exists for single-host deployments and tests; 1.14 never allows loopback.
 */
export function isAddressValidForPath(a: InetAddress, allowLoopback = false): boolean {
  switch (ipScope(a)) {
    case IpScope.PRIVATE:
    case IpScope.PSEUDOPRIVATE:
    case IpScope.SHARED:
    case IpScope.GLOBAL:
      if (a.family === 6 && a.ip[0] === 0x20 && a.ip[1] === 0x01 && a.ip[2] === 0x04 && a.ip[3] === 0x70) return false;
      return true;
    case IpScope.LOOPBACK:
      return allowLoopback;
    default:
      return false;
  }
}

/** Same IP (port ignored), as the reference's `ipsEqual`. */
export function ipsEqual(a: InetAddress, b: InetAddress): boolean {
  if (a.family !== b.family) return false;
  const n = a.ip.length;
  for (let i = 0; i < n; i++) if (a.ip[i] !== b.ip[i]) return false;
  return true;
}

/** Same IP and port, without allocating. */
export function endpointsEqual(a: InetAddress, b: InetAddress): boolean {
  return a.port === b.port && ipsEqual(a, b);
}

/**
 * Index of the rate-gate bucket for an address: IPv4 by /24, IPv6 by /48 (spec 4.3, identity
 * validation per source network), hashed into `buckets` slots.
 */
export function networkBucket(a: InetAddress, buckets: number): number {
  let h = a.family === 4 ? 0x811c9dc5 : 0x01000193;
  const n = a.family === 4 ? 3 : 6;
  for (let i = 0; i < n; i++) h = Math.imul(h ^ a.ip[i]!, 0x01000193) >>> 0;
  return h % buckets;
}
