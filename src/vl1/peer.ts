/**
 * What we know about one other node (spec 8.2-8.3): its identity and our shared keys, the versions
 * it announced, its physical paths, and the per-peer rate gates. Pure state: the Node decides what
 * to send; `received` only reports whether an unknown address should be probed.
 */

import { CIPHER_AES_GMAC_SIV, CIPHER_SALSA2012_POLY1305 } from "./armor.ts";
import type { Identity } from "./identity.ts";
import type { InetAddress } from "./inet-address.ts";
import { ipsEqual } from "./ip-scope.ts";
import { Verb } from "./packet.ts";
import { ECHO_RATE_LIMIT, LATENCY_UNKNOWN, NEVER, PEER_PATH_EXPIRATION, Path, TRUST_EXPIRATION } from "./path.ts";
import type { PeerKeys } from "./peer-keys.ts";

/** ZT_PEER_ACTIVITY_TIMEOUT */
export const PEER_ACTIVITY_TIMEOUT = 500000;
/** ZT_PEER_PING_PERIOD: full HELLO at most this often. */
export const PEER_PING_PERIOD = 60000;
/** ZT_MAX_PEER_NETWORK_PATHS */
export const MAX_PEER_PATHS = 64;
/** ZT_PEER_WHOIS_RATE_LIMIT */
export const WHOIS_RATE_LIMIT = 100;
/** ZT_PUSH_DIRECT_PATHS_CUTOFF_TIME / _LIMIT */
export const PUSH_DIRECT_PATHS_CUTOFF_TIME = 30000;
export const PUSH_DIRECT_PATHS_CUTOFF_LIMIT = 8;
/** Probe (HELLO) a not-yet-trusted address at most once per this per path. */
const UNKNOWN_PATH_PROBE_INTERVAL = 1000;
const MAX_PROBE_RECORDS = 16;

/** Protocol version from which peers get AES-GMAC-SIV (spec 2.7). */
export const AES_MIN_PROTOCOL_VERSION = 12;

export class Peer {
  readonly address: number;
  readonly paths: Path[] = [];
  /** 0 until learned from HELLO / OK(HELLO) / the peer cache. */
  remoteProtocol = 0;
  remoteMajor = -1;
  remoteMinor = -1;
  remoteRevision = -1;
  lastReceive = NEVER;
  /** Last FRAME / EXT_FRAME / NETWORK_CONFIG(_REQUEST) / MULTICAST_FRAME: what makes a peer "active". */
  lastNontrivialReceive = NEVER;
  lastSentFullHello = NEVER;
  lastTrustEstablished = NEVER;
  lastDirectPathPushSent = NEVER;
  private lastWhoisRequest = NEVER;
  private lastUnconfirmedEcho = NEVER;
  private lastDirectPathPushReceive = NEVER;
  private directPathPushCount = 0;
  /** Recently probed unknown addresses: [socket, address, time], bounded. */
  private readonly probes: { socket: number; address: InetAddress; at: number }[] = [];

  constructor(
    readonly identity: Identity,
    readonly keys: PeerKeys,
  ) {
    this.address = identity.address;
  }

  /** Suite for everything but HELLO (spec 2.7). */
  get suite(): typeof CIPHER_AES_GMAC_SIV | typeof CIPHER_SALSA2012_POLY1305 {
    return this.remoteProtocol >= AES_MIN_PROTOCOL_VERSION ? CIPHER_AES_GMAC_SIV : CIPHER_SALSA2012_POLY1305;
  }

  setRemoteVersion(proto: number, major: number, minor: number, revision: number): void {
    this.remoteProtocol = proto;
    this.remoteMajor = major;
    this.remoteMinor = minor;
    this.remoteRevision = revision;
  }

  /** ECHO works as keepalive from protocol 5 on, except 1.1.0 which mishandled it. */
  get echoCapable(): boolean {
    return this.remoteProtocol >= 5 && !(this.remoteMajor === 1 && this.remoteMinor === 1 && this.remoteRevision === 0);
  }

  isActive(now: number): boolean {
    return now - this.lastNontrivialReceive < PEER_ACTIVITY_TIMEOUT;
  }

  isAlive(now: number): boolean {
    return now - this.lastReceive < PEER_ACTIVITY_TIMEOUT;
  }

  trustEstablished(now: number): boolean {
    return now - this.lastTrustEstablished < TRUST_EXPIRATION;
  }

  findPath(localSocket: number, address: InetAddress): Path | null {
    for (const p of this.paths) if (p.is(localSocket, address)) return p;
    return null;
  }

  /** Best non-expired path (or any path when includeExpired), lowest quality value wins. */
  bestPath(now: number, includeExpired = false): Path | null {
    let best: Path | null = null;
    let bestQ = Infinity;
    for (const p of this.paths) {
      if (!includeExpired && now - p.lastIn >= PEER_PATH_EXPIRATION) continue;
      const q = p.quality(now);
      if (q <= bestQ) {
        bestQ = q;
        best = p;
      }
    }
    return best;
  }

  /** Paths not yet expired. */
  livePaths(now: number): Path[] {
    return this.paths.filter((p) => now - p.lastIn < PEER_PATH_EXPIRATION);
  }

  hasActivePathTo(now: number, address: InetAddress): boolean {
    for (const p of this.paths) if (p.is(-1, address) && p.alive(now)) return true;
    return false;
  }

