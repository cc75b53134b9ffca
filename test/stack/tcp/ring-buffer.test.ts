import { describe, expect, test } from "bun:test";
import { RingBuffer } from "../../../src/stack/tcp/ring-buffer.ts";

describe("RingBuffer", () => {
  test("write/read across the wrap point", () => {
    const r = new RingBuffer(8);
    expect(r.write(new Uint8Array([1, 2, 3, 4, 5, 6]), 0, 6)).toBe(6);
    const out = new Uint8Array(4);
    expect(r.read(out, 0, 4)).toBe(4);
    expect([...out]).toEqual([1, 2, 3, 4]);
    expect(r.write(new Uint8Array([7, 8, 9, 10, 11, 12, 13]), 0, 7)).toBe(6); // only 6 free
    const all = new Uint8Array(8);
    expect(r.read(all, 0, 8)).toBe(8);
    expect([...all]).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
    expect(r.length).toBe(0);
  });

  test("contiguous regions describe the free and filled space exactly", () => {
    const r = new RingBuffer(10);
    r.write(new Uint8Array(7), 0, 7);
    r.consume(5); // head=5, length=2 -> filled [5,7), free [7,10) then [0,5)
    expect([r.readStart(), r.readContiguous()]).toEqual([5, 2]);
    expect([r.writeStart(), r.writeContiguous()]).toEqual([7, 3]);
    r.commit(3); // now filled [5,10)
    expect([r.writeStart(), r.writeContiguous()]).toEqual([0, 5]);
    expect(r.readContiguous()).toBe(5);
    r.commit(5);
    expect(r.free).toBe(0);
    expect(r.writeContiguous()).toBe(0);
  });

  test("writeAt beyond the tail stores out-of-order bytes that a later commit reveals", () => {
    const r = new RingBuffer(6);
    r.write(new Uint8Array([1, 2, 3, 4]), 0, 4);
    r.consume(3); // head=3, [4]
    r.writeAt(3, new Uint8Array([7, 8]), 0, 2); // offsets 3,4 from head -> wraps
    r.writeAt(1, new Uint8Array([5, 6]), 0, 2);
    r.commit(4);
    const out = new Uint8Array(5);
    expect(r.read(out, 0, 5)).toBe(5);
    expect([...out]).toEqual([4, 5, 6, 7, 8]);
  });

  test("consume to empty does not move out-of-order data", () => {
    const r = new RingBuffer(4);
    r.write(new Uint8Array([1, 2]), 0, 2);
    r.writeAt(3, new Uint8Array([9]), 0, 1);
    r.consume(2);
    r.writeAt(0, new Uint8Array([8]), 0, 1);
    r.commit(2);
    const out = new Uint8Array(2);
    r.read(out, 0, 2);
    expect([...out]).toEqual([8, 9]);
  });

  test("copyOut at an offset without consuming", () => {
    const r = new RingBuffer(5);
    r.write(new Uint8Array([1, 2, 3, 4, 5]), 0, 5);
    r.consume(4);
    r.write(new Uint8Array([6, 7, 8]), 0, 3);
    const out = new Uint8Array(3);
    r.copyOut(1, out, 0, 3);
    expect([...out]).toEqual([6, 7, 8]);
    expect(r.length).toBe(4);
  });
});
