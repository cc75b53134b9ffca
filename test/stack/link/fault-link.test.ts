import { describe, expect, test } from "bun:test";
import { Iface } from "../../../src/stack/iface.ts";
import { FRAME_HEADROOM, type FrameReceiver } from "../../../src/stack/link.ts";
import { createLinkPair, FaultLink } from "../../../src/stack/link/fault-link.ts";
import { Simulator } from "../../../src/stack/link/simulator.ts";
import { ManualClock } from "../../../src/util/clock.ts";
import { SeededRng } from "../../../src/util/random.ts";
import { IP_A, IP_B, MAC_A, MAC_B } from "../frames.ts";

class Collect implements FrameReceiver {
  frames: number[][] = [];
  receiveFrame(buf: Uint8Array, start: number, end: number): void {
    this.frames.push([...buf.subarray(start, end)]);
  }
}

function frame(n: number): Uint8Array {
  const b = new Uint8Array(FRAME_HEADROOM + 20);
  b.fill(n, FRAME_HEADROOM);
  return b;
}

function send(link: FaultLink, n: number): void {
  const b = frame(n);
  link.sendFrame(b, FRAME_HEADROOM, b.length);
}

describe("FaultLink", () => {
  test("without faults: delivers in order, only from poll, after the delay", () => {
    const clock = new ManualClock(0);
    const rx = new Collect();
    const link = new FaultLink(clock, new SeededRng(1), { delayMs: 10 }, rx);
    for (let i = 0; i < 5; i++) send(link, i);
    expect(rx.frames.length).toBe(0);
    expect(link.nextDeadline()).toBe(10);
    clock.set(9);
    link.poll();
    expect(rx.frames.length).toBe(0);
    clock.set(10);
    link.poll();
    expect(rx.frames.map((f) => f[0])).toEqual([0, 1, 2, 3, 4]);
    expect(link.nextDeadline()).toBe(Infinity);
  });

  test("loss, duplication, reordering and corruption happen at about the configured rates", () => {
    const clock = new ManualClock(0);
    const rx = new Collect();
    const link = new FaultLink(clock, new SeededRng(7), { lossPct: 10, dupPct: 5, reorderPct: 10, corruptPct: 3, delayMs: 1 }, rx);
    const n = 4000;
    // One frame per ms: a frame held back 5 ms is overtaken by the next few.
    for (let i = 0; i < n; i++) {
      const b = frame(0);
      b[FRAME_HEADROOM] = i >> 8;
      b[FRAME_HEADROOM + 1] = i & 255;
      link.sendFrame(b, FRAME_HEADROOM, b.length);
      clock.advance(1);
      link.poll();
    }
    clock.advance(100);
    link.poll();
    const s = link.stats;
    expect(s.lost / n).toBeGreaterThan(0.08);
    expect(s.lost / n).toBeLessThan(0.12);
    expect(s.duplicated / n).toBeGreaterThan(0.03);
    expect(s.duplicated / n).toBeLessThan(0.07);
    expect(s.reordered / n).toBeGreaterThan(0.08);
    expect(s.corrupted).toBeGreaterThan(60);
    expect(s.delivered).toBe(n - s.lost + s.duplicated);
    expect(rx.frames.length).toBe(s.delivered);
    const seqOf = (f: number[]) => (f[0]! << 8) | f[1]!;
    let inversions = 0;
    for (let i = 1; i < rx.frames.length; i++) if (seqOf(rx.frames[i]!) < seqOf(rx.frames[i - 1]!)) inversions++;
    expect(inversions).toBeGreaterThan(200);
    let corrupt = 0;
    for (const f of rx.frames) if (f.slice(2).some((x) => x !== 0)) corrupt++;
    expect(corrupt).toBeGreaterThan(0);
  });

  test("same seed, same faults", () => {
    const run = (seed: number) => {
      const clock = new ManualClock(0);
      const rx = new Collect();
      const link = new FaultLink(clock, new SeededRng(seed), { lossPct: 30, reorderPct: 30, jitterMs: 5 }, rx);
      for (let i = 0; i < 200; i++) send(link, i);
      clock.set(100);
      link.poll();
      return rx.frames.map((f) => f[0]);
    };
    expect(run(3)).toEqual(run(3));
    expect(run(3)).not.toEqual(run(4));
  });

  test("oversize frames and queue overflow are dropped and counted", () => {
    const clock = new ManualClock(0);
    const rx = new Collect();
    const link = new FaultLink(clock, new SeededRng(1), { maxFrame: 16, maxQueue: 3 }, rx);
    send(link, 1); // 20 bytes > 16
    link.configure({ maxFrame: 100 });
    for (let i = 0; i < 5; i++) send(link, i);
    link.poll();
    expect(link.stats.oversize).toBe(1);
    expect(link.stats.overflow).toBe(2);
    expect(rx.frames.length).toBe(3);
  });
});

describe("two interfaces over a faulty link", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    test(`ping with ARP both ways, 20% loss, reordering, duplication (seed ${seed})`, () => {
      const clock = new ManualClock(0);
      const rng = new SeededRng(seed);
      const { aToB, bToA } = createLinkPair(clock, rng, { lossPct: 20, dupPct: 10, reorderPct: 20, delayMs: 3, jitterMs: 2 });
      const a = new Iface({ mac: MAC_A, sink: aToB, clock, mtu: 1500 });
      const b = new Iface({ mac: MAC_B, sink: bToA, clock, mtu: 1500 });
      a.addAddress(IP_A, 24);
      b.addAddress(IP_B, 24);
      aToB.receiver = b;
      bToA.receiver = a;
      const sim = new Simulator(clock).add(a, b, aToB, bToA);
      const replies = new Set<number>();
      a.onEchoReply = (src, id, seq, buf, start, end) => {
        // 3000-byte pings cross the link as fragments and come back reassembled and intact.
        let ok = src === IP_B && id === 9 && end - start === 3000;
        for (let i = 0; ok && i < end - start; i++) ok = buf[start + i] === (i & 255);
        if (ok) replies.add(seq);
      };
      for (let seq = 0; seq < 40; seq++) {
        a.sendPing(IP_B, 9, seq, 3000);
        sim.runFor(200);
      }
      expect(a.arpPeek(IP_B)).toBe(MAC_B);
      expect(b.arpPeek(IP_A)).toBe(MAC_A);
      // Each ping needs 3 fragments out and 3 back (0.8^6 ≈ 26%), plus ARP losses.
      expect(replies.size).toBeGreaterThan(3);
      expect(b.stats.fragmentsReassembled).toBeGreaterThan(replies.size - 1);
    });
  }
});
