/**
 * Unknown peers (spec 8.5): WHOIS requests to a root, at most one per address per 500 ms, and the
 * two fixed queues of packets waiting for an identity (32 inbound, 32 outbound, 5 s each).
 *
 * Bounded by construction so floods of random source addresses cannot grow memory: the queues are
 * rings that overwrite their oldest slot, and the table of outstanding requests has a hard cap
 * (addresses beyond it are not asked for until entries time out).
 */

import type { Address } from "./address.ts";
import type { InetAddress } from "./inet-address.ts";
import { MAX_PACKET_LENGTH } from "./packet.ts";
import { NEVER } from "./path.ts";
import { copyInetAddress } from "./peer.ts";

/** ZT_WHOIS_RETRY_DELAY */
export const WHOIS_RETRY_DELAY = 500;
/** ZT_RX_QUEUE_SIZE / ZT_TX_QUEUE_SIZE */
export const WAIT_QUEUE_SLOTS = 32;
/** ZT_RECEIVE_QUEUE_TIMEOUT / ZT_TRANSMIT_QUEUE_TIMEOUT */
export const WAIT_QUEUE_TIMEOUT = 5000;
/** Our cap on addresses with an outstanding WHOIS (the reference's table is unbounded). */
export const MAX_OUTSTANDING_WHOIS = 1024;
/** Our cap on WHOIS sent per 500 ms window, so a flood of unknown sources cannot flood the root. */
export const MAX_WHOIS_PER_WINDOW = 64;

/** A fixed ring of packet buffers, each waiting for the identity of one address. */
export class WaitQueue {
  readonly waitingFor = new Float64Array(WAIT_QUEUE_SLOTS);
  readonly length = new Int32Array(WAIT_QUEUE_SLOTS);
  readonly queuedAt = new Float64Array(WAIT_QUEUE_SLOTS).fill(NEVER);
  readonly localSocket = new Int32Array(WAIT_QUEUE_SLOTS);
  readonly flags = new Uint8Array(WAIT_QUEUE_SLOTS);
  readonly from: (InetAddress | null)[] = new Array<InetAddress | null>(WAIT_QUEUE_SLOTS).fill(null);
  /** Allocated on first use of a slot, then reused. */
  private readonly bufs: (Uint8Array | null)[] = new Array<Uint8Array | null>(WAIT_QUEUE_SLOTS).fill(null);
  private readonly used = new Uint8Array(WAIT_QUEUE_SLOTS);
  private next = 0;
  /** Packets dropped because the ring wrapped onto a still-waiting slot. */
  overflows = 0;

  /** Copies pkt[start, end) into the next slot; returns false if it does not fit a slot. */
  put(
    waitingFor: Address,
    pkt: Uint8Array,
    start: number,
    end: number,
    now: number,
    localSocket = -1,
    from: InetAddress | null = null,
    flags = 0,
  ): boolean {
    const len = end - start;
    if (len < 0 || len > MAX_PACKET_LENGTH) return false;
    const s = this.next;
    this.next = (s + 1) % WAIT_QUEUE_SLOTS;
    if (this.used[s] === 1) this.overflows++;
    let buf = this.bufs[s];
    if (buf === null || buf === undefined) {
      buf = new Uint8Array(MAX_PACKET_LENGTH);
      this.bufs[s] = buf;
    }
    buf.set(pkt.subarray(start, end), 0);
    this.used[s] = 1;
    this.waitingFor[s] = waitingFor;
    this.length[s] = len;
    this.queuedAt[s] = now;
    this.localSocket[s] = localSocket;
    this.flags[s] = flags;
    this.from[s] = from === null ? null : copyInetAddress(from);
    return true;
  }

  isUsed(s: number): boolean {
    return this.used[s] === 1;
  }

  buffer(s: number): Uint8Array {
    return this.bufs[s]!;
  }

  release(s: number): void {
    this.used[s] = 0;
    this.from[s] = null;
  }

  /** Frees slots older than the timeout; returns how many were dropped. */
  expire(now: number): number {
    let n = 0;
    for (let s = 0; s < WAIT_QUEUE_SLOTS; s++) {
      if (this.used[s] === 1 && now - this.queuedAt[s]! >= WAIT_QUEUE_TIMEOUT) {
        this.release(s);
        n++;
      }
    }
    return n;
  }

  /** Slots waiting for this address, in queue order (allocates; only used when an identity arrives). */
  slotsFor(a: Address): number[] {
    const out: number[] = [];
    for (let i = 0; i < WAIT_QUEUE_SLOTS; i++) {
      const s = (this.next + i) % WAIT_QUEUE_SLOTS;
      if (this.used[s] === 1 && this.waitingFor[s] === a) out.push(s);
    }
    return out;
  }

  /** Distinct addresses still waited for. */
  waitedFor(out: Set<Address>): void {
    for (let s = 0; s < WAIT_QUEUE_SLOTS; s++) if (this.used[s] === 1) out.add(this.waitingFor[s]!);
  }

  count(): number {
    let n = 0;
    for (let s = 0; s < WAIT_QUEUE_SLOTS; s++) n += this.used[s]!;
    return n;
  }
}

/** When each address was last asked for, with the caps described above. */
export class WhoisRequests {
  private readonly lastSent = new Map<Address, number>();
  private windowStart = NEVER;
  private windowCount = 0;
  /** Requests refused by the caps. */
  refused = 0;

  /** True if a WHOIS for `a` may be sent now (and records it as sent). */
  shouldSend(a: Address, now: number): boolean {
    const last = this.lastSent.get(a);
    if (last !== undefined && now - last < WHOIS_RETRY_DELAY) return false;
    if (last === undefined && this.lastSent.size >= MAX_OUTSTANDING_WHOIS) {
      this.refused++;
      return false;
    }
    if (now - this.windowStart >= WHOIS_RETRY_DELAY) {
      this.windowStart = now;
      this.windowCount = 0;
    }
    if (this.windowCount >= MAX_WHOIS_PER_WINDOW) {
      this.refused++;
      return false;
    }
    this.windowCount++;
    this.lastSent.set(a, now);
    return true;
  }

  /** The identity arrived: forget the request. */
  done(a: Address): void {
    this.lastSent.delete(a);
  }

  /** Drops entries older than the queue timeout. */
  expire(now: number): void {
    for (const [a, t] of this.lastSent) if (now - t >= WAIT_QUEUE_TIMEOUT) this.lastSent.delete(a);
  }

  get outstanding(): number {
    return this.lastSent.size;
  }
}
