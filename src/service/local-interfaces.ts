/**
 * Our local interface addresses, advertised to peers in PUSH_DIRECT_PATHS so that nodes on the same
 * LAN find a direct path. zerotier-one's Binder binds a socket per interface address and
 * OneService::shouldBindInterface decides which: not loopback, not a tunnel (zt*, tun*, tap*), not
 * a name starting with a local.conf settings.interfacePrefixBlacklist entry, not inside a
 * physical.<network>.blacklist network, not an address of one of our own networks; then the node
 * keeps those valid as paths (private, shared or global scope). We listen on the wildcard address,
 * so the same rules pick the addresses to advertise, all with our one port. With settings.bind,
 * the bound addresses are the local addresses.
 */

import type { NetworkInterfaceInfo } from "node:os";
import { cidrContains, type InetAddress, inetAddressFromString } from "../vl1/inet-address.ts";
import { ipsEqual, isAddressValidForPath } from "../vl1/ip-scope.ts";

/** os.networkInterfaces()'s shape. */
export type InterfaceTable = NodeJS.Dict<NetworkInterfaceInfo[]>;

/** zerotier-one's built-in Linux exclusions: loopback, its own taps, other tunnels. */
const BUILTIN_PREFIXES = ["lo", "zt", "tun", "tap"];

export interface LocalAddressRules {
  /** Our UDP port (every advertised address carries it). */
  port: number;
  /** Per family: "any" = the wildcard address (enumerate interfaces), an IP = that address only, null = no socket. */
  v4: "any" | string | null;
  v6: "any" | string | null;
  /** local.conf settings.interfacePrefixBlacklist. */
  interfacePrefixBlacklist: readonly string[];
  /** local.conf physical networks marked blacklist. */
  blacklist: readonly InetAddress[];
  /** Addresses we hold on our own networks (never a path for ZeroTier itself). */
  ownAddresses: readonly InetAddress[];
}

/** The addresses to advertise, each with `rules.port`, in interface order, without duplicates. */
export function localInterfaceAddresses(table: InterfaceTable, rules: LocalAddressRules): InetAddress[] {
  const out: InetAddress[] = [];
  const add = (a: InetAddress): void => {
    if (!isAddressValidForPath(a, false)) return;
    if (rules.blacklist.some((n) => cidrContains(n, a))) return;
    if (rules.ownAddresses.some((o) => ipsEqual(o, a))) return;
    if (!out.some((x) => ipsEqual(x, a))) out.push(a);
  };
  for (const [family, bound] of [
    [4, rules.v4],
    [6, rules.v6],
  ] as const) {
    if (bound === null) continue;
    if (bound !== "any") {
      const a = inetAddressFromString(bound);
      if (a !== null && a.family === family) add({ ...a, port: rules.port });
      continue;
    }
    for (const [name, infos] of Object.entries(table)) {
      if (infos === undefined || !bindable(name, rules.interfacePrefixBlacklist)) continue;
      for (const info of infos) {
        if (info.internal || (info.family === "IPv4" ? 4 : 6) !== family) continue;
        const a = inetAddressFromString(info.address);
        if (a !== null) add({ ...a, port: rules.port });
      }
    }
  }
  return out;
}

/** Whether an interface name passes the built-in and configured prefix exclusions. */
export function bindable(name: string, prefixBlacklist: readonly string[]): boolean {
  for (const p of BUILTIN_PREFIXES) if (name.startsWith(p)) return false;
  for (const p of prefixBlacklist) if (p.length > 0 && name.startsWith(p)) return false;
  return true;
}
