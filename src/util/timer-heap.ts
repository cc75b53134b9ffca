/**
 * Indexed binary min-heap of items by `deadline`. Each item stores its own slot (`heapIndex`, -1
 * when absent) so a deadline change is O(log n) with no allocation. The layer keeps every
 * connection with a pending timer here and asks only the top for `nextDeadline()`; the hot loop
 * (ffi/hot-loop.ts) keeps the deadlines of the event loop's timers in one.
 */
export interface HeapItem {
  deadline: number;
  heapIndex: number;
}

export class TimerHeap<T extends HeapItem> {
  private items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  /** Insert, move or remove `item` after its deadline changed (Infinity removes). */
  update(item: T): void {
    if (item.deadline === Infinity) {
      if (item.heapIndex >= 0) this.remove(item);
      return;
    }
    if (item.heapIndex < 0) {
      item.heapIndex = this.items.length;
      this.items.push(item);
      this.up(item.heapIndex);
      return;
    }
    const i = item.heapIndex;
    this.up(i);
    this.down(item.heapIndex);
  }

  remove(item: T): void {
    const i = item.heapIndex;
    if (i < 0) return;
    const last = this.items.pop()!;
    item.heapIndex = -1;
    if (last !== item) {
      this.items[i] = last;
      last.heapIndex = i;
      this.up(i);
      this.down(last.heapIndex);
    }
  }

  private up(i: number): void {
    const a = this.items;
    const it = a[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pi = a[p]!;
      if (pi.deadline <= it.deadline) break;
      a[i] = pi;
      pi.heapIndex = i;
      i = p;
    }
    a[i] = it;
    it.heapIndex = i;
  }

  private down(i: number): void {
    const a = this.items;
    const n = a.length;
    const it = a[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && a[r]!.deadline < a[l]!.deadline ? r : l;
      const ci = a[c]!;
      if (ci.deadline >= it.deadline) break;
      a[i] = ci;
      ci.heapIndex = i;
      i = c;
    }
    a[i] = it;
    it.heapIndex = i;
  }
}
