/**
 * Run FaultLinks in real time, e.g. between a kernel tap and a NetStack: each queued frame re-aims
 * a timer at the link's next delivery. `after` runs after each delivery batch (e.g. stack.kick()).
 */
import type { Clock } from "../../util/clock.ts";
import { TimerDriver } from "../timer-driver.ts";
import type { FaultLink } from "./fault-link.ts";

export function pumpRealTime(link: FaultLink, clock: Clock, after?: () => void): { stop(): void } {
  const driver = new TimerDriver(
    {
      poll: () => {
        link.poll();
        after?.();
      },
      nextDeadline: () => link.nextDeadline(),
    },
    clock,
    10,
  );
  link.onQueued = () => driver.kick();
  driver.start();
  return {
    stop: () => {
      link.onQueued = undefined;
      driver.stop();
    },
  };
}
