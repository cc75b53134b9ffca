/**
 * Which physical addresses the node may use as paths to a peer, beyond VL1's own rules (scope,
 * roots' stable endpoints): zerotier-one's Node::shouldUsePathForZeroTierTraffic (no path inside
 * the managed address ranges of a network we joined: no ZeroTier over ZeroTier) and
 * OneService::nodePathCheckFunction (local.conf physical.<network>.blacklist, and
 * virtual.<address>.blacklist for one peer).
 */

import type { Address } from "../vl1/address.ts";
import { cidrContains, type InetAddress } from "../vl1/inet-address.ts";
import type { LocalSettings } from "./local-conf.ts";

export interface PathPolicySources {
  /** The current local.conf settings (read on every check, so a reload applies at once). */
  settings(): LocalSettings;
  /** Managed address ranges (ip/bits) of the joined networks that have a configuration. */
  networkRanges(): Iterable<InetAddress>;
}

/** Why an address is refused, or null when it may be used. */
export function pathRefusal(src: PathPolicySources, peer: Address, address: InetAddress): string | null {
  for (const range of src.networkRanges()) if (cidrContains(range, address)) return "inside a joined network";
  const s = src.settings();
  for (const p of s.physical.values()) if (p.blacklist && cidrContains(p.network, address)) return "physical blacklist";
  const v = s.virtual.get(peer);
  if (v !== undefined) for (const n of v.blacklist) if (cidrContains(n, address)) return "peer blacklist";
  return null;
}

/** The Node's pathCheck hook over these sources. */
export function pathCheck(src: PathPolicySources): (peer: Address, address: InetAddress) => boolean {
  return (peer, address) => pathRefusal(src, peer, address) === null;
}
