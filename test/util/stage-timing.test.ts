/**
 * The datapath's stage accounting is read once at start-up (a constant in the hot paths), so each
 * case runs in its own process with or without ZT_NC_STAGE_TIMING=1.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "../..");
const SCRIPT = `
import { MetricsRegistry } from "${ROOT}/src/service/metrics.ts";
import { registerDatapathMetrics } from "${ROOT}/src/service/datapath-metrics.ts";
import { Stage, STAGE_TIMING, stageEnd, stageStart } from "${ROOT}/src/util/stage-timing.ts";
const m = new MetricsRegistry();
registerDatapathMetrics(m);
if (STAGE_TIMING) for (let i = 0; i < 3; i++) { const t0 = stageStart(); let x = 0; for (let k = 0; k < 1e5; k++) x += k; if (x < 0) console.log(x); stageEnd(Stage.dearmor, t0); }
process.stdout.write(m.render());
`;

function run(env: Record<string, string>): string {
  const p = Bun.spawnSync([process.execPath, "-e", SCRIPT], { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(p.stderr.toString());
  return p.stdout.toString();
}

test("with ZT_NC_STAGE_TIMING=1 each stage's calls and nanoseconds are in /metrics", () => {
  const text = run({ ZT_NC_STAGE_TIMING: "1" });
  expect(text).toContain('zt_datapath_stage_calls{stage="dearmor"} 3');
  const ns = Number(/zt_datapath_stage_nanoseconds\{stage="dearmor"\} (\d+)/.exec(text)?.[1]);
  expect(ns).toBeGreaterThan(0);
  expect(text).toContain('zt_datapath_stage_calls{stage="udp_receive"} 0');
});

test("without it the stages are not counted and the metrics are absent", () => {
  const text = run({ ZT_NC_STAGE_TIMING: "" });
  expect(text).not.toContain("zt_datapath_stage");
});
