/**
 * Runs a set of Pollables (stacks, links) on a ManualClock: poll everything until quiet, then jump
 * the clock to the earliest deadline. Simulated seconds pass in microseconds of real time, and a
 * run is fully determined by its seeds.
 */
import type { ManualClock } from "../../util/clock.ts";
import type { Pollable } from "../pollable.ts";

export class Simulator {
  private readonly parts: Pollable[] = [];

  constructor(readonly clock: ManualClock) {}

  add(...p: Pollable[]): this {
    this.parts.push(...p);
    return this;
  }

  /** Poll until nothing is due now; returns the next deadline. */
  settle(maxRounds = 100_000): number {
    for (let round = 0; round < maxRounds; round++) {
      for (const p of this.parts) p.poll();
      const next = this.nextDeadline();
      if (next > this.clock.now()) return next;
    }
    throw new Error("simulation did not settle (a timer keeps firing at the same instant)");
  }

  nextDeadline(): number {
    let t = Infinity;
    for (const p of this.parts) {
      const d = p.nextDeadline();
      if (d < t) t = d;
    }
    return t;
  }

  /**
   * Advance simulated time until `done()` holds or `maxMs` of simulated time passed.
   * Returns whether done() became true.
   */
  runUntil(done: () => boolean, maxMs = 60_000): boolean {
    const end = this.clock.now() + maxMs;
    for (;;) {
      const next = this.settle();
      if (done()) return true;
      if (next === Infinity || next > end) {
        this.clock.set(end);
        this.settle();
        return done();
      }
      this.clock.set(next);
    }
  }

  /**
   * Like runUntil, but yields to the microtask queue between steps, so work that layers defer to
   * a microtask (socket events raised by API calls, promise continuations in tests) runs in order.
   */
  async run(done: () => boolean, maxMs = 60_000): Promise<boolean> {
    const end = this.clock.now() + maxMs;
    for (;;) {
      await Promise.resolve();
      const next = this.settle();
      await Promise.resolve();
      if (done()) return true;
      if (this.nextDeadline() <= this.clock.now()) continue;
      if (next === Infinity || next > end) {
        this.clock.set(end);
        this.settle();
        await Promise.resolve();
        return done();
      }
      this.clock.set(next);
    }
  }

  /** Advance simulated time by ms, running every timer on the way. */
  runFor(ms: number): void {
    const end = this.clock.now() + ms;
    for (;;) {
      const next = this.settle();
      if (next > end) break;
      this.clock.set(next);
    }
    this.clock.set(end);
    this.settle();
  }
}
