/**
 * A joined network's status as zerotier-one reports it (spec 8.9), and its counters: every
 * rejected config, dropped frame and refused credential is counted by reason (and logged), so a
 * forged packet is visible without changing the network's status.
 */
import { consola } from "consola";

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
