/**
 * Paths that carried trust-establishing traffic (a packet that passed a network's membership
 * gate). A leaf relays only what arrives over one of them (spec 3.9). Bounded: the oldest entry
 * goes first; housekeeping drops the ones whose trust has lapsed.
 */

import type { InetAddress } from "./inet-address.ts";
import type { Path } from "./path.ts";

/** Bound on the paths a leaf checks before relaying. */
export const MAX_TRUSTED_PATHS = 256;

export class TrustedPaths {
  private paths: Path[] = [];

  /** Trust arrived over `path`: remember it if it was not trusted yet, and mark it. */
  noteTrusted(path: Path, now: number): void {
    if (!path.trustEstablished(now)) {
      if (this.paths.length >= MAX_TRUSTED_PATHS) this.paths.shift();
      this.paths.push(path);
    }
    path.lastTrustedIn = now;
  }

  /** Whether (localSocket, from) is a path with trust still established. */
  has(localSocket: number, from: InetAddress, now: number): boolean {
    for (const p of this.paths) if (p.trustEstablished(now) && p.is(localSocket, from)) return true;
    return false;
  }

  prune(now: number): void {
    this.paths = this.paths.filter((p) => p.trustEstablished(now));
    if (this.paths.length > MAX_TRUSTED_PATHS) this.paths.splice(0, this.paths.length - MAX_TRUSTED_PATHS);
  }
}
