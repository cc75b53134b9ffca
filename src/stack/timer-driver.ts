/**
 * Drives a Pollable in real time: one setTimeout aimed at its next deadline, re-aimed whenever
 * kick() says something may have changed (a frame arrived, a socket call armed a timer), plus a
 * coarse fallback tick so a deadline armed without a kick is still served within `fallbackMs`.
 */
import { type CancelTimer, type Clock, systemTimers, type Timers } from "../util/clock.ts";
import { Stage, STAGE_TIMING, stageEnd, stageStart } from "../util/stage-timing.ts";
import type { Pollable } from "./pollable.ts";

export class TimerDriver {
  private timer: CancelTimer | undefined;
  private armedAt = Infinity;
  private fallback: CancelTimer | undefined;
  private running = false;
  private readonly fire = () => {
    this.timer = undefined;
    this.armedAt = Infinity;
    const t0 = STAGE_TIMING ? stageStart() : 0;
    try {
      this.target.poll();
    } finally {
      if (STAGE_TIMING) stageEnd(Stage.stack_timer, t0);
      // Even if a timer callback threw, keep serving the others.
      this.kick();
    }
  };

  constructor(
    private readonly target: Pollable,
    private readonly clock: Clock,
    private readonly fallbackMs = 20,
    private readonly timers: Timers = systemTimers,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.fallback = this.timers.every(this.fallbackMs, () => {
      if (this.target.nextDeadline() <= this.clock.now()) this.fire();
    });
    this.kick();
  }

  /** Re-aim the timer at the target's next deadline if that moved earlier. */
  kick(): void {
    if (!this.running) return;
    const next = this.target.nextDeadline();
    if (next === Infinity || next >= this.armedAt) return;
    this.timer?.();
    this.armedAt = next;
    this.timer = this.timers.after(Math.max(0, next - this.clock.now()), this.fire);
  }

  stop(): void {
    this.running = false;
    this.timer?.();
    this.fallback?.();
    this.timer = undefined;
    this.fallback = undefined;
    this.armedAt = Infinity;
  }
}
