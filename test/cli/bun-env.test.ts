/**
 * What the daemon adds to its environment before it execs itself (src/cli/bun-settings.ts): Bun's
 * GC timer off and JavaScriptCore's lower tier-up thresholds, each unless the user said otherwise.
 */
import { expect, test } from "bun:test";
import { JIT_TIERS, missingBunSettings } from "../../src/cli/bun-env.ts";

function run(env: Record<string, string>): { add: Record<string, string>; warnings: string[] } {
  const warnings: string[] = [];
  return { add: missingBunSettings(env, (m) => warnings.push(m)), warnings };
}

test("a bare environment gets the GC timer off and the lower thresholds", () => {
  const { add, warnings } = run({});
  expect(add).toEqual({ BUN_GC_TIMER_DISABLE: "1", ...JIT_TIERS });
  expect(warnings).toEqual([]);
});

test("once they are set, nothing is added: the exec happens once", () => {
  expect(run({ BUN_GC_TIMER_DISABLE: "1", ...JIT_TIERS }).add).toEqual({});
});

test("ZT_BUN_GC_TIMER=keep and ZT_JSC_TIERS=default keep Bun's and JavaScriptCore's own", () => {
  expect(run({ ZT_BUN_GC_TIMER: "keep" }).add).toEqual({ ...JIT_TIERS });
  expect(run({ ZT_JSC_TIERS: "default" }).add).toEqual({ BUN_GC_TIMER_DISABLE: "1" });
});

test("a threshold the user set is left as it is", () => {
  const { add } = run({ BUN_JSC_thresholdForFTLOptimizeAfterWarmUp: "5000" });
  expect(add.BUN_JSC_thresholdForFTLOptimizeAfterWarmUp).toBeUndefined();
  expect(add.BUN_JSC_thresholdForJITAfterWarmUp).toBe("100");
});

test("values it does not know are warned about and the default applies", () => {
  const { add, warnings } = run({ ZT_BUN_GC_TIMER: "off", ZT_JSC_TIERS: "fast" });
  expect(add).toEqual({ BUN_GC_TIMER_DISABLE: "1", ...JIT_TIERS });
  expect(warnings).toHaveLength(2);
  expect(warnings[0]).toContain("ZT_BUN_GC_TIMER=off");
  expect(warnings[1]).toContain("ZT_JSC_TIERS=fast");
});
