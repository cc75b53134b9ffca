import { describe, expect, test } from "bun:test";
import type { Pollable } from "../../src/stack/pollable.ts";
import { TimerDriver } from "../../src/stack/timer-driver.ts";
import { systemClock } from "../../src/util/clock.ts";

/** A pollable with a list of absolute deadlines; poll() records when it ran and drops due ones. */
class Deadlines implements Pollable {
  due: number[] = [];
  fired: number[] = [];
  poll(): void {
    const now = systemClock.now();
    const before = this.due.length;
    this.due = this.due.filter((d) => d > now);
    if (this.due.length < before) this.fired.push(now);
  }
  nextDeadline(): number {
    return this.due.length ? Math.min(...this.due) : Infinity;
  }
}

describe("TimerDriver", () => {
  test("fires at the deadline, and kick() re-aims at an earlier one", async () => {
    const p = new Deadlines();
    const d = new TimerDriver(p, systemClock, 1000);
    const t0 = systemClock.now();
    p.due.push(t0 + 200);
    d.start();
    p.due.push(t0 + 30);
    d.kick();
    for (let i = 0; i < 50 && p.fired.length === 0; i++) await Bun.sleep(5);
    expect(p.fired.length).toBe(1);
    expect(p.fired[0]! - t0).toBeGreaterThanOrEqual(29);
    // Served by the re-aimed timer, long before the 200 ms deadline or the 1 s fallback tick.
    expect(p.fired[0]! - t0).toBeLessThan(190);
    d.stop();
    await Bun.sleep(180);
    expect(p.fired.length).toBe(1); // stopped: the 200 ms deadline is not served
  });

  test("the fallback tick serves a deadline armed without a kick", async () => {
    const p = new Deadlines();
    const d = new TimerDriver(p, systemClock, 20);
    d.start();
    p.due.push(systemClock.now() + 10); // no kick
    for (let i = 0; i < 100 && p.fired.length === 0; i++) await Bun.sleep(5);
    d.stop();
    expect(p.fired.length).toBe(1);
  });
});
