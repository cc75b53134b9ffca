/**
 * Ad-hoc networks (spec 6.13): IDs with top byte 0xff are configured locally, without a
 * controller, exactly as 1.14's Network::requestConfiguration builds them.
 *   ffSSSSEEEE000000 — public IPv6-only network allowing TCP/UDP to ports SSSS..EEEE
 *   ffAAhhhhhhhhhh01 — public network with IPv4 AA.x.y.z/8 (x.y.z from our address), hub hhhhhhhhhh
 */
import type { Address } from "../vl1/address.ts";
import { CREDENTIAL_TIME_MAX_DELTA_MAX } from "./config-issue.ts";
import { sixPlaneAddress } from "./managed-ipv6.ts";
import { DEFAULT_MTU, type NetworkConfig, NetworkConfigFlag, NetworkType, makeNetworkConfig } from "./network-config.ts";
import { type NetworkId, isAdHocNetworkId } from "./network-id.ts";
import { Characteristic, type Rule } from "./rules.ts";

export type AdHocResult =
  | { readonly kind: "config"; readonly config: NetworkConfig }
  | { readonly kind: "not-found" }
  /** Other 0xff IDs: 1.14 builds nothing and leaves the network requesting configuration. */
  | { readonly kind: "none" }
  | { readonly kind: "not-ad-hoc" };

const F = { not: false, or: false };

function portRangeRules(start: number, end: number): Rule[] {
  return [
    { type: 37, not: true, or: false, etherType: 0x86dd },
    { type: 0, ...F },
    { type: 36, ...F, protocol: 0x3a },
    { type: 1, ...F },
    { type: 36, ...F, protocol: 0x11 },
    { type: 36, not: false, or: true, protocol: 0x06 },
    { type: 40, ...F, low: start, high: end },
    { type: 1, ...F },
    { type: 41, not: true, or: false, characteristics: Characteristic.TCP_SYN },
    { type: 1, ...F },
    { type: 41, ...F, characteristics: Characteristic.TCP_SYN },
    { type: 41, ...F, characteristics: Characteristic.TCP_ACK },
    { type: 1, ...F },
    { type: 0, ...F },
  ];
}

export function adHocNetworkConfig(nwid: NetworkId, self: Address, now: number): AdHocResult {
  if (!isAdHocNetworkId(nwid)) return { kind: "not-ad-hoc" };
  const base = {
    networkId: nwid,
    issuedTo: self,
    timestamp: now,
    credentialTimeMaxDelta: CREDENTIAL_TIME_MAX_DELTA_MAX,
    revision: 1,
    flags: NetworkConfigFlag.ENABLE_IPV6_NDP_EMULATION,
    mtu: DEFAULT_MTU,
    type: NetworkType.PUBLIC,
  };
  if ((nwid & 0xffffffn) === 0n) {
    const start = Number((nwid >> 40n) & 0xffffn);
    const end = Number((nwid >> 24n) & 0xffffn);
    if (end < start) return { kind: "not-found" };
    const hex4 = (v: number) => v.toString(16).padStart(4, "0");
    return {
      kind: "config",
      config: makeNetworkConfig({
        ...base,
        multicastLimit: 0,
        staticIps: [sixPlaneAddress(nwid, self)],
        rules: portRangeRules(start, end),
        name: `adhoc-${hex4(start)}-${hex4(end)}`,
      }),
    };
  }
  if ((nwid & 0xffn) === 0x01n) {
    const hub = Number((nwid >> 8n) & 0xffffffffffn);
    const a = Number((nwid >> 48n) & 0xffn);
    const ipv4 = Uint8Array.of(a, Math.floor(self / 0x10000) & 0xff, Math.floor(self / 0x100) & 0xff, self & 0xff);
    return {
      kind: "config",
      config: makeNetworkConfig({
        ...base,
        multicastLimit: 1024,
        // 1.14 lists the hub as a bare address, without specialist type bits
        specialists: hub === 0 ? [] : [BigInt(hub)],
        staticIps: [sixPlaneAddress(nwid, self), { family: 4, ip: ipv4, port: 8 }],
        rules: [{ type: 1, ...F }],
        name: `adhoc-${a}.0.0.0`,
      }),
    };
  }
  return { kind: "none" };
}
