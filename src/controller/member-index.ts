/**
 * Per-network indexes kept in step with the member records, so a config request costs the same
 * with 10 members or 10,000: the addresses already handed out (for conflict-free assignment) and
 * the active bridges (sent to every member as specialists).
 */

import type { JsonObject } from "../util/json.ts";
import { inetAddressFromString, ipToString } from "../vl1/inet-address.ts";

export class MemberIndex {
  /** Canonical IP text -> how many members record it (manual assignments may collide). */
  private readonly ipRefs = new Map<string, number>();
  private readonly bridges = new Set<string>();
  private bridgeList: string[] | null = [];

  add(member: JsonObject): void {
    for (const ip of ipsOf(member)) this.ipRefs.set(ip, (this.ipRefs.get(ip) ?? 0) + 1);
    if (member.activeBridge === true && typeof member.id === "string") {
      this.bridges.add(member.id);
      this.bridgeList = null;
    }
  }

  remove(member: JsonObject): void {
    for (const ip of ipsOf(member)) {
      const n = (this.ipRefs.get(ip) ?? 0) - 1;
      if (n > 0) this.ipRefs.set(ip, n);
      else this.ipRefs.delete(ip);
    }
    if (typeof member.id === "string" && this.bridges.delete(member.id)) this.bridgeList = null;
  }

  /** Is this address (canonical text, as ipToString writes it) recorded for some member? */
  has(ip: string): boolean {
    return this.ipRefs.has(ip);
  }

  /** Active bridges' addresses, sorted. */
  activeBridges(): readonly string[] {
    if (this.bridgeList === null) this.bridgeList = [...this.bridges].sort();
    return this.bridgeList;
  }
}

function ipsOf(member: JsonObject): string[] {
  const out: string[] = [];
  if (!Array.isArray(member.ipAssignments)) return out;
  for (const v of member.ipAssignments) {
    if (typeof v !== "string") continue;
    const a = inetAddressFromString(v);
    if (a !== null) out.push(ipToString(a));
  }
  return out;
}
