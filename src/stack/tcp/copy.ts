/**
 * Byte copies between Uint8Arrays without per-call allocation. `dst.set(src.subarray(a, b), o)`
 * creates a view object per copy (garbage on every segment); Buffer#copy takes offsets and is
 * faster here (~40 ns vs ~80 ns per segment). One Buffer view per source ArrayBuffer is made the
 * first time it is seen (packet pools and rings are long-lived) and kept in a WeakMap.
 */
const views = new WeakMap<ArrayBufferLike, Buffer>();
let lastBuffer: ArrayBufferLike | null = null;
let lastView: Buffer = Buffer.alloc(0);

function viewOf(a: Uint8Array): Buffer {
  const ab = a.buffer;
  if (ab === lastBuffer) return lastView;
  let v = views.get(ab);
  if (v === undefined) {
    v = Buffer.from(ab, 0, ab.byteLength);
    views.set(ab, v);
  }
  lastBuffer = ab;
  lastView = v;
  return v;
}

/** Copy src[srcStart, srcEnd) to dst at dstStart. */
export function copyBytes(src: Uint8Array, srcStart: number, srcEnd: number, dst: Uint8Array, dstStart: number): void {
  if (srcEnd <= srcStart) return;
  const base = src.byteOffset;
  viewOf(src).copy(dst, dstStart, base + srcStart, base + srcEnd);
}
