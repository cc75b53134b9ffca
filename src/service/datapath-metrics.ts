/**
 * /metrics for the datapath's per-stage accounting, present only when the service runs with
 * ZT_NC_STAGE_TIMING=1 (src/util/stage-timing.ts): nanoseconds and calls per stage, which
 * `npm run bench -- datapath` turns into its cost table.
 */
import { STAGE_TIMING, stageTotals } from "../util/stage-timing.ts";
import type { MetricsRegistry } from "./metrics.ts";

export function registerDatapathMetrics(m: MetricsRegistry): void {
  if (!STAGE_TIMING) return;
  const ns = m.counter("zt_datapath_stage_nanoseconds", "Time spent in each instrumented datapath stage (ZT_NC_STAGE_TIMING=1)", ["stage"]);
  ns.collect = (metric) => {
    for (const [stage, n] of stageTotals()) metric.labels(stage).set(n);
  };
  const calls = m.counter("zt_datapath_stage_calls", "Times each instrumented datapath stage ran (ZT_NC_STAGE_TIMING=1)", ["stage"]);
  calls.collect = (metric) => {
    for (const [stage, , c] of stageTotals()) metric.labels(stage).set(c);
  };
}
