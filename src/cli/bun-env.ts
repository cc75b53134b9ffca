/**
 * The environment the daemon wants Bun to start with (src/cli/bun-settings.ts execs it once with
 * what is missing). A module without side effects, so that tests can import it.
 */

/** Execution counts before a function moves to the baseline JIT, the DFG and the FTL (JSC: 500, 1000, 100000). */
export const JIT_TIERS: Readonly<Record<string, string>> = {
  BUN_JSC_thresholdForJITAfterWarmUp: "100",
  BUN_JSC_thresholdForOptimizeAfterWarmUp: "300",
  BUN_JSC_thresholdForFTLOptimizeAfterWarmUp: "10000",
};

/** The variables to add to `env` (none: it has all it needs). */
export function missingBunSettings(env: Readonly<Record<string, string | undefined>>, warn: (msg: string) => void): Record<string, string> {
  const add: Record<string, string> = {};
  const gc = env.ZT_BUN_GC_TIMER;
  if (gc !== undefined && gc !== "keep" && gc !== "") warn(`ZT_BUN_GC_TIMER=${gc}: expected keep (or unset); Bun's GC timer is turned off`);
  if (env.BUN_GC_TIMER_DISABLE === undefined && gc !== "keep") add.BUN_GC_TIMER_DISABLE = "1";
  const tiers = env.ZT_JSC_TIERS;
  if (tiers !== undefined && tiers !== "default" && tiers !== "") warn(`ZT_JSC_TIERS=${tiers}: expected default (or unset); JavaScriptCore's thresholds are lowered`);
  if (tiers !== "default") {
    for (const [k, v] of Object.entries(JIT_TIERS)) if (env[k] === undefined) add[k] = v;
  }
  return add;
}
