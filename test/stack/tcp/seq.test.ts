import { describe, expect, test } from "bun:test";
import { seqAdd, seqDiff, seqGe, seqGt, seqInRange, seqLe, seqLt, seqMax, seqMin } from "../../../src/stack/tcp/seq.ts";

describe("modular sequence arithmetic", () => {
  const cases: [number, number, boolean][] = [
    [1, 2, true],
    [2, 1, false],
    [0xffffffff, 0, true], // wraps
    [0xfffffff0, 0x10, true],
    [0x10, 0xfffffff0, false],
    [0, 0x7fffffff, true],
    [5, 5, false],
  ];
  for (const [a, b, lt] of cases) {
    test(`seqLt(${a.toString(16)}, ${b.toString(16)}) = ${lt}`, () => {
      expect(seqLt(a, b)).toBe(lt);
      expect(seqGe(a, b)).toBe(!lt);
      expect(seqGt(b, a)).toBe(lt);
      expect(seqLe(b, a)).toBe(!lt);
    });
  }
  test("add and diff wrap at 2^32", () => {
    expect(seqAdd(0xffffffff, 1)).toBe(0);
    expect(seqAdd(0, -1)).toBe(0xffffffff);
    expect(seqDiff(5, 0xfffffffe)).toBe(7);
    expect(seqDiff(0xfffffffe, 5)).toBe(-7);
    expect(seqMax(0xfffffffe, 3)).toBe(3);
    expect(seqMin(0xfffffffe, 3)).toBe(0xfffffffe);
    expect(seqInRange(1, 0xfffffff0, 10)).toBe(true);
    expect(seqInRange(10, 0xfffffff0, 10)).toBe(false);
  });
});
