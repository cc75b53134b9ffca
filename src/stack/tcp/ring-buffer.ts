import { copyBytes } from "../../../ffi/copy-bytes.ts";

/**
 * Fixed-capacity byte ring. TCP keeps its send and receive buffers here so the layers above can
 * move data straight between a kernel fd and the ring (read(fd) into `writeRegion`, write(fd) from
 * `readRegion`) with no intermediate copy. Bytes beyond `length` can be written at an offset
 * (`writeAt`) without being committed: the receiver stores out-of-order segments that way.
 */
export class RingBuffer {
  readonly buf: Uint8Array;
  readonly capacity: number;
  /** Index of the first filled byte. */
  head = 0;
  /** Filled bytes. */
  length = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.buf = new Uint8Array(capacity);
  }

  get free(): number {
    return this.capacity - this.length;
  }

  /** Start index of the contiguous filled region at the head. */
  readStart(): number {
    return this.head;
  }
  /** Bytes in the contiguous filled region at the head: buf[readStart(), readStart()+n). */
  readContiguous(): number {
    return Math.min(this.length, this.capacity - this.head);
  }
  /** Start index of the contiguous free region after the filled bytes. */
  writeStart(): number {
    const t = this.head + this.length;
    return t >= this.capacity ? t - this.capacity : t;
  }
  /** Bytes in the contiguous free region: buf[writeStart(), writeStart()+n). */
  writeContiguous(): number {
    const t = this.head + this.length;
    if (t >= this.capacity) return this.capacity - this.length; // free region is [t-cap, head)
    return this.capacity - t;
  }

  /** Mark n bytes written into the free region as filled. */
  commit(n: number): void {
    this.length += n;
  }
  /** Drop n bytes from the head. */
  consume(n: number): void {
    this.length -= n;
    let h = this.head + n;
    if (h >= this.capacity) h -= this.capacity;
    // head is not reset when empty: out-of-order bytes may already sit beyond the tail.
    this.head = h;
  }

  /** Copy src[start, end) at the tail, as much as fits; returns the byte count taken. */
  write(src: Uint8Array, start: number, end: number): number {
    const n = Math.min(end - start, this.free);
    this.writeAt(this.length, src, start, start + n);
    this.length += n;
    return n;
  }

  /** Copy up to dst[start, end) from the head and consume it; returns the byte count. */
  read(dst: Uint8Array, start: number, end: number): number {
    const n = Math.min(end - start, this.length);
    this.copyOut(0, dst, start, n);
    this.consume(n);
    return n;
  }

  /** Copy src[start, end) to `offset` bytes after the head (offset + len <= capacity). */
  writeAt(offset: number, src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (n <= 0) return;
    let p = this.head + offset;
    if (p >= this.capacity) p -= this.capacity;
    const first = Math.min(n, this.capacity - p);
    copyBytes(this.buf, p, src, start, start + first);
    if (first < n) copyBytes(this.buf, 0, src, start + first, end);
  }

  /** Copy n bytes starting `offset` bytes after the head into dst at `dstStart`. */
  copyOut(offset: number, dst: Uint8Array, dstStart: number, n: number): void {
    if (n <= 0) return;
    let p = this.head + offset;
    if (p >= this.capacity) p -= this.capacity;
    const first = Math.min(n, this.capacity - p);
    copyBytes(dst, dstStart, this.buf, p, p + first);
    if (first < n) copyBytes(dst, dstStart + first, this.buf, 0, n - first);
  }
}
