/**
 * Self-awareness (spec 8.6): the external addresses other nodes report seeing us at (HELLO and
 * OK(HELLO) carry them). Kept per (reporter, local socket, reporter scope) for 10 minutes; the
 * distinct addresses are what we advertise in PUSH_DIRECT_PATHS and what `/status` calls
 * surfaceAddresses. Bounded: at most MAX_ENTRIES reports are kept.
 */

import type { Address } from "./address.ts";
import type { InetAddress } from "./inet-address.ts";
import { endpointsEqual } from "./ip-scope.ts";
import { copyInetAddress } from "./peer.ts";

/** ZT_SELFAWARENESS_ENTRY_TIMEOUT */
export const SELF_AWARENESS_TIMEOUT = 600000;
const MAX_ENTRIES = 256;

interface Entry {
  reporter: Address;
  localSocket: number;
  reporterScope: number;
  surface: InetAddress;
  at: number;
  trusted: boolean;
}

export class SelfAwareness {
  private readonly entries: Entry[] = [];

  /**
   * Records a report. Returns true when a trusted reporter (a root) says our address changed for
   * the same key: the reference then re-probes our paths in that scope.
   */
  iam(reporter: Address, localSocket: number, reporterScope: number, surface: InetAddress, trusted: boolean, now: number): boolean {
    for (const e of this.entries) {
      if (e.reporter !== reporter || e.localSocket !== localSocket || e.reporterScope !== reporterScope) continue;
      const changed = !endpointsEqual(e.surface, surface);
      if (changed) e.surface = copyInetAddress(surface);
      e.at = now;
      e.trusted = trusted;
      return changed && trusted;
    }
    if (this.entries.length >= MAX_ENTRIES) {
      let oldest = 0;
      for (let i = 1; i < this.entries.length; i++) if (this.entries[i]!.at < this.entries[oldest]!.at) oldest = i;
      this.entries.splice(oldest, 1);
    }
    this.entries.push({ reporter, localSocket, reporterScope, surface: copyInetAddress(surface), at: now, trusted });
    return false;
  }

  clean(now: number): void {
    for (let i = this.entries.length - 1; i >= 0; i--) if (now - this.entries[i]!.at >= SELF_AWARENESS_TIMEOUT) this.entries.splice(i, 1);
  }

  /** Distinct reported addresses, most recent first. */
  surfaceAddresses(): InetAddress[] {
    const out: InetAddress[] = [];
    const sorted = [...this.entries].sort((a, b) => b.at - a.at);
    for (const e of sorted) if (!out.some((a) => endpointsEqual(a, e.surface))) out.push(e.surface);
    return out;
  }
}
