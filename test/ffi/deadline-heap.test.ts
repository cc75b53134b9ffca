import { expect, test } from "bun:test";
import { type Deadline, DeadlineHeap } from "../../ffi/deadline-heap.ts";

test("earliest() is the smallest live deadline through any mix of adds, fires and cancels", () => {
  const heap = new DeadlineHeap();
  const all: Deadline[] = [];
  let seed = 12345;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  expect(heap.earliest()).toBe(Infinity);
  for (let step = 0; step < 20_000; step++) {
    if (rnd() < 0.55) all.push(heap.add(Math.floor(rnd() * 1000)));
    else if (all.length > 0) all[Math.floor(rnd() * all.length)]!.live = false;
    let want = Infinity;
    for (const d of all) if (d.live && d.at < want) want = d.at;
    if (step % 7 === 0) expect(heap.earliest()).toBe(want);
  }
});

test("dead entries do not pile up: a timer re-aimed again and again leaves a bounded heap", () => {
  const heap = new DeadlineHeap();
  let last = heap.add(1_000_000);
  for (let i = 0; i < 50_000; i++) {
    last.live = false; // cancelled and re-armed later, as a re-aimed retransmission timer is
    last = heap.add(1_000_000 + i);
  }
  expect(heap.size).toBeLessThanOrEqual(4097);
  expect(heap.earliest()).toBe(1_000_000 + 49_999);
});
