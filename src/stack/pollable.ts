/** Something with timers: the driver calls poll() at or after nextDeadline() (absolute ms per the Clock). */
export interface Pollable {
  poll(): void;
  /** Absolute time of the next due timer, Infinity if none. */
  nextDeadline(): number;
}
