/**
 * IPv4 routing table: longest-prefix match over a short list. Interfaces here have a handful of
 * routes (one per address plus a default), so a linear scan beats any trie.
 */
import { prefixMask } from "./wire/ipv4.ts";

export interface Route {
  /** Network address (host bits zero). */
  dest: number;
  prefixLen: number;
  /** Next hop, or 0 when the destination is on-link. */
  gateway: number;
  /** Preferred source address, or 0 to use the interface address on the gateway's/destination's subnet. */
  src: number;
}

export class RouteTable {
  private readonly routes: Route[] = [];

  add(dest: number, prefixLen: number, gateway = 0, src = 0): void {
    const mask = prefixMask(prefixLen);
    const net = (dest & mask) >>> 0;
    this.remove(net, prefixLen);
    this.routes.push({ dest: net, prefixLen, gateway: gateway >>> 0, src: src >>> 0 });
    // Longest prefix first, so lookup can stop at the first match.
    this.routes.sort((a, b) => b.prefixLen - a.prefixLen);
  }

  remove(dest: number, prefixLen: number): boolean {
    const net = (dest & prefixMask(prefixLen)) >>> 0;
    const i = this.routes.findIndex((r) => r.dest === net && r.prefixLen === prefixLen);
    if (i < 0) return false;
    this.routes.splice(i, 1);
    return true;
  }

  /** The most specific route to dst, or undefined when none. */
  lookup(dst: number): Route | undefined {
    for (const r of this.routes) {
      if (((dst & prefixMask(r.prefixLen)) >>> 0) === r.dest) return r;
    }
    return undefined;
  }

  list(): readonly Route[] {
    return this.routes;
  }
}
