/**
 * Neighbour cache for IPv4 over Ethernet. Unresolved destinations queue a bounded number of
 * datagrams while ARP requests are retried; resolved entries age out and are refreshed by a unicast
 * request before they are forgotten (a light version of Linux's REACHABLE -> STALE -> PROBE).
 */
import type { Clock } from "../util/clock.ts";

export interface ArpCacheOptions {
  /** Most entries kept; beyond it the oldest resolved entry is evicted. */
  maxEntries?: number;
  /** Datagrams held per unresolved destination. */
  maxQueuedPerEntry?: number;
  /** Bytes held per unresolved destination (Linux: unres_qlen_bytes = 212992). */
  maxQueuedBytesPerEntry?: number;
  /** Bytes held across all unresolved destinations. */
  maxQueuedBytes?: number;
  /** How long a learned mapping is trusted without refresh. */
  reachableMs?: number;
  /** After reachableMs, how long the mapping is still used while a refresh is tried. */
  staleMs?: number;
  /** Interval between requests for an unresolved address. */
  retryMs?: number;
  /** Requests sent before giving up on an address. */
  maxProbes?: number;
}

/** A datagram waiting for resolution: buf[start, end) is the IPv4 datagram, with headroom before it. */
export interface QueuedDatagram {
  buf: Uint8Array;
  start: number;
  end: number;
}

/** What the cache asks of its interface. */
export interface ArpCacheHost {
  /** Send an ARP request for ip: broadcast when mac is undefined, unicast refresh otherwise. */
  sendArpRequest(ip: number, mac: number | undefined): void;
  /** Resolution succeeded: send these queued datagrams to mac. */
  flushQueued(ip: number, mac: number, queued: QueuedDatagram[]): void;
  /** Resolution failed: report these datagrams as unreachable. */
  resolutionFailed(ip: number, queued: QueuedDatagram[]): void;
}

interface Entry {
  ip: number;
  /** Resolved MAC, or -1 while incomplete. */
  mac: number;
  /** Resolved: when the mapping stops being trusted. Incomplete: unused. */
  reachableUntil: number;
  /** Next request time (incomplete, or stale being refreshed); Infinity when none due. */
  nextProbeAt: number;
  probes: number;
  queue: QueuedDatagram[];
  queuedBytes: number;
}

export type QueueResult = "queued" | "dropped";

export class ArpCache {
  private readonly entries = new Map<number, Entry>();
  private readonly maxEntries: number;
  private readonly maxQueuedPerEntry: number;
  private readonly maxQueuedBytes: number;
  private readonly maxQueuedBytesPerEntry: number;
  private readonly reachableMs: number;
  private readonly staleMs: number;
  private readonly retryMs: number;
  private readonly maxProbes: number;
  private queuedBytes = 0;
  /** Datagrams dropped because a queue limit was hit. */
  queueDrops = 0;

