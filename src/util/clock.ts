/**
 * Injected time. Every layer takes a Clock instead of calling Date.now()/performance.now(),
 * so simulated networks in tests run deterministically and faster than real time.
 */
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
