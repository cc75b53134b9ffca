/**
 * Root-side relay bookkeeping (spec 3.9, 8.6): a root that relays a packet head between two peers
 * "unites" them with RENDEZVOUS at most once per 30 s per pair. Keyed by the unordered pair through
 * nested maps (no string keys, so no allocation per relayed packet once a pair is known), cleaned on
 * housekeeping so the table cannot grow without bound.
 */

import type { Address } from "./address.ts";

/** ZT_MIN_UNITE_INTERVAL */
export const MIN_UNITE_INTERVAL = 30000;
/** Our bound on remembered pairs; beyond it, new pairs are not united until housekeeping frees room. */
export const MAX_UNITE_PAIRS = 65536;

export class UniteGate {
  private readonly last = new Map<Address, Map<Address, number>>();
  private pairs = 0;

  /** True (and records the time) if the pair (a, b) may be united now. */
  shouldUnite(now: number, a: Address, b: Address): boolean {
    const lo = a < b ? a : b;
    const hi = a < b ? b : a;
    let inner = this.last.get(lo);
    const t = inner?.get(hi);
    if (t !== undefined && now - t < MIN_UNITE_INTERVAL) return false;
    if (t === undefined) {
      if (this.pairs >= MAX_UNITE_PAIRS) return false;
      this.pairs++;
    }
    if (inner === undefined) {
      inner = new Map();
      this.last.set(lo, inner);
    }
    inner.set(hi, now);
    return true;
  }

  clean(now: number): void {
    for (const [lo, inner] of this.last) {
      for (const [hi, t] of inner) {
        if (now - t >= MIN_UNITE_INTERVAL) {
          inner.delete(hi);
          this.pairs--;
        }
      }
      if (inner.size === 0) this.last.delete(lo);
    }
  }
}
