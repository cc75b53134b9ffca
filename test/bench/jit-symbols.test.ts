import { describe, expect, test } from "bun:test";
import { nameAt, parseJitDump, sharesByFunction } from "../../bench/support/jit-symbols.ts";
import { jitDumpImage as image } from "./jitdump-image.ts";

describe("jit-symbols (perf samples of JIT code → JavaScript functions)", () => {
  test("code-load records are read in order; a later load of the same range wins", () => {
    const r = parseJitDump(image([[0x1000n, 0x40n, "JSC-Baseline: f#A"], [0x2000n, 0x10n, "JSC-FTL: g#B"], [0x1000n, 0x20n, "JSC-FTL: f#A"]]));
    expect(r.map((x) => x.name)).toEqual(["JSC-Baseline: f#A", "JSC-FTL: g#B", "JSC-FTL: f#A"]);
    expect(nameAt(r, 0x1010n)).toBe("JSC-FTL: f#A");
    expect(nameAt(r, 0x1030n)).toBe("JSC-Baseline: f#A");
    expect(nameAt(r, 0x200fn)).toBe("JSC-FTL: g#B");
    expect(nameAt(r, 0x2010n)).toBe("(unknown JIT code)");
  });

  test("perf report lines are summed per function", () => {
    const r = parseJitDump(image([[0x7f0000001000n, 0x100n, "JSC-FTL: addPiece#X"], [0x7f0000002000n, 0x100n, "JSC-FTL: dearmor#Y"]]));
    const report = [
      "     5.00%  [JIT] tid 42       [.] 0x00007f0000001010",
      "     2.50%  [JIT] tid 42       [.] 0x00007f0000001080",
      "     1.00%  [JIT] tid 42       [.] 0x00007f0000002000",
      "     9.00%  [kernel.kallsyms]  [k] _copy_to_iter",
    ].join("\n");
    expect(sharesByFunction(r, report)).toEqual([
      ["JSC-FTL: addPiece#X", 7.5],
      ["JSC-FTL: dearmor#Y", 1],
    ]);
  });

  test("a truncated last record (the process was still writing) is ignored; other files are refused", () => {
    expect(parseJitDump(image([[0x1000n, 0x10n, "a"], [0x2000n, 0x10n, "b"]], true)).map((x) => x.name)).toEqual(["a"]);
    expect(() => parseJitDump(new Uint8Array(64))).toThrow("not a little-endian jitdump file");
    expect(() => parseJitDump(new Uint8Array(3))).toThrow();
  });
});
