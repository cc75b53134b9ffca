/**
 * Imported first by the daemon: Bun settings that only the environment can give at start-up.
 *
 * BUN_GC_TIMER_DISABLE=1: Bun's idle GC timer forces a collection about once a second even when
 * nothing is allocated (BUN_JSC_logGC shows "EdenCollection, a=0kb" every second in a service
 * forwarding pings at 5/s), and each pause (≈1.7–2 ms measured) delays whatever packet arrives
 * then. The datapath allocates nothing per packet; JavaScriptCore's own allocation-driven
 * collector still runs. If the variable is absent, the daemon execs itself once with it set (same
 * pid, same arguments); ZT_BUN_GC_TIMER=keep leaves Bun's timer on.
 */
import { execSelf } from "../../ffi/reexec.ts";

const KEEP = process.env.ZT_BUN_GC_TIMER;
if (KEEP !== undefined && KEEP !== "keep" && KEEP !== "") {
  console.warn(`ZT_BUN_GC_TIMER=${KEEP}: expected keep (or unset); Bun's GC timer is turned off`);
}
if (process.env.BUN_GC_TIMER_DISABLE === undefined && KEEP !== "keep" && process.platform === "linux") {
  const env = { ...(process.env as Record<string, string>), BUN_GC_TIMER_DISABLE: "1" };
  // A standalone executable sees argv = ["bun", "/$bunfs/root/<name>", args…]: its own arguments
  // follow the embedded entry point. Under `bun file.ts` argv[1] is the script, run again.
  const compiled = (process.argv[1] ?? "").startsWith("/$bunfs/");
  const argv = compiled ? [process.execPath, ...process.argv.slice(2)] : [process.execPath, ...process.execArgv, ...process.argv.slice(1)];
  const why = execSelf(process.execPath, argv, env);
  console.warn(`could not restart with Bun's GC timer off (${why}); running with it`);
}