  constructor(
    private readonly clock: Clock,
    private readonly host: ArpCacheHost,
    opts: ArpCacheOptions = {},
  ) {
    this.maxEntries = opts.maxEntries ?? 1024;
    // A burst of connects to one new neighbour (1,000 SYNs) must survive resolution, as on Linux.
    this.maxQueuedPerEntry = opts.maxQueuedPerEntry ?? 4096;
    this.maxQueuedBytesPerEntry = opts.maxQueuedBytesPerEntry ?? 212_992;
    this.maxQueuedBytes = opts.maxQueuedBytes ?? 1024 * 1024;
    this.reachableMs = opts.reachableMs ?? 30_000;
    this.staleMs = opts.staleMs ?? 5_000;
    this.retryMs = opts.retryMs ?? 1_000;
    this.maxProbes = opts.maxProbes ?? 3;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * The MAC to use for ip, or -1 when unresolved. Using a mapping past its reachable time schedules
   * a unicast refresh but keeps it usable until the stale period ends.
   */
  lookup(ip: number): number {
    const e = this.entries.get(ip);
    if (e === undefined || e.mac < 0) return -1;
    const now = this.clock.now();
    if (now >= e.reachableUntil && e.probes === 0) {
      this.host.sendArpRequest(ip, e.mac);
      e.probes = 1;
      e.nextProbeAt = now + this.retryMs;
    }
    return e.mac;
  }

  /** Peek without side effects (tests, diagnostics). */
  peek(ip: number): number {
    const e = this.entries.get(ip);
    return e === undefined ? -1 : e.mac;
  }

  /**
   * Record ip -> mac. `create` is false for ARP traffic not addressed to us (RFC 826: only update
   * entries we already have). Flushes datagrams waiting for this address.
   */
  learn(ip: number, mac: number, create: boolean): void {
    let e = this.entries.get(ip);
    if (e === undefined) {
      if (!create) return;
      e = this.newEntry(ip);
    }
    e.mac = mac;
    e.reachableUntil = this.clock.now() + this.reachableMs;
    e.nextProbeAt = Infinity;
    e.probes = 0;
    if (e.queue.length > 0) {
      const q = e.queue;
      e.queue = [];
      this.queuedBytes -= e.queuedBytes;
      e.queuedBytes = 0;
      this.host.flushQueued(ip, mac, q);
    }
  }

  /**
   * Hold a copy of buf[start, end) (an IPv4 datagram; `headroom` bytes before it are copied as free
   * space) until ip resolves, starting resolution if needed.
   */
  enqueue(ip: number, buf: Uint8Array, start: number, end: number, headroom: number): QueueResult {
    let e = this.entries.get(ip);
    if (e === undefined) e = this.newEntry(ip);
    const len = end - start;
    if (
      e.queue.length >= this.maxQueuedPerEntry ||
      e.queuedBytes + len > this.maxQueuedBytesPerEntry ||
      this.queuedBytes + len > this.maxQueuedBytes
    ) {
      this.queueDrops++;
      return "dropped";
    }
    const copy = new Uint8Array(headroom + len);
    copy.set(buf.subarray(start, end), headroom);
    e.queue.push({ buf: copy, start: headroom, end: headroom + len });
    e.queuedBytes += len;
    this.queuedBytes += len;
    if (e.probes === 0) {
      e.probes = 1;
      e.nextProbeAt = this.clock.now() + this.retryMs;
      this.host.sendArpRequest(ip, undefined);
    }
    return "queued";
  }

  /** Retry requests, give up on silent addresses, forget stale mappings. */
  poll(): void {
    const now = this.clock.now();
    for (const e of this.entries.values()) {
      if (e.mac < 0) {
        if (now < e.nextProbeAt) continue;
        if (e.probes >= this.maxProbes) {
          this.entries.delete(e.ip);
          const q = e.queue;
          this.queuedBytes -= e.queuedBytes;
          if (q.length > 0) this.host.resolutionFailed(e.ip, q);
          continue;
        }
        e.probes++;
        e.nextProbeAt = now + this.retryMs;
        this.host.sendArpRequest(e.ip, undefined);
      } else {
        if (now >= e.reachableUntil + this.staleMs) {
          this.entries.delete(e.ip);
          continue;
        }
        if (now >= e.nextProbeAt) {
          if (e.probes >= this.maxProbes) {
            e.nextProbeAt = Infinity; // wait for the stale period to end
            continue;
          }
          e.probes++;
          e.nextProbeAt = now + this.retryMs;
          this.host.sendArpRequest(e.ip, e.mac);
        }
      }
    }
  }

  /** Earliest time poll() has work, Infinity if none. */
  nextDeadline(): number {
    let t = Infinity;
    for (const e of this.entries.values()) {
      if (e.nextProbeAt < t) t = e.nextProbeAt;
      if (e.mac >= 0) {
        const forget = e.reachableUntil + this.staleMs;
        if (forget < t) t = forget;
      }
    }
    return t;
  }

  private newEntry(ip: number): Entry {
    if (this.entries.size >= this.maxEntries) this.evictOne();
    const e: Entry = { ip, mac: -1, reachableUntil: 0, nextProbeAt: Infinity, probes: 0, queue: [], queuedBytes: 0 };
    this.entries.set(ip, e);
    return e;
  }

  /** Evict the resolved entry closest to expiry (never an incomplete one with waiting datagrams if avoidable). */
  private evictOne(): void {
    let victim: Entry | undefined;
    for (const e of this.entries.values()) {
      if (e.queue.length > 0) continue;
      if (victim === undefined || e.reachableUntil < victim.reachableUntil) victim = e;
    }
    victim ??= this.entries.values().next().value;
    if (victim === undefined) return;
    this.entries.delete(victim.ip);
    this.queuedBytes -= victim.queuedBytes;
  }
}
