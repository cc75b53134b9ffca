/**
 * Imported first by the daemon: Bun settings that only the environment can give at start-up. If
 * one is missing, the daemon execs itself once with them set (same pid, same arguments).
 *
 * BUN_GC_TIMER_DISABLE=1: Bun's idle GC timer forces a collection about once a second even when
 * nothing is allocated (BUN_JSC_logGC shows "EdenCollection, a=0kb" every second in a service
 * forwarding pings at 5/s), and each pause (≈1.7–2 ms measured) delays whatever packet arrives
 * then. The datapath allocates nothing per packet; JavaScriptCore's own allocation-driven
 * collector still runs. ZT_BUN_GC_TIMER=keep leaves Bun's timer on.
 *
 * JavaScriptCore's tier-up thresholds, lowered (JIT_TIERS): with its defaults much of the datapath
 * (the hot loop's poll, the tap reader, the UDP send queue) was still in the DFG tier after 5,000
 * pings, its compiler threads still took 10% of a node's CPU, and a ping's path was slower.
 * Measured on held `--tap` pairs, interleaved, each setting on both pairs in turn: ping p50 at 5/s
 * 8–13% lower, at 100/s 2–9% lower (README, "eleventh round"). ZT_JSC_TIERS=default keeps
 * JavaScriptCore's own; a BUN_JSC_ variable already set is left as it is.
 */
import { execSelf } from "../../ffi/reexec.ts";
import { missingBunSettings } from "./bun-env.ts";

// Warnings are printed by the process that runs (after the exec, or when there is none).
const warnings: string[] = [];
const add = missingBunSettings(process.env, (msg) => warnings.push(msg));
if (Object.keys(add).length > 0 && process.platform === "linux") {
  const env = { ...(process.env as Record<string, string>), ...add };
  // A standalone executable sees argv = ["bun", "/$bunfs/root/<name>", args…]: its own arguments
  // follow the embedded entry point. Under `bun file.ts` argv[1] is the script, run again.
  const compiled = (process.argv[1] ?? "").startsWith("/$bunfs/");
  const argv = compiled ? [process.execPath, ...process.argv.slice(2)] : [process.execPath, ...process.execArgv, ...process.argv.slice(1)];
  const why = execSelf(process.execPath, argv, env);
  console.warn(`could not restart with ${Object.keys(add).join(", ")} set (${why}); running without`);
}
for (const w of warnings) console.warn(w);
