/**
 * /metrics for the hot loop (ffi/hot-loop.ts): whether it may take over, and how it spends its
 * turns (taken over from a doorbell, polls, polls that found traffic, returns to the event loop
 * and hand-backs to the doorbells, by reason).
 */
import { type HotLoop, hotLoop } from "../../ffi/hot-loop.ts";
import type { MetricsRegistry } from "./metrics.ts";

export function registerHotLoopMetrics(m: MetricsRegistry, loop: HotLoop = hotLoop): void {
  m.gauge("zt_hot_loop_enabled", "1 while the datapath may poll its sockets and taps itself between doorbell rings (ZT_HOT_LOOP)").collect = (metric) => {
    metric.labels().set(loop.usable ? 1 : 0);
  };
  const simple: [string, string, () => number][] = [
    ["zt_hot_loop_entries", "Times the hot loop took over after a doorbell rang", () => loop.stats.entries],
    ["zt_hot_loop_polls", "Waits of the hot loop (poll(), or epoll_wait() in the program sockets' set)", () => loop.stats.polls],
    ["zt_hot_loop_set_waits", "Waits in the program sockets' epoll set, its sources and Bun's descriptor joined (one system call where poll() and epoll_wait() were two)", () => loop.stats.setWaits],
    ["zt_hot_loop_wakeups", "poll() calls that found a socket or tap readable", () => loop.stats.wakeups],
    ["zt_hot_loop_spin_polls", "poll() calls without sleeping while spinning after traffic (ZT_HOT_SPIN_US)", () => loop.stats.spins],
    ["zt_hot_loop_spins_wasted", "Spins that ended with nothing read (each halves the next)", () => loop.stats.spinsWasted],
    ["zt_hot_loop_coalesce_sleeps", "Sleeps before a wait after a bulk batch, so that the next one fills up (ZT_RX_COALESCE_US)", () => loop.stats.coalesces],
  ];
  for (const [name, help, get] of simple) {
    m.counter(name, help).collect = (metric) => {
      metric.labels().set(get());
    };
  }
  m.counter("zt_hot_loop_returns", "Returns to Bun's event loop, by reason (event: Bun had one; slice: its timers' turn; signal)", ["reason"]).collect = (metric) => {
    metric.labels("event").set(loop.stats.loopEvents);
    metric.labels("slice").set(loop.stats.slices);
    metric.labels("signal").set(loop.stats.interrupts);
  };
  m.counter("zt_hot_loop_handbacks", "Hand-backs to the doorbells, by reason (idle: quiet for a second; timer: one of ours was due)", ["reason"]).collect = (metric) => {
    metric.labels("idle").set(loop.stats.idles);
    metric.labels("timer").set(loop.stats.timers);
  };
}
