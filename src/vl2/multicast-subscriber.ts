/**
 * A member's side of multicast (spec 7.2-7.5): the groups we subscribe to, the members we know
 * for each group we send to (learned from MULTICAST_LIKE, OK(MULTICAST_GATHER) and
 * OK(MULTICAST_FRAME)), when to gather, and frames still waiting for more recipients.
 * Bounded: members per group, groups, queued frames per group and their lifetime.
 */
import type { Address } from "../vl1/address.ts";
import type { Rng } from "../util/random.ts";
import { type MulticastGroup, multicastGroupKey } from "./multicast-group.ts";

export const MULTICAST_LIKE_EXPIRE = 600_000;
export const MULTICAST_ANNOUNCE_PERIOD = 60_000;
export const MULTICAST_EXPLICIT_GATHER_DELAY = 60_000;
export const MULTICAST_TRANSMIT_TIMEOUT = 5_000;
/** Queued outbound frames per group (1.14 keeps at most this many OutboundMulticasts). */
export const MAX_PENDING_PER_GROUP = 32;
const MAX_GROUPS = 4096;
const MAX_MEMBERS_PER_GROUP = 8192;

/** A frame sent to fewer recipients than the limit, waiting for gather results. */
export interface PendingMulticast {
  readonly group: MulticastGroup;
  readonly etherType: number;
  readonly sourceMac: number;
  readonly payload: Uint8Array;
  readonly expires: number;
  readonly limit: number;
  readonly sentTo: Set<Address>;
}

interface GroupState {
  readonly group: MulticastGroup;
  readonly members: Map<Address, number>;
  lastExplicitGather: number;
  pending: PendingMulticast[];
}

export class MulticastSubscriber {
  private readonly groups = new Map<string, GroupState>();
  /** Our subscriptions, keyed by multicastGroupKey. */
  private subs = new Map<string, MulticastGroup>();
  lastAnnounce = -Infinity;

  constructor(
    private readonly self: Address,
    private readonly rng: Rng,
  ) {}

  // ---- our subscriptions ----

  /** Replace our subscriptions; returns the groups that are new. */
  setSubscriptions(groups: readonly MulticastGroup[]): MulticastGroup[] {
    const next = new Map<string, MulticastGroup>();
    for (const g of groups) next.set(multicastGroupKey(g), g);
    const added: MulticastGroup[] = [];
    for (const [k, g] of next) if (!this.subs.has(k)) added.push(g);
    this.subs = next;
    return added;
  }

  get subscriptions(): MulticastGroup[] {
    return [...this.subs.values()];
  }

  subscribed(g: MulticastGroup): boolean {
    return this.subs.has(multicastGroupKey(g));
  }

  // ---- members of groups ----

  private state(g: MulticastGroup, create: boolean): GroupState | null {
    const k = multicastGroupKey(g);
    let s = this.groups.get(k);
    if (s === undefined && create && this.groups.size < MAX_GROUPS) {
      s = { group: g, members: new Map(), lastExplicitGather: -Infinity, pending: [] };
      this.groups.set(k, s);
    }
    return s ?? null;
  }

  /** Learn (or refresh) a member of a group; returns true if it was not known. */
  addMember(g: MulticastGroup, member: Address, now: number): boolean {
    if (member === this.self) return false;
    const s = this.state(g, true);
    if (s === null) return false;
    const known = s.members.has(member);
    if (!known && s.members.size >= MAX_MEMBERS_PER_GROUP) return false;
    s.members.set(member, now);
    return !known;
  }

  removeMember(g: MulticastGroup, member: Address): void {
    this.state(g, false)?.members.delete(member);
  }

  /** Live members of a group in random order. */
  members(g: MulticastGroup, now: number): Address[] {
    const s = this.state(g, false);
    if (s === null) return [];
    const out: Address[] = [];
    for (const [a, t] of s.members) {
      if (now - t >= MULTICAST_LIKE_EXPIRE) s.members.delete(a);
      else out.push(a);
    }
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.rng.u32() % (i + 1);
      const t = out[i]!;
      out[i] = out[j]!;
      out[j] = t;
    }
    return out;
  }

  /** Whether an explicit GATHER is due for this group now (and records that one is sent). */
  gatherDue(g: MulticastGroup, knownMembers: number, now: number): boolean {
    const s = this.state(g, true);
    if (s === null) return false;
    if (knownMembers > 0 && now - s.lastExplicitGather < MULTICAST_EXPLICIT_GATHER_DELAY) return false;
    s.lastExplicitGather = now;
    return true;
  }

  // ---- frames waiting for recipients ----

  queue(p: PendingMulticast): void {
    const s = this.state(p.group, true);
    if (s === null) return;
    if (s.pending.length >= MAX_PENDING_PER_GROUP) s.pending.shift();
    s.pending.push(p);
  }

  /** Unexpired queued frames of a group that still want recipients. */
  pendingFor(g: MulticastGroup, now: number): PendingMulticast[] {
    const s = this.state(g, false);
    if (s === null) return [];
    s.pending = s.pending.filter((p) => p.expires > now && p.sentTo.size < p.limit);
    return s.pending;
  }

  /** Housekeeping: expired members and frames, empty groups. */
  clean(now: number): void {
    for (const [k, s] of this.groups) {
      for (const [a, t] of s.members) if (now - t >= MULTICAST_LIKE_EXPIRE) s.members.delete(a);
      s.pending = s.pending.filter((p) => p.expires > now);
      if (s.members.size === 0 && s.pending.length === 0 && now - s.lastExplicitGather >= MULTICAST_EXPLICIT_GATHER_DELAY) this.groups.delete(k);
    }
  }
}
