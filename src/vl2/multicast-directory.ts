/**
 * The multicast directory roots (and controllers, for their own networks) keep for everyone: who
 * LIKEs which (network, group), answered to MULTICAST_GATHER (spec 4.9, 4.14, 7.3). Without it no
 * member could find another's ARP group, so nothing on a network would ever resolve an address.
 *
 * Entries expire 600 s after their last LIKE. Memory is bounded: a cap on groups and on members per
 * group; past a cap new entries are refused (counted), existing ones keep working.
 */
import type { Address } from "../vl1/address.ts";
import type { Rng } from "../util/random.ts";
import { multicastGroupKey, type MulticastGroup } from "./multicast-group.ts";

export const MULTICAST_LIKE_EXPIRE_MS = 600_000;
/** Addresses that fit in one OK(MULTICAST_GATHER) next to its headers. */
export const GATHER_MAX_PER_PACKET = 1900;

export interface DirectoryLimits {
  maxGroups: number;
  maxMembersPerGroup: number;
}

const DEFAULT_LIMITS: DirectoryLimits = { maxGroups: 100_000, maxMembersPerGroup: 10_000 };

export class MulticastDirectory {
  private readonly groups = new Map<string, Map<Address, number>>();
  refused = 0;

  constructor(
    private readonly rng: Rng,
    private readonly limits: DirectoryLimits = DEFAULT_LIMITS,
  ) {}

  private key(nwidHi: number, nwidLo: number, g: MulticastGroup): string {
    return `${nwidHi.toString(16)}:${nwidLo.toString(16)}/${multicastGroupKey(g)}`;
  }

  /** Record (or refresh) that `member` LIKEs the group at time `now`. */
  like(nwidHi: number, nwidLo: number, g: MulticastGroup, member: Address, now: number): void {
    const k = this.key(nwidHi, nwidLo, g);
    let m = this.groups.get(k);
    if (m === undefined) {
      if (this.groups.size >= this.limits.maxGroups) {
        this.refused++;
        return;
      }
      m = new Map();
      this.groups.set(k, m);
    }
    if (!m.has(member) && m.size >= this.limits.maxMembersPerGroup) {
      this.refused++;
      return;
    }
    m.set(member, now);
  }

  /** Remove a member from a group (ERROR UNWANTED_MULTICAST). */
  unlike(nwidHi: number, nwidLo: number, g: MulticastGroup, member: Address): void {
    const k = this.key(nwidHi, nwidLo, g);
    const m = this.groups.get(k);
    if (m === undefined) return;
    m.delete(member);
    if (m.size === 0) this.groups.delete(k);
  }

  /**
   * Up to `limit` live members of the group other than `requester`, in random order, and the
   * number known in total (what OK(MULTICAST_GATHER) reports).
   */
  gather(nwidHi: number, nwidLo: number, g: MulticastGroup, requester: Address, limit: number, now: number): { total: number; members: Address[] } {
    const m = this.groups.get(this.key(nwidHi, nwidLo, g));
    if (m === undefined) return { total: 0, members: [] };
    const live: Address[] = [];
    for (const [a, t] of m) {
      if (now - t >= MULTICAST_LIKE_EXPIRE_MS) m.delete(a);
      else if (a !== requester) live.push(a);
    }
    // Fisher-Yates, so every member has the same chance of being handed out.
    for (let i = live.length - 1; i > 0; i--) {
      const j = this.rng.u32() % (i + 1);
      const t = live[i]!;
      live[i] = live[j]!;
      live[j] = t;
    }
    const n = Math.min(live.length, Math.max(0, Math.floor(limit)), GATHER_MAX_PER_PACKET);
    return { total: m.size, members: live.slice(0, n) };
  }

  /** Drop expired entries (call from housekeeping). */
  expire(now: number): void {
    for (const [k, m] of this.groups) {
      for (const [a, t] of m) if (now - t >= MULTICAST_LIKE_EXPIRE_MS) m.delete(a);
      if (m.size === 0) this.groups.delete(k);
    }
  }

  get groupCount(): number {
    return this.groups.size;
  }
}
