/**
 * Bounds-checked cursor reader/writer for the binary serializations of identities, worlds and
 * similar control-plane records (not for per-packet hot paths, which read fields in place).
 *
 * Every read checks length first and throws DecodeError on overrun; parsers catch it at their
 * public API and turn it into a result value, so garbage input never escapes as a crash.
 */

export class DecodeError extends Error {
  override readonly name = "DecodeError";
}

export class EncodeError extends Error {
  override readonly name = "EncodeError";
}

export class ByteReader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    if (start < 0 || end > buf.length || start > end) throw new DecodeError("reader range outside buffer");
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string): void {
    if (this.end - this.pos < n) {
      throw new DecodeError(`truncated: ${what} needs ${n} bytes at offset ${this.pos}, ${this.end - this.pos} left`);
    }
  }

  u8(what = "u8"): number {
    this.need(1, what);
    return this.buf[this.pos++]!;
  }

  u16(what = "u16"): number {
    this.need(2, what);
    const b = this.buf;
    const p = this.pos;
    this.pos += 2;
    return (b[p]! << 8) | b[p + 1]!;
  }

  u32(what = "u32"): number {
    this.need(4, what);
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  }

  /** Big-endian 64-bit unsigned. */
  u64(what = "u64"): bigint {
    this.need(8, what);
    const hi = this.u32(what);
    const lo = this.u32(what);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** Copy of the next n bytes (callers keep these, so they must not alias the input buffer). */
  bytes(n: number, what = "bytes"): Uint8Array {
    this.need(n, what);
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  skip(n: number, what = "skip"): void {
    this.need(n, what);
    this.pos += n;
  }
}

/** Growable big-endian writer; `finish()` returns the written bytes. */
export class ByteWriter {
  private buf: Uint8Array;
  pos = 0;

  constructor(
    initialCapacity = 256,
    private readonly maxLength = Number.MAX_SAFE_INTEGER,
  ) {
    this.buf = new Uint8Array(initialCapacity);
  }

  private ensure(n: number): void {
    const need = this.pos + n;
    if (need > this.maxLength) throw new EncodeError(`serialization exceeds ${this.maxLength} bytes`);
    if (need <= this.buf.length) return;
    const next = new Uint8Array(Math.max(need, this.buf.length * 2));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  u16(v: number): this {
    this.ensure(2);
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  u32(v: number): this {
    this.ensure(4);
    this.buf[this.pos++] = (v >>> 24) & 0xff;
    this.buf[this.pos++] = (v >>> 16) & 0xff;
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  u64(v: bigint): this {
    if (v < 0n || v > 0xffffffffffffffffn) throw new EncodeError(`u64 out of range: ${v}`);
    this.u32(Number(v >> 32n));
    this.u32(Number(v & 0xffffffffn));
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

/** Constant-time-ish equality for short byte strings (keys, digests). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/** Lexicographic byte comparison (memcmp semantics). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}
