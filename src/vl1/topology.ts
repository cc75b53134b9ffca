/**
 * The peer table and the root set (spec 5.3, 8.4): peers by address, the planet and moons, which
 * nodes are upstreams ("roots"), whether we are one, and which root to relay through.
 */

import type { Address } from "./address.ts";
import type { Identity } from "./identity.ts";
import type { InetAddress } from "./inet-address.ts";
import { ipsEqual } from "./ip-scope.ts";
import { LATENCY_UNKNOWN } from "./path.ts";
import { PEER_ACTIVITY_TIMEOUT, PEER_PING_PERIOD, Peer } from "./peer.ts";
import { PeerKeys } from "./peer-keys.ts";
import { WORLD_TYPE_MOON, WORLD_TYPE_PLANET, type World } from "./world.ts";

export type PeerRole = "LEAF" | "MOON" | "PLANET";

export interface MoonSeed {
  readonly id: bigint;
  readonly seed: Address;
}

export class Topology {
  readonly peers = new Map<Address, Peer>();
  private planetWorld: World | null = null;
  private readonly moonWorlds: World[] = [];
  private readonly seeds: MoonSeed[] = [];
  /** Addresses of all roots of planet and moons except ourselves, in world order. */
  private upstreams: Address[] = [];
  private upstreamSet = new Set<Address>();
  private amRoot = false;

  constructor(readonly self: Identity) {}

  get planet(): World | null {
    return this.planetWorld;
  }

  get moons(): readonly World[] {
    return this.moonWorlds;
  }

  get moonSeeds(): readonly MoonSeed[] {
    return this.seeds;
  }

  get amUpstream(): boolean {
    return this.amRoot;
  }

  get upstreamAddresses(): readonly Address[] {
    return this.upstreams;
  }

  isUpstream(a: Address): boolean {
    return this.upstreamSet.has(a);
  }

  role(a: Address): PeerRole {
    if (this.planetWorld !== null) for (const r of this.planetWorld.roots) if (r.identity.address === a) return "PLANET";
    for (const m of this.moonWorlds) for (const r of m.roots) if (r.identity.address === a) return "MOON";
    return "LEAF";
  }

  /** Stable endpoints of a root (planet first, then moons), null for non-roots. */
  stableEndpoints(a: Address): InetAddress[] | null {
    let out: InetAddress[] | null = null;
    for (const w of this.worlds()) {
      for (const r of w.roots) {
        if (r.identity.address !== a) continue;
        out ??= [];
        out.push(...r.stableEndpoints);
      }
    }
    return out;
  }

  /** Roots may only be reached at the IPs they list (spec 5.3), when they list any. */
  isProhibitedEndpoint(a: Address, ip: InetAddress): boolean {
    if (!this.upstreamSet.has(a)) return false;
    let listed = false;
    for (const w of this.worlds()) {
      for (const r of w.roots) {
        if (r.identity.address !== a) continue;
        if (r.stableEndpoints.length === 0) return false;
        listed = true;
        for (const e of r.stableEndpoints) if (ipsEqual(e, ip)) return false;
      }
    }
    return listed;
  }

  // ---- worlds ----

  /**
   * Offers a planet or moon (spec 5.3). Accepted if there is none of that kind/ID yet, or it
   * replaces the current one by the signed-update rule. A seed admits the first copy of a moon
   * we only know by seed; `trustFirst` admits a first planet/moon from local files. Returns true if
   * the world was installed.
   */
  addWorld(w: World, opts: { trustFirst?: boolean } = {}): boolean {
    if (w.type === WORLD_TYPE_PLANET) {
      const cur = this.planetWorld;
      if (cur !== null) {
        if (cur.id !== w.id || !cur.shouldBeReplacedBy(w)) return false;
      } else if (!opts.trustFirst) {
        return false;
      }
      this.planetWorld = w;
    } else if (w.type === WORLD_TYPE_MOON) {
      const i = this.moonWorlds.findIndex((m) => m.id === w.id);
      if (i >= 0) {
        if (!this.moonWorlds[i]!.shouldBeReplacedBy(w)) return false;
        this.moonWorlds[i] = w;
      } else {
        const seedIdx = this.seeds.findIndex((s) => s.id === w.id);
        const seedOk = seedIdx >= 0 && w.roots.some((r) => r.identity.address === this.seeds[seedIdx]!.seed);
        if (!opts.trustFirst && !seedOk) return false;
        if (seedIdx >= 0) this.seeds.splice(seedIdx, 1);
        this.moonWorlds.push(w);
      }
    } else {
      return false;
    }
    this.memoizeUpstreams();
    return true;
  }

