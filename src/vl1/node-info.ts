/**
 * What a Node reports to the local API: its part of `/status` and the `/peer` entries (spec 8.9),
 * with clock times turned into wall-clock milliseconds.
 */

import { addressToString } from "./address.ts";
import { inetAddressToString } from "./inet-address.ts";
import type { Node } from "./node.ts";
import type { NodeStatus, PeerInfo } from "./node-types.ts";
import { LATENCY_UNKNOWN, NEVER, PEER_PATH_EXPIRATION } from "./path.ts";
import type { Peer } from "./peer.ts";

export function nodeStatusInfo(node: Node): NodeStatus {
  const planet = node.topology.planet;
  return {
    address: addressToString(node.address),
    publicIdentity: node.identity.toString(false),
    online: node.online,
    planetWorldId: planet === null ? 0 : Number(planet.id),
    planetWorldTimestamp: planet === null ? 0 : Number(planet.timestamp),
    surfaceAddresses: node.selfAwareness.surfaceAddresses().map(inetAddressToString),
  };
}

/** One `/peer` entry; `epochMs` gives wall-clock ms. */
export function peerInfoOf(node: Node, p: Peer, epochMs: () => number): PeerInfo {
  const now = node.clock.now();
  const epoch = epochMs();
  const best = p.bestPath(now, false);
  const wall = (t: number): number => (t <= NEVER ? 0 : Math.round(epoch - (now - t)));
  const known = p.remoteMajor >= 0;
  const latency = p.latency(now);
  return {
    address: addressToString(p.address),
    versionMajor: known ? p.remoteMajor : -1,
    versionMinor: known ? p.remoteMinor : -1,
    versionRev: known ? p.remoteRevision : -1,
    version: known ? `${p.remoteMajor}.${p.remoteMinor}.${p.remoteRevision}` : "-1.-1.-1",
    latency: latency >= LATENCY_UNKNOWN ? -1 : latency,
    role: node.topology.role(p.address),
    isBonded: false,
    tunneled: false,
    paths: p.paths.map((path) => ({
      address: inetAddressToString(path.address),
      lastSend: wall(path.lastOut),
      lastReceive: wall(path.lastIn),
      trustedPathId: Number(node.trustedPathIds.idOf(node.trustedPathIds.outbound(path.address))),
      active: path.alive(now),
      expired: now - path.lastIn >= PEER_PATH_EXPIRATION,
      preferred: path === best,
      localSocket: path.localSocket,
      localPort: 0,
    })),
  };
}
