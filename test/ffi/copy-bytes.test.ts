import { describe, expect, test } from "bun:test";
import { copyBytes } from "../../ffi/copy-bytes.ts";

function ramp(n: number, from = 0): Uint8Array<ArrayBuffer> {
  return new Uint8Array(n).map((_, i) => (from + i) & 0xff);
}

describe("copyBytes", () => {
  test("copies a range between two arrays, small and large, touching nothing else", () => {
    for (const len of [1, 63, 64, 1414, 2800]) {
      const src = ramp(len + 20, 7);
      const dst = new Uint8Array(len + 40).fill(0xee);
      copyBytes(dst, 11, src, 5, 5 + len);
      expect([...dst.subarray(11, 11 + len)]).toEqual([...src.subarray(5, 5 + len)]);
      expect(dst.subarray(0, 11).every((b) => b === 0xee)).toBe(true);
      expect(dst.subarray(11 + len).every((b) => b === 0xee)).toBe(true);
    }
  });

  test("respects views' offsets into a shared buffer", () => {
    const whole = ramp(256);
    const src = whole.subarray(100, 200);
    const dst = new Uint8Array(50);
    copyBytes(dst, 0, src, 10, 60);
    expect(dst).toEqual(ramp(50, 110));
  });

  test("overlapping ranges in one buffer copy as memmove does, both directions", () => {
    const up = ramp(300);
    copyBytes(up, 10, up, 0, 280);
    expect(up.subarray(10, 290)).toEqual(ramp(280));
    const down = ramp(300);
    copyBytes(down.subarray(0, 200), 0, down, 10, 210);
    expect(down.subarray(0, 200)).toEqual(ramp(200, 10));
  });

  test("an empty range is a no-op", () => {
    const dst = new Uint8Array(4);
    copyBytes(dst, 4, new Uint8Array(0), 0, 0);
    expect(dst).toEqual(new Uint8Array(4));
  });

  test("a range outside either array throws and copies nothing", () => {
    const src = ramp(100);
    const dst = new Uint8Array(100);
    const bad: [number, number, number][] = [
      [0, 0, 101], // past src's end
      [0, -1, 50], // before src's start
      [0, 60, 40], // end before start
      [51, 0, 50], // past dst's end
      [-1, 0, 10], // before dst's start
      [0, 0.5, 10], // not an index
    ];
    for (const [d, s, e] of bad) {
      expect(() => copyBytes(dst, d, src, s, e)).toThrow(RangeError);
      expect(dst.every((b) => b === 0)).toBe(true);
    }
  });
});
