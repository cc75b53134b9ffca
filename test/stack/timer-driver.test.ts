/**
 * TimerDriver's logic on a manual clock (exact times, no dependence on how busy the machine is),
 * and one real-time check whose bounds only catch a driver that does not work at all.
 */
import { describe, expect, test } from "bun:test";
import type { Pollable } from "../../src/stack/pollable.ts";
import { TimerDriver } from "../../src/stack/timer-driver.ts";
import { type Clock, ManualClock, ManualTimers, systemClock } from "../../src/util/clock.ts";

/** A pollable with a list of absolute deadlines; poll() records when it ran and drops due ones. */
class Deadlines implements Pollable {
  due: number[] = [];
  fired: number[] = [];
  polls = 0;
  constructor(private readonly clock: Clock) {}
  poll(): void {
    this.polls++;
    const now = this.clock.now();
    const before = this.due.length;
    this.due = this.due.filter((d) => d > now);
    if (this.due.length < before) this.fired.push(now);
  }
  nextDeadline(): number {
    return this.due.length ? Math.min(...this.due) : Infinity;
  }
}

function manual() {
  const clock = new ManualClock(1000);
  const timers = new ManualTimers(clock);
  const p = new Deadlines(clock);
  return { clock, timers, p };
}

describe("TimerDriver (manual clock)", () => {
  test("fires exactly at the deadline, and kick() re-aims at an earlier one", () => {
    const { clock, timers, p } = manual();
    const d = new TimerDriver(p, clock, 1000, timers);
    const t0 = clock.now();
    p.due.push(t0 + 200);
    d.start();
    p.due.push(t0 + 30);
    d.kick();
    timers.advance(29);
    expect(p.fired).toEqual([]);
    timers.advance(1);
    expect(p.fired).toEqual([t0 + 30]);
    timers.advance(170);
    expect(p.fired).toEqual([t0 + 30, t0 + 200]);
  });

  test("a later deadline does not re-arm; stop() cancels everything", () => {
    const { clock, timers, p } = manual();
    const d = new TimerDriver(p, clock, 1000, timers);
    const t0 = clock.now();
    p.due.push(t0 + 50);
    d.start();
    p.due.push(t0 + 80);
    d.kick();
    timers.advance(50);
    expect(p.fired).toEqual([t0 + 50]);
    d.stop();
    expect(timers.pending).toBe(0);
    timers.advance(10_000);
    expect(p.fired).toEqual([t0 + 50]); // stopped: the 80 ms deadline is not served
  });

  test("the fallback tick serves a deadline armed without a kick, at the next tick", () => {
    const { clock, timers, p } = manual();
    const d = new TimerDriver(p, clock, 20, timers);
    const t0 = clock.now();
    d.start();
    p.due.push(t0 + 10); // no kick
    timers.advance(19);
    expect(p.fired).toEqual([]);
    timers.advance(1);
    expect(p.fired).toEqual([t0 + 20]);
    d.stop();
  });

  test("a poll that throws does not stop the driver", () => {
    const { clock, timers, p } = manual();
    let throws = true;
    const target: Pollable = {
      poll: () => {
        if (throws) {
          throws = false;
          p.due.shift();
          throw new Error("boom");
        }
        p.poll();
      },
      nextDeadline: () => p.nextDeadline(),
    };
    const d = new TimerDriver(target, clock, 1000, timers);
    const t0 = clock.now();
    p.due.push(t0 + 10, t0 + 40);
    d.start();
    expect(() => timers.advance(10)).toThrow("boom");
    timers.advance(30);
    expect(p.fired).toEqual([t0 + 40]);
    d.stop();
  });
});

describe("TimerDriver (real time)", () => {
  test("a deadline is served, never early (bounds generous for a loaded machine)", async () => {
    const p = new Deadlines(systemClock);
    const d = new TimerDriver(p, systemClock, 1000);
    const t0 = systemClock.now();
    p.due.push(t0 + 30);
    d.start();
    const deadline = t0 + 5000;
    while (p.fired.length === 0 && systemClock.now() < deadline) await Bun.sleep(5);
    d.stop();
    expect(p.fired.length).toBe(1);
    expect(p.fired[0]! - t0).toBeGreaterThanOrEqual(29);
  });
});
