/**
 * Relaying packets and fragments addressed to other nodes (spec 3.9): roots relay anything,
 * leaves only what arrives over a trusted path. Straight to the destination if we have a direct
 * path (and, for a packet head seen by a root, RENDEZVOUS both ends, spec 8.6), else on to the best
 * root. Works in place: only the hop count in the datagram is changed.
 */

import type { Address } from "./address.ts";
import { fragmentDestination, fragmentHops, setFragmentHops } from "./fragment.ts";
import type { InetAddress } from "./inet-address.ts";
import type { Node } from "./node.ts";
import { RELAY_MAX_HOPS, destination, hops, setHops, source } from "./packet.ts";
import type { Peer } from "./peer.ts";
import type { UniteGate } from "./relay.ts";
import type { TrustedPaths } from "./trusted-paths.ts";
import { sendRendezvous } from "./verbs/rendezvous.ts";

export function relayDatagram(
  node: Node,
  trusted: TrustedPaths,
  unite: UniteGate,
  buf: Uint8Array,
  start: number,
  end: number,
  localSocket: number,
  from: InetAddress,
  isFragment: boolean,
): void {
  const st = node.stats;
  const topology = node.topology;
  // Roots relay anything; leaves only what arrives over a path with established trust (a peer
  // that recently sent us traffic on a shared network, spec 3.9).
  if (!topology.amUpstream && !trusted.has(localSocket, from, node.clock.now())) return st.drop("relay_not_allowed");
  const h = isFragment ? fragmentHops(buf, start) : hops(buf, start);
  if (h >= RELAY_MAX_HOPS) return st.drop("relay_max_hops");
  if (isFragment) setFragmentHops(buf, start, h + 1);
  else setHops(buf, start, h + 1);
  const now = node.clock.now();
  const dest = isFragment ? fragmentDestination(buf, start) : destination(buf, start);
  const src = isFragment ? -1 : source(buf, start);
  if (!isFragment) {
    const srcPeer = topology.get(src);
    const srcPath = srcPeer === null ? null : srcPeer.findPath(localSocket, from);
    if (srcPath !== null) srcPath.lastRelayedIn = now;
  }
  const to = topology.get(dest);
  const direct = to === null ? null : to.bestPath(now, false);
  if (direct !== null && to !== null) {
    node.wireSend(direct.localSocket, direct.address, buf, start, end);
    direct.lastOut = now;
    st.relayed++;
    if (!isFragment && src !== node.address && unite.shouldUnite(now, src, dest)) uniteNodes(node, src, to, now);
    return;
  }
  const root = topology.bestRoot(now);
  if (root !== null && root.address !== src && root.address !== dest) {
    const p = root.bestPath(now, true);
    if (p !== null) {
      node.wireSend(p.localSocket, p.address, buf, start, end);
      p.lastOut = now;
      st.relayed++;
      return;
    }
  }
  st.drop("relay_no_route");
}

/** RENDEZVOUS both ends of a relayed conversation (spec 8.6), IPv6 preferred, random order. */
function uniteNodes(node: Node, srcAddr: Address, dest: Peer, now: number): void {
  const src = node.topology.get(srcAddr);
  if (src === null) return;
  const d = dest.rendezvousAddresses(now);
  const s = src.rendezvousAddresses(now);
  let toSrc: InetAddress | null = null;
  let toDest: InetAddress | null = null;
  if (d.v6 !== null && s.v6 !== null) {
    toSrc = d.v6;
    toDest = s.v6;
  } else if (d.v4 !== null && s.v4 !== null) {
    toSrc = d.v4;
    toDest = s.v4;
  }
  if (toSrc === null || toDest === null) return;
  if ((node.rng.u32() & 1) === 0) {
    sendRendezvous(node, src, dest.address, toSrc);
    sendRendezvous(node, dest, src.address, toDest);
  } else {
    sendRendezvous(node, dest, src.address, toDest);
    sendRendezvous(node, src, dest.address, toSrc);
  }
}