  /** Orbit a moon we do not have yet: remember its seed (spec 5.3). */
  addMoonSeed(id: bigint, seed: Address): void {
    if (this.moonWorlds.some((m) => m.id === id) || this.seeds.some((s) => s.id === id)) return;
    this.seeds.push({ id, seed });
    this.memoizeUpstreams();
  }

  removeMoon(id: bigint): boolean {
    const before = this.moonWorlds.length + this.seeds.length;
    for (let i = this.moonWorlds.length - 1; i >= 0; i--) if (this.moonWorlds[i]!.id === id) this.moonWorlds.splice(i, 1);
    for (let i = this.seeds.length - 1; i >= 0; i--) if (this.seeds[i]!.id === id) this.seeds.splice(i, 1);
    this.memoizeUpstreams();
    return this.moonWorlds.length + this.seeds.length !== before;
  }

  /** Planet/moon updates are taken only from upstreams and moon seeds. */
  shouldAcceptWorldUpdateFrom(a: Address): boolean {
    return this.upstreamSet.has(a) || this.seeds.some((s) => s.seed === a);
  }

  private worlds(): World[] {
    return this.planetWorld === null ? this.moonWorlds : [this.planetWorld, ...this.moonWorlds];
  }

  private memoizeUpstreams(): void {
    const ups: Address[] = [];
    let amRoot = false;
    for (const w of this.worlds()) {
      for (const r of w.roots) {
        const id = r.identity;
        if (id.address === this.self.address) {
          amRoot = true;
          continue;
        }
        if (!ups.includes(id.address)) ups.push(id.address);
        if (!this.peers.has(id.address)) this.addPeer(id);
      }
    }
    this.upstreams = ups;
    this.upstreamSet = new Set(ups);
    this.amRoot = amRoot;
  }

  // ---- peers ----

  get(a: Address): Peer | null {
    return this.peers.get(a) ?? null;
  }

  /**
   * Adds a peer for this identity (computing the shared keys), or returns the existing one with the
   * same identity. Returns null if a different identity already holds the address.
   */
  addPeer(id: Identity): Peer | null {
    const existing = this.peers.get(id.address);
    if (existing !== undefined) return existing.identity.equals(id) ? existing : null;
    const p = new Peer(id.publicOnly(), new PeerKeys(this.self.agree(id)));
    this.peers.set(id.address, p);
    return p;
  }

  /** Adds an already-built peer (whose keys were computed while authenticating its HELLO). */
  insertPeer(p: Peer): Peer {
    const existing = this.peers.get(p.address);
    if (existing !== undefined) return existing;
    this.peers.set(p.address, p);
    return p;
  }

  remove(a: Address): void {
    this.peers.delete(a);
  }

  /**
   * The root to relay through (spec 8.3): lowest latency × (1 + ms since last receive / 61 s);
   * unknown latency counts as 65535; a root silent for 500 s ranks last but is still returned when
   * nothing better exists (so the first WHOIS can go out before any root answered).
   */
  bestRoot(now: number): Peer | null {
    let best: Peer | null = null;
    let bestQ = Infinity;
    for (const a of this.upstreams) {
      const p = this.peers.get(a);
      if (p === undefined) continue;
      const q = relayQuality(p, now);
      if (q <= bestQ) {
        bestQ = q;
        best = p;
      }
    }
    return best;
  }
}

function relayQuality(p: Peer, now: number): number {
  const since = now - p.lastReceive;
  if (since >= PEER_ACTIVITY_TIMEOUT) return 0xffffffff;
  let l = p.latency(now);
  if (l === 0 || l >= LATENCY_UNKNOWN) l = LATENCY_UNKNOWN;
  return l * (Math.floor(since / (PEER_PING_PERIOD + 1000)) + 1);
}
