/**
 * Inbound IPv4 fragment reassembly (RFC 791 §3.2, RFC 815 style hole tracking) with hard limits:
 * a fixed number of datagrams in progress, a byte budget, a timeout, and overlap = discard (the
 * Linux behaviour since FragmentSmack; overlapping fragments are only ever an attack or a bug).
 * Exact duplicates are ignored so a duplicating link does not break reassembly.
 */
import type { Clock } from "../util/clock.ts";
import type { Ipv4Header } from "./wire/ipv4.ts";

export interface ReassemblyOptions {
  maxDatagrams?: number;
  /** Bytes of payload buffers across all datagrams in progress. */
  maxBytes?: number;
  timeoutMs?: number;
  /** Fragments accepted per datagram (bounds the range list and hostile tiny-fragment floods). */
  maxFragments?: number;
}

/** Why a fragment was not taken; "pending" = stored, waiting for more; "complete" = see `output`. */
export type ReassemblyResult = "pending" | "complete" | "duplicate" | "overlap" | "too-big" | "bad-fragment" | "no-memory";

interface Slot {
  src: number;
  dst: number;
  proto: number;
  id: number;
  buf: Uint8Array;
  /** Received [start, end) ranges of payload, flat pairs. */
  ranges: number[];
  received: number;
  /** Payload length once the last fragment arrived, else -1. */
  total: number;
  deadline: number;
  /** The first fragment's IPv4 header + 8 payload bytes, for ICMP time exceeded on timeout. */
  first: Uint8Array | null;
}

const MAX_PAYLOAD = 65535 - 20;

export class Ipv4Reassembler {
  private readonly slots: Slot[] = [];
  private readonly maxDatagrams: number;
  private readonly maxBytes: number;
  private readonly timeoutMs: number;
  private readonly maxFragments: number;
  private bytes = 0;
  /** Datagrams discarded because they did not complete in time. */
  timeouts = 0;

  /** After "complete": the payload is output.buf[0, output.len), valid until the next add(). */
  readonly output: { buf: Uint8Array; len: number; src: number; dst: number; proto: number } = {
    buf: new Uint8Array(0),
    len: 0,
    src: 0,
    dst: 0,
    proto: 0,
  };

  constructor(
    private readonly clock: Clock,
    opts: ReassemblyOptions = {},
  ) {
    this.maxDatagrams = opts.maxDatagrams ?? 16;
    this.maxBytes = opts.maxBytes ?? 1024 * 1024;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.maxFragments = opts.maxFragments ?? 64;
  }

  get inProgress(): number {
    return this.slots.length;
  }

  get bytesInUse(): number {
    return this.bytes;
  }

  /**
   * Take the fragment whose header is h and payload buf[start, end); ipStart is where its IPv4
   * header begins in buf (kept for the first fragment, to quote in ICMP time exceeded).
   */
  add(h: Ipv4Header, buf: Uint8Array, start: number, end: number, ipStart = -1): ReassemblyResult {
    const len = end - start;
    const off = h.fragOffset;
    const last = !h.moreFragments;
    if (off + len > MAX_PAYLOAD) return "too-big";
    // Every fragment but the last carries a multiple of 8 bytes, and none is empty.
    if (len === 0 || (!last && (len & 7) !== 0)) return "bad-fragment";

    let idx = this.find(h);
    if (idx < 0) {
      if (this.slots.length >= this.maxDatagrams) this.drop(this.oldest());
      this.slots.push({
        src: h.src,
        dst: h.dst,
        proto: h.proto,
        id: h.id,
        buf: new Uint8Array(0),
        ranges: [],
        received: 0,
        total: -1,
        deadline: this.clock.now() + this.timeoutMs,
        first: null,
      });
      idx = this.slots.length - 1;
    }
    const s = this.slots[idx]!;

    for (let i = 0; i < s.ranges.length; i += 2) {
      const a = s.ranges[i]!;
      const b = s.ranges[i + 1]!;
      if (a === off && b === off + len) return "duplicate";
      if (off < b && off + len > a) {
        this.drop(idx);
        return "overlap";
      }
    }
    if (last) {
      if ((s.total >= 0 && s.total !== off + len) || s.ranges.some((v, i) => i % 2 === 1 && v > off + len)) {
        this.drop(idx);
        return "bad-fragment";
      }
      s.total = off + len;
    } else if (s.total >= 0 && off + len > s.total) {
      this.drop(idx);
      return "bad-fragment";
    }
    if (s.ranges.length >= this.maxFragments * 2) {
      this.drop(idx);
      return "bad-fragment";
    }
    if (!this.ensureCapacity(s, off + len)) {
      this.drop(this.slots.indexOf(s));
      return "no-memory";
    }
    s.buf.set(buf.subarray(start, end), off);
    if (off === 0 && ipStart >= 0) s.first = buf.slice(ipStart, Math.min(end, start + 8));
    s.ranges.push(off, off + len);
    s.received += len;
    if (s.total < 0 || s.received !== s.total) return "pending";

    const o = this.output;
    o.buf = s.buf;
    o.len = s.total;
    o.src = s.src;
    o.dst = s.dst;
    o.proto = s.proto;
    this.drop(this.slots.indexOf(s));
    return "complete";
  }

  /**
   * Discard datagrams past their deadline. `onTimeout` gets the first fragment's header + 8 bytes
   * when that fragment had arrived (RFC 1122 3.3.2: then a time-exceeded message SHOULD be sent).
   */
  poll(onTimeout?: (firstFragmentQuote: Uint8Array) => void): void {
    const now = this.clock.now();
    for (let i = this.slots.length - 1; i >= 0; i--) {
      const s = this.slots[i]!;
      if (s.deadline <= now) {
        this.drop(i);
        this.timeouts++;
        if (s.first !== null) onTimeout?.(s.first);
      }
    }
  }

  nextDeadline(): number {
    let t = Infinity;
    for (const s of this.slots) if (s.deadline < t) t = s.deadline;
    return t;
  }

  private find(h: Ipv4Header): number {
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[i]!;
      if (s.id === h.id && s.src === h.src && s.dst === h.dst && s.proto === h.proto) return i;
    }
    return -1;
  }

  private oldest(): number {
    let best = 0;
    for (let i = 1; i < this.slots.length; i++) if (this.slots[i]!.deadline < this.slots[best]!.deadline) best = i;
    return best;
  }

  private drop(i: number): void {
    if (i < 0) return;
    const s = this.slots[i]!;
    this.bytes -= s.buf.length;
    this.slots.splice(i, 1);
  }

  /** Grow s.buf to hold `need` bytes within the byte budget, evicting older datagrams if needed. */
  private ensureCapacity(s: Slot, need: number): boolean {
    if (s.buf.length >= need) return true;
    let cap = Math.max(2048, s.buf.length);
    while (cap < need) cap *= 2;
    cap = Math.min(cap, MAX_PAYLOAD);
    const grow = cap - s.buf.length;
    while (this.bytes + grow > this.maxBytes) {
      let victim = -1;
      for (let i = 0; i < this.slots.length; i++) {
        const v = this.slots[i]!;
        if (v !== s && (victim < 0 || v.deadline < this.slots[victim]!.deadline)) victim = i;
      }
      if (victim < 0) return false;
      this.drop(victim);
    }
    const nb = new Uint8Array(cap);
    nb.set(s.buf);
    s.buf = nb;
    this.bytes += grow;
    return true;
  }
}
