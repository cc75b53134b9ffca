/**
 * The deadlines of pending timers, earliest first: the hot loop (hot-loop.ts) must not keep the
 * event loop waiting past any of them. A timer that fires or is cancelled marks its entry dead;
 * dead entries leave when they reach the top (or all at once when too many pile up), so adding,
 * ending and asking for the earliest stay O(log n) without a search.
 */

/** One pending timer's deadline (performance.now() ms). */
export interface Deadline {
  at: number;
  live: boolean;
}

/** Dead entries tolerated before a sweep (a timer re-aimed per packet leaves one each time). */
const SWEEP_AT = 4096;

export class DeadlineHeap {
  private heap: Deadline[] = [];

  /** Entries held, dead ones included (for tests). */
  get size(): number {
    return this.heap.length;
  }

  add(at: number): Deadline {
    const d: Deadline = { at, live: true };
    if (this.heap.length >= SWEEP_AT) this.sweep();
    this.heap.push(d);
    this.up(this.heap.length - 1);
    return d;
  }

  /** The earliest live deadline, or Infinity. */
  earliest(): number {
    const h = this.heap;
    while (h.length > 0 && !h[0]!.live) this.pop();
    return h.length > 0 ? h[0]!.at : Infinity;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    this.down(0);
  }

  /** Drop every dead entry and rebuild. */
  private sweep(): void {
    this.heap = this.heap.filter((d) => d.live);
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  private up(i: number): void {
    const h = this.heap;
    const d = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.at <= d.at) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = d;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const d = h[i]!;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && h[c + 1]!.at < h[c]!.at) c++;
      if (h[c]!.at >= d.at) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = d;
  }
}
