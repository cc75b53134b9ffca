/**
 * Runs a TcpLayer's timers in real time with a single host timer: the layer reports when its
 * earliest deadline moves earlier, we (re)arm one setTimeout for it, and on expiry call poll(),
 * which reports the next deadline. A timer that fires early (its deadline moved later) just polls
 * and re-arms. Simulations don't use this; they advance a ManualClock and call poll() themselves.
 */
import { type CancelTimer, type Clock, systemTimers, type Timers } from "../../util/clock.ts";

export interface PollableTcp {
  poll(): void;
  nextDeadline(): number;
  onTimerEarlier: ((deadline: number) => void) | null;
}

export interface TcpTimerDriver {
  stop(): void;
}

export function driveTcpTimers(tcp: PollableTcp, clock: Clock, timers: Timers = systemTimers): TcpTimerDriver {
  let handle: CancelTimer | null = null;
  let armedFor = Infinity;
  let stopped = false;
  const fire = () => {
    handle = null;
    armedFor = Infinity;
    if (!stopped) tcp.poll(); // poll reports the next deadline through the hook
  };
  const arm = (deadline: number) => {
    if (stopped || deadline >= armedFor) return;
    handle?.();
    armedFor = deadline;
    handle = timers.after(Math.max(0, Math.ceil(deadline - clock.now())), fire);
  };
  tcp.onTimerEarlier = arm;
  const d = tcp.nextDeadline();
  if (d !== Infinity) arm(d);
  return {
    stop() {
      stopped = true;
      handle?.();
      handle = null;
      tcp.onTimerEarlier = null;
    },
  };
}
