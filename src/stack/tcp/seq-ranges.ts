import { seqGe, seqGt, seqLe, seqLt } from "./seq.ts";

/**
 * A sorted set of disjoint sequence ranges [start, end) with a bounded capacity. The receiver keeps
 * its out-of-order segments here (smoltcp's Assembler); the sender keeps its SACK scoreboard here.
 * All members must lie within 2^31 of each other. It starts small and doubles up to `maxCapacity`
 * when a burst of loss makes more holes (allocation only then): most connections never need more
 * than a few ranges, a few need hundreds.
 */
export class SeqRangeSet {
  starts: Float64Array;
  ends: Float64Array;
  count = 0;
  capacity: number;

  constructor(
    capacity: number,
    readonly maxCapacity = capacity,
  ) {
    this.capacity = capacity;
    this.starts = new Float64Array(capacity);
    this.ends = new Float64Array(capacity);
  }

  private grow(): boolean {
    if (this.capacity >= this.maxCapacity) return false;
    const cap = Math.min(this.maxCapacity, this.capacity * 2);
    const starts = new Float64Array(cap);
    const ends = new Float64Array(cap);
    starts.set(this.starts.subarray(0, this.count));
    ends.set(this.ends.subarray(0, this.count));
    this.starts = starts;
    this.ends = ends;
    this.capacity = cap;
    return true;
  }

  clear(): void {
    this.count = 0;
  }

  /**
   * Add [s, e), merging with overlapping/adjacent ranges. Returns false (set unchanged) when it
   * would need a new slot and the set is at its maximum capacity.
   */
  add(s: number, e: number): boolean {
    if (!seqLt(s, e)) return true;
    let st = this.starts;
    let en = this.ends;
    let i = 0;
    // first range whose end >= s (could merge or must follow)
    while (i < this.count && seqLt(en[i]!, s)) i++;
    if (i === this.count || seqGt(st[i]!, e)) {
      // disjoint: insert at i
      if (this.count === this.capacity) {
        if (!this.grow()) return false;
        st = this.starts;
        en = this.ends;
      }
      for (let j = this.count; j > i; j--) {
        st[j] = st[j - 1]!;
        en[j] = en[j - 1]!;
      }
      st[i] = s;
      en[i] = e;
      this.count++;
      return true;
    }
    // merge range i with [s,e) and any following ranges it now touches
    if (seqLt(s, st[i]!)) st[i] = s;
    let newEnd = seqGt(e, en[i]!) ? e : en[i]!;
    let j = i + 1;
    while (j < this.count && seqLe(st[j]!, newEnd)) {
      if (seqGt(en[j]!, newEnd)) newEnd = en[j]!;
      j++;
    }
    en[i] = newEnd;
    const removed = j - i - 1;
    if (removed > 0) {
      for (let k = i + 1; k + removed < this.count; k++) {
        st[k] = st[k + removed]!;
        en[k] = en[k + removed]!;
      }
      this.count -= removed;
    }
    return true;
  }

  /** Forget everything below `seq` (cumulatively acknowledged / delivered). */
  removeBelow(seq: number): void {
    let drop = 0;
    while (drop < this.count && seqLe(this.ends[drop]!, seq)) drop++;
    if (drop > 0) {
      for (let k = 0; k + drop < this.count; k++) {
        this.starts[k] = this.starts[k + drop]!;
        this.ends[k] = this.ends[k + drop]!;
      }
      this.count -= drop;
    }
    if (this.count > 0 && seqLt(this.starts[0]!, seq)) this.starts[0] = seq;
  }

  /** If the first range starts at or before `seq`, remove it and return its end; else -1. */
  popContiguous(seq: number): number {
    if (this.count === 0 || seqGt(this.starts[0]!, seq)) return -1;
    const end = this.ends[0]!;
    this.removeBelow(end);
    return end;
  }

  /** Index of the range containing seq, or -1. */
  indexOf(seq: number): number {
    for (let i = 0; i < this.count; i++) {
      if (seqLe(this.starts[i]!, seq) && seqLt(seq, this.ends[i]!)) return i;
    }
    return -1;
  }

  /** Total bytes covered. */
  totalBytes(): number {
    let n = 0;
    for (let i = 0; i < this.count; i++) n += (this.ends[i]! - this.starts[i]!) >>> 0;
    return n;
  }

  /** Bytes covered at or above seq. */
  bytesAbove(seq: number): number {
    let n = 0;
    for (let i = 0; i < this.count; i++) {
      const s = seqGe(this.starts[i]!, seq) ? this.starts[i]! : seq;
      if (seqLt(s, this.ends[i]!)) n += (this.ends[i]! - s) >>> 0;
    }
    return n;
  }

  /** End of the highest range, or `fallback` when empty. */
  highest(fallback: number): number {
    return this.count === 0 ? fallback : this.ends[this.count - 1]!;
  }

  /**
   * First sequence number >= from that no range covers, and the end of that hole (the next range
   * start, or `limit`). Returns the hole start; `holeEnd` holds its end. Returns -1 if none below limit.
   */
  holeEnd = 0;
  nextHole(from: number, limit: number): number {
    let s = from;
    for (let i = 0; i < this.count; i++) {
      if (seqLe(this.ends[i]!, s)) continue;
      if (seqLe(this.starts[i]!, s)) {
        s = this.ends[i]!;
        continue;
      }
      // range i starts after s: hole [s, starts[i])
      if (!seqLt(s, limit)) return -1;
      this.holeEnd = seqLt(this.starts[i]!, limit) ? this.starts[i]! : limit;
      return s;
    }
    if (!seqLt(s, limit)) return -1;
    this.holeEnd = limit;
    return s;
  }
}
