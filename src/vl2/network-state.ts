/**
 * A joined network's status as zerotier-one reports it (spec 8.9), and its counters: every
 * rejected config, dropped frame and refused credential is counted by reason (and logged), so a
 * forged packet is visible without changing the network's status. Plus the few byte helpers and
 * constants the network, its frames and its multicast share.
 */
import { consola } from "consola";
import type { NetworkIdHalves } from "./frame-codec.ts";
import type { Rule } from "./rules.ts";

/** Largest Ethernet payload of a MULTICAST_FRAME we accept or send (1.14's limit). */
export const MAX_MULTICAST_PAYLOAD = 10_000;

/** No capabilities (shared, so filtering a frame from a member without any allocates nothing). */
export const NO_CAPS: readonly (readonly Rule[])[] = [];

export function writeNwid(b: Uint8Array, o: number, n: NetworkIdHalves): void {
  b[o] = n.hi >>> 24;
  b[o + 1] = (n.hi >>> 16) & 0xff;
  b[o + 2] = (n.hi >>> 8) & 0xff;
  b[o + 3] = n.hi & 0xff;
  b[o + 4] = n.lo >>> 24;
  b[o + 5] = (n.lo >>> 16) & 0xff;
  b[o + 6] = (n.lo >>> 8) & 0xff;
  b[o + 7] = n.lo & 0xff;
}

export function readU32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

export const NetworkStatus = {
  REQUESTING_CONFIGURATION: "REQUESTING_CONFIGURATION",
  OK: "OK",
  ACCESS_DENIED: "ACCESS_DENIED",
  NOT_FOUND: "NOT_FOUND",
  PORT_ERROR: "PORT_ERROR",
  CLIENT_TOO_OLD: "CLIENT_TOO_OLD",
  AUTHENTICATION_REQUIRED: "AUTHENTICATION_REQUIRED",
} as const;
export type NetworkStatus = (typeof NetworkStatus)[keyof typeof NetworkStatus];

/** Why the controller refused us (1.14's _netconfFailure); NONE = status follows "have a config". */
export type ConfigFailure = "none" | "access-denied" | "not-found" | "authentication-required";

const MAX_REASONS = 64;

/** Counters by reason. Logging is rate limited per reason so a flood cannot flood the log. */
export class ReasonCounters {
  readonly counts = new Map<string, number>();
  private readonly lastLog = new Map<string, number>();

  constructor(
    private readonly prefix: string,
    private readonly now: () => number,
    private readonly logEveryMs = 10_000,
  ) {}

  /** Count one event; log it (at `level`) unless this reason was logged within logEveryMs. */
  add(reason: string, detail = "", level: "debug" | "info" | "warn" = "debug"): void {
    // Reasons may carry numbers from hostile input: bound the distinct keys (and metric labels).
    if (!this.counts.has(reason) && this.counts.size >= MAX_REASONS) reason = "other";
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
    const t = this.now();
    const last = this.lastLog.get(reason);
    if (last !== undefined && t - last < this.logEveryMs) return;
    this.lastLog.set(reason, t);
    const msg = `${this.prefix}: ${reason}${detail ? `: ${detail}` : ""} (${this.counts.get(reason)} so far)`;
    if (level === "warn") consola.warn(msg);
    else if (level === "info") consola.info(msg);
    else consola.debug(msg);
  }

  get(reason: string): number {
    return this.counts.get(reason) ?? 0;
  }

  total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }

  toJson(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}
