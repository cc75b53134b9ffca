import { describe, expect, test } from "bun:test";
import { callerShares, NO_JS_CALLER } from "../../bench/support/jit-callers.ts";
import { parseJitDump } from "../../bench/support/jit-symbols.ts";
import { jitDumpImage } from "./jitdump-image.ts";

const ranges = parseJitDump(jitDumpImage([[0x7f0000001000n, 0x100n, "JSC-FTL: fromPort#X"], [0x7f0000002000n, 0x100n, "JSC-FTL: drain#Y"]]));
const BUN = "/srv/app/node_modules/bun/bin/bun.exe"; // any install path: matched by file name

/** One perf script block: "comm tid", then frames leaf first as "addr sym (dso)". */
function sample(tid: number, frames: [string, string][]): string {
  return [`bun.exe ${tid} `, ...frames.map(([ip, dso]) => `\t    ${ip} [unknown] (${dso})`)].join("\n");
}

describe("jit-callers (native samples → the JavaScript function that called)", () => {
  test("a native leaf is charged to the nearest JIT frame above it; none: the event loop", () => {
    const script = [
      sample(7, [["1d3aa1f", BUN], ["7f0000001010", "/tmp/perf-7.map"], ["7f0000002000", "/tmp/perf-7.map"], ["2724a", "/lib/libc.so.6"]]),
      sample(7, [["1d3aa1f", BUN], ["7f0000002010", "/tmp/perf-7.map"]]),
      sample(7, [["91234", "/lib/libc.so.6"], ["7f0000001020", "[unknown]"]]),
      sample(7, [["1d3aa1f", BUN], ["18690bc", BUN]]),
      sample(7, [["ffffffff81000000", "[kernel.kallsyms]"]]), // counted in the total, not charged
      sample(7, [["7f0000001030", "/tmp/perf-7.map"]]), // JIT code itself: jit-symbols' job
      sample(8, [["1d3aa1f", BUN]]), // another thread: left out with tid 7
    ].join("\n\n");
    expect(callerShares(ranges, script, 7)).toEqual([
      ["bun.exe ← JSC-FTL: fromPort#X", (100 * 1) / 6],
      ["bun.exe ← JSC-FTL: drain#Y", (100 * 1) / 6],
      ["libc ← JSC-FTL: fromPort#X", (100 * 1) / 6],
      [`bun.exe ← ${NO_JS_CALLER}`, (100 * 1) / 6],
    ]);
    expect(callerShares(ranges, script).map(([k]) => k)).toContain(`bun.exe ← ${NO_JS_CALLER}`);
  });

  test("an address outside every code load is not a caller; empty input gives nothing", () => {
    const script = sample(7, [["1d3aa1f", BUN], ["7f0000009000", "/tmp/perf-7.map"], ["7f0000002005", "/tmp/perf-7.map"]]);
    expect(callerShares(ranges, script)).toEqual([["bun.exe ← JSC-FTL: drain#Y", 100]]);
    expect(callerShares(ranges, "")).toEqual([]);
  });
});
