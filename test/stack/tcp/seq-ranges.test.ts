import { describe, expect, test } from "bun:test";
import { SeqRangeSet } from "../../../src/stack/tcp/seq-ranges.ts";

const dump = (s: SeqRangeSet) => Array.from({ length: s.count }, (_, i) => [s.starts[i], s.ends[i]]);

describe("SeqRangeSet (reassembly + scoreboard)", () => {
  test("disjoint inserts stay sorted", () => {
    const s = new SeqRangeSet(4);
    s.add(30, 40);
    s.add(10, 20);
    s.add(50, 60);
    expect(dump(s)).toEqual([[10, 20], [30, 40], [50, 60]]);
  });
  test("overlapping and adjacent ranges merge", () => {
    const s = new SeqRangeSet(4);
    s.add(10, 20);
    s.add(30, 40);
    s.add(20, 30);
    expect(dump(s)).toEqual([[10, 40]]);
    s.add(5, 12);
    s.add(35, 50);
    expect(dump(s)).toEqual([[5, 50]]);
  });
  test("a range covering several merges them all", () => {
    const s = new SeqRangeSet(8);
    for (let i = 0; i < 5; i++) s.add(i * 10, i * 10 + 5);
    s.add(3, 42);
    expect(dump(s)).toEqual([[0, 45]]);
  });
  test("full set refuses a new island but still merges", () => {
    const s = new SeqRangeSet(2);
    s.add(10, 20);
    s.add(30, 40);
    expect(s.add(50, 60)).toBe(false);
    expect(s.add(18, 32)).toBe(true);
    expect(dump(s)).toEqual([[10, 40]]);
  });
  test("a set with room to grow doubles up to its maximum, keeping its ranges in order, then refuses", () => {
    const s = new SeqRangeSet(2, 8);
    for (let i = 7; i >= 0; i--) expect(s.add(i * 10, i * 10 + 5)).toBe(true); // inserted at the front
    expect(s.capacity).toBe(8);
    expect(dump(s)).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => [i * 10, i * 10 + 5]));
    expect(s.add(100, 105)).toBe(false);
    expect(s.count).toBe(8);
  });
  test("ranges across the 2^32 wrap", () => {
    const s = new SeqRangeSet(4);
    s.add(0xfffffff0, 0xfffffffa);
    s.add(5, 10);
    s.add(0xfffffffa, 5);
    expect(dump(s)).toEqual([[0xfffffff0, 10]]);
    expect(s.totalBytes()).toBe(26);
  });
  test("popContiguous and removeBelow", () => {
    const s = new SeqRangeSet(4);
    s.add(10, 20);
    s.add(30, 40);
    expect(s.popContiguous(5)).toBe(-1);
    expect(s.popContiguous(10)).toBe(20);
    s.removeBelow(35);
    expect(dump(s)).toEqual([[35, 40]]);
  });
  test("bytesAbove and nextHole", () => {
    const s = new SeqRangeSet(4);
    s.add(20, 30);
    s.add(40, 50);
    expect(s.bytesAbove(25)).toBe(15);
    expect(s.nextHole(10, 50)).toBe(10);
    expect(s.holeEnd).toBe(20);
    expect(s.nextHole(20, 50)).toBe(30);
    expect(s.holeEnd).toBe(40);
    expect(s.nextHole(45, 50)).toBe(-1);
    expect(s.highest(0)).toBe(50);
  });
});
