/**
 * The timers of a Node (spec 8.2), as 1.14 runs them: WHOIS retries and wait-queue expiry every
 * 500 ms, the ping check every 5 s (HELLO to upstreams and moon seeds, keepalives to active
 * peers, ONLINE re-evaluation), and housekeeping every 30 s (forget idle peers after caching
 * them, prune trust and rate tables).
 */

import type { Address } from "./address.ts";
import type { InetAddress } from "./inet-address.ts";
import type { Node } from "./node.ts";
import type { OnlineStatus } from "./online-status.ts";
import { NEVER, PATH_HEARTBEAT_PERIOD } from "./path.ts";
import { PEER_PING_PERIOD, type Peer } from "./peer.ts";
import type { UniteGate } from "./relay.ts";
import type { TrustedPaths } from "./trusted-paths.ts";
import { sendHello } from "./verbs/hello.ts";
import { WHOIS_RETRY_DELAY, type WhoisRequests } from "./whois.ts";

/** ZT_PING_CHECK_INTERVAL */
export const PING_CHECK_INTERVAL = 5000;
/** ZT_HOUSEKEEPING_PERIOD */
export const HOUSEKEEPING_PERIOD = 30000;

/** The node's private parts the timers work on. */
export interface UpkeepParts {
  readonly whois: WhoisRequests;
  readonly unite: UniteGate;
  readonly trusted: TrustedPaths;
  readonly online: OnlineStatus;
  /** Writes a peer to the peer cache (before it is forgotten). */
  savePeer(p: Peer): void;
}

export class Upkeep {
  private readonly node: Node;
  private readonly parts: UpkeepParts;
  private lastPingCheck = NEVER;
  private lastHousekeeping: number;
  private lastTimerTasks = NEVER;

  constructor(node: Node, parts: UpkeepParts) {
    this.node = node;
    this.parts = parts;
    this.lastHousekeeping = node.clock.now();
  }

  /** See Node.tick. */
  tick(): void {
    const now = this.node.clock.now();
    if (now - this.lastTimerTasks >= WHOIS_RETRY_DELAY) {
      this.lastTimerTasks = now;
      this.timerTasks(now);
    }
    if (now - this.lastPingCheck >= PING_CHECK_INTERVAL) {
      this.lastPingCheck = now;
      this.pingPeers(now);
    }
    if (now - this.lastHousekeeping >= HOUSEKEEPING_PERIOD) {
      this.lastHousekeeping = now;
      this.housekeeping(now);
    }
  }

  /** See Node.nextDeadline. */
  nextDeadline(): number {
    const node = this.node;
    let d = Math.min(this.lastPingCheck + PING_CHECK_INTERVAL, this.lastHousekeeping + HOUSEKEEPING_PERIOD);
    if (node.rxWait.count() > 0 || node.txWait.count() > 0) d = Math.min(d, this.lastTimerTasks + WHOIS_RETRY_DELAY);
    return d;
  }

  /** Run the ping check at the next tick (a moon seed was added). */
  pingSoon(): void {
    this.lastPingCheck = NEVER;
  }

  private timerTasks(now: number): void {
    const node = this.node;
    const { rxWait, txWait, stats } = node;
    const expiredRx = rxWait.expire(now);
    const expiredTx = txWait.expire(now);
    for (let i = 0; i < expiredRx; i++) stats.drop("unknown_peer_queue_timeout");
    for (let i = 0; i < expiredTx; i++) stats.drop("send_queue_timeout");
    const overflowRx = rxWait.overflows;
    const overflowTx = txWait.overflows;
    stats.drops.unknown_peer_queue_overflow += overflowRx;
    stats.drops.send_queue_overflow += overflowTx;
    rxWait.overflows = 0;
    txWait.overflows = 0;
    if (rxWait.count() + txWait.count() > 0) {
      const waiting = new Set<Address>();
      rxWait.waitedFor(waiting);
      txWait.waitedFor(waiting);
      for (const a of waiting) node.requestWhois(a);
    }
  }

  private pingPeers(now: number): void {
    const node = this.node;
    const topology = node.topology;
    const always = new Map<Address, InetAddress[]>();
    for (const a of topology.upstreamAddresses) always.set(a, topology.stableEndpoints(a) ?? []);
    for (const s of topology.moonSeeds) if (s.seed !== node.address && !always.has(s.seed)) always.set(s.seed, []);
    const bestUpstream = topology.bestRoot(now);
    let lastUp = NEVER;
    for (const peer of topology.peers.values()) {
      const eps = always.get(peer.address);
      if (eps !== undefined) {
        always.delete(peer.address);
        const role = topology.role(peer.address);
        let scale = role === "LEAF" ? 2 : 16;
        if (role !== "LEAF" && peer.livePaths(now).length === 0) scale = 0;
        if (now - peer.lastSentFullHello > PATH_HEARTBEAT_PERIOD * scale) {
          const sent = this.doPingAndKeepalive(peer, now);
          let contacted = sent !== 0;
          if ((sent & 1) === 0 && this.helloRandomEndpoint(peer, eps, 4)) contacted = true;
          if ((sent & 2) === 0 && this.helloRandomEndpoint(peer, eps, 6)) contacted = true;
          if (!contacted && bestUpstream !== null && bestUpstream !== peer) {
            const up = bestUpstream.bestPath(now, true);
            if (up !== null) sendHello(node, peer, up.localSocket, up.address);
          }
        }
      } else if (peer.isActive(now)) {
        this.doPingAndKeepalive(peer, now);
      }
      if (topology.isUpstream(peer.address) && peer.lastReceive > lastUp) lastUp = peer.lastReceive;
    }
    for (const a of always.keys()) node.requestWhois(a);
    this.parts.online.update(now, lastUp, topology.amUpstream);
  }

  private helloRandomEndpoint(peer: Peer, eps: readonly InetAddress[], family: 4 | 6): boolean {
    if (eps.length === 0) return false;
    const off = this.node.rng.u32() % eps.length;
    for (let k = 0; k < eps.length; k++) {
      const e = eps[(off + k) % eps.length]!;
      if (e.family === family) {
        sendHello(this.node, peer, -1, e);
        return true;
      }
    }
    return false;
  }

  /** Keepalive for one peer: HELLO every 60 s or ECHO on paths idle 14 s; drops expired paths. Returns 1 (IPv4 sent) | 2 (IPv6 sent). */
  private doPingAndKeepalive(peer: Peer, now: number): number {
    const full = now - peer.lastSentFullHello >= PEER_PING_PERIOD;
    if (full) peer.lastSentFullHello = now;
    peer.expirePaths(now);
    let sent = 0;
    for (const path of [...peer.paths]) {
      if (full || path.needsHeartbeat(now)) {
        this.node.attemptToContactAt(peer, path.localSocket, path.address, full);
        path.lastOut = now;
        sent |= path.address.family === 4 ? 1 : 2;
      }
    }
    return sent;
  }

  private housekeeping(now: number): void {
    const node = this.node;
    const topology = node.topology;
    const parts = this.parts;
    for (const [a, p] of topology.peers) {
      if (!p.isAlive(now) && !topology.isUpstream(a) && !topology.moonSeeds.some((s) => s.seed === a)) {
        parts.savePeer(p);
        topology.remove(a);
      }
    }
    parts.trusted.prune(now);
    node.selfAwareness.clean(now);
    parts.unite.clean(now);
    parts.whois.expire(now);
  }
}
