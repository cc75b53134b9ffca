/**
 * Drives a Pollable in real time: one setTimeout aimed at its next deadline, re-aimed whenever
 * kick() says something may have changed (a frame arrived, a socket call armed a timer), plus a
 * coarse fallback tick so a deadline armed without a kick is still served within `fallbackMs`.
 */
import type { Clock } from "../util/clock.ts";
import type { Pollable } from "./pollable.ts";

export class TimerDriver {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private armedAt = Infinity;
  private fallback: ReturnType<typeof setInterval> | undefined;
  private running = false;
  private readonly fire = () => {
    this.timer = undefined;
    this.armedAt = Infinity;
    try {
      this.target.poll();
    } finally {
      // Even if a timer callback threw, keep serving the others.
      this.kick();
    }
  };

  constructor(
    private readonly target: Pollable,
    private readonly clock: Clock,
    private readonly fallbackMs = 20,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.fallback = setInterval(() => {
      if (this.target.nextDeadline() <= this.clock.now()) this.fire();
    }, this.fallbackMs);
    this.kick();
  }

  /** Re-aim the timer at the target's next deadline if that moved earlier. */
  kick(): void {
    if (!this.running) return;
    const next = this.target.nextDeadline();
    if (next === Infinity || next >= this.armedAt) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.armedAt = next;
    this.timer = setTimeout(this.fire, Math.max(0, next - this.clock.now()));
  }

  stop(): void {
    this.running = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.fallback !== undefined) clearInterval(this.fallback);
    this.timer = undefined;
    this.fallback = undefined;
    this.armedAt = Infinity;
  }
}
