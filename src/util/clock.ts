/**
 * Injected time. Every layer takes a Clock instead of calling Date.now()/performance.now(),
 * so simulated networks in tests run deterministically and faster than real time.
 */
import { hotLoop } from "../../ffi/hot-loop.ts";
export interface Clock {
  /** Monotonic milliseconds (may be fractional). */
  now(): number;
}

/** Real monotonic time for the running service. */
export const systemClock: Clock = {
  now: () => performance.now(),
};

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  constructor(private t = 0) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
  set(ms: number): void {
    this.t = ms;
  }
}

/** Cancels a timer made by Timers (idempotent). */
export type CancelTimer = () => void;

/**
 * Host timers, injected next to the Clock so that real-time drivers can be tested against a
 * ManualClock (ManualTimers) instead of against the machine's scheduling.
 */
export interface Timers {
  /** Run `fn` once, `ms` from now. */
  after(ms: number, fn: () => void): CancelTimer;
  /** Run `fn` every `ms`. */
  every(ms: number, fn: () => void): CancelTimer;
}

/**
 * The event loop's timers. Each deadline is also told to the hot loop (ffi/hot-loop.ts), which
 * otherwise keeps the event loop waiting up to a slice while traffic flows.
 */
export const systemTimers: Timers = {
  after(ms, fn) {
    const due = hotLoop.timerAt(performance.now() + ms);
    const h = setTimeout(() => {
      hotLoop.timerDone(due);
      fn();
    }, ms);
    return () => {
      hotLoop.timerDone(due);
      clearTimeout(h);
    };
  },
  every(ms, fn) {
    // each tick tells the next one's deadline
    let due = hotLoop.timerAt(performance.now() + ms);
    const h = setInterval(() => {
      hotLoop.timerDone(due);
      due = hotLoop.timerAt(performance.now() + ms);
      fn();
    }, ms);
    return () => {
      hotLoop.timerDone(due);
      clearInterval(h);
    };
  },
};

interface ManualTimer {
  at: number;
  seq: number;
  period: number;
  fn: () => void;
  live: boolean;
}

/**
 * Timers on a ManualClock: `advance(ms)` moves the clock from due timer to due timer (earliest
 * first, ties in creation order), running each at exactly its time, then to the end of the span.
 */
export class ManualTimers implements Timers {
  private queue: ManualTimer[] = [];
  private seq = 0;

  constructor(readonly clock: ManualClock) {}

  after(ms: number, fn: () => void): CancelTimer {
    return this.add(ms, 0, fn);
  }

  every(ms: number, fn: () => void): CancelTimer {
    return this.add(ms, Math.max(1, ms), fn);
  }

  /** Timers still armed. */
  get pending(): number {
    return this.queue.filter((t) => t.live).length;
  }

  advance(ms: number): void {
    const end = this.clock.now() + ms;
    for (;;) {
      this.queue = this.queue.filter((t) => t.live);
      let next: ManualTimer | null = null;
      for (const t of this.queue) if (next === null || t.at < next.at || (t.at === next.at && t.seq < next.seq)) next = t;
      if (next === null || next.at > end) break;
      this.clock.set(Math.max(this.clock.now(), next.at));
      if (next.period > 0) {
        next.at += next.period;
        next.seq = this.seq++;
      } else next.live = false;
      next.fn();
    }
    this.clock.set(end);
  }

  private add(ms: number, period: number, fn: () => void): CancelTimer {
    const t: ManualTimer = { at: this.clock.now() + Math.max(0, ms), seq: this.seq++, period, fn, live: true };
    this.queue.push(t);
    return () => {
      t.live = false;
    };
  }
}