  /** Latency of the path we would use now, LATENCY_UNKNOWN if none (what the API reports). */
  latency(now: number): number {
    const p = this.bestPath(now, false);
    return p === null ? LATENCY_UNKNOWN : p.latency;
  }

  /**
   * Bookkeeping for an authenticated packet (spec 8.3): liveness, and for a direct packet the path
   * it came over. Returns that path if known, "new" for an address we have no path for (the node
   * then checks the address and adds it for an OK, or probes it with HELLO), else null.
   */
  received(now: number, localSocket: number, from: InetAddress, hops: number, verb: number): Path | "new" | null {
    this.lastReceive = now;
    if (
      verb === Verb.FRAME ||
      verb === Verb.EXT_FRAME ||
      verb === Verb.NETWORK_CONFIG_REQUEST ||
      verb === Verb.NETWORK_CONFIG ||
      verb === Verb.MULTICAST_FRAME
    ) {
      this.lastNontrivialReceive = now;
    }
    if (hops !== 0) return null;
    const existing = this.findPath(localSocket, from);
    if (existing !== null) {
      existing.lastIn = now;
      return existing;
    }
    // Same IP on the same socket with a live path: don't learn (avoids flapping between NAT ports).
    for (const p of this.paths) if (p.localSocket === localSocket && ipsEqual(p.address, from) && p.alive(now)) return null;
    return "new";
  }

  /** Adds a confirmed path, replacing a dead one with the same IP, else using a free slot, else the oldest. */
  addPath(now: number, localSocket: number, address: InetAddress): Path {
    const path = new Path(localSocket, copyInetAddress(address));
    path.lastIn = now;
    let replace = -1;
    for (let i = 0; i < this.paths.length; i++) {
      const p = this.paths[i]!;
      if (p.localSocket === localSocket && ipsEqual(p.address, address) && !p.alive(now)) {
        replace = i;
        break;
      }
    }
    if (replace < 0 && this.paths.length >= MAX_PEER_PATHS) {
      let oldest = Infinity;
      for (let i = 0; i < this.paths.length; i++) {
        if (this.paths[i]!.lastIn < oldest) {
          oldest = this.paths[i]!.lastIn;
          replace = i;
        }
      }
    }
    if (replace >= 0) this.paths[replace] = path;
    else this.paths.push(path);
    return path;
  }

  /** Removes expired paths; returns how many were removed. */
  expirePaths(now: number): number {
    const before = this.paths.length;
    for (let i = this.paths.length - 1; i >= 0; i--) if (now - this.paths[i]!.lastIn >= PEER_PATH_EXPIRATION) this.paths.splice(i, 1);
    return before - this.paths.length;
  }

  /** True at most once per second per unconfirmed address (and for at most 16 addresses at a time). */
  shouldProbe(now: number, localSocket: number, from: InetAddress): boolean {
    const probes = this.probes;
    for (let i = probes.length - 1; i >= 0; i--) if (now - probes[i]!.at > UNKNOWN_PATH_PROBE_INTERVAL) probes.splice(i, 1);
    for (const p of probes) if (p.socket === localSocket && p.address.port === from.port && ipsEqual(p.address, from)) return false;
    if (probes.length >= MAX_PROBE_RECORDS) return false;
    probes.push({ socket: localSocket, address: copyInetAddress(from), at: now });
    return true;
  }

  rateGateInboundWhois(now: number): boolean {
    if (now - this.lastWhoisRequest >= WHOIS_RATE_LIMIT) {
      this.lastWhoisRequest = now;
      return true;
    }
    return false;
  }

  /** ECHO rate gate for requests that arrived over no confirmed path of this peer (relayed, new address). */
  rateGateEchoUnconfirmed(now: number): boolean {
    if (now - this.lastUnconfirmedEcho >= ECHO_RATE_LIMIT) {
      this.lastUnconfirmedEcho = now;
      return true;
    }
    return false;
  }

  /** At most PUSH_DIRECT_PATHS_CUTOFF_LIMIT pushes in a burst spaced less than 30 s apart. */
  rateGatePushDirectPaths(now: number): boolean {
    if (now - this.lastDirectPathPushReceive <= PUSH_DIRECT_PATHS_CUTOFF_TIME) this.directPathPushCount++;
    else this.directPathPushCount = 0;
    this.lastDirectPathPushReceive = now;
    return this.directPathPushCount < PUSH_DIRECT_PATHS_CUTOFF_LIMIT;
  }

  /** Best alive path per family, for RENDEZVOUS hints. */
  rendezvousAddresses(now: number): { v4: InetAddress | null; v6: InetAddress | null } {
    let v4: Path | null = null;
    let v6: Path | null = null;
    for (const p of this.paths) {
      if (!p.alive(now)) continue;
      if (p.address.family === 4) {
        if (v4 === null || p.quality(now) < v4.quality(now)) v4 = p;
      } else if (v6 === null || p.quality(now) < v6.quality(now)) v6 = p;
    }
    return { v4: v4?.address ?? null, v6: v6?.address ?? null };
  }
}


/** Paths outlive the datagram that taught them; callers may reuse their address objects. */
export function copyInetAddress(a: InetAddress): InetAddress {
  return a.family === 4 ? { family: 4, ip: a.ip.slice(), port: a.port } : { family: 6, ip: a.ip.slice(), port: a.port };
}
