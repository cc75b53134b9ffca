/**
 * Raw LZ4 block format (no frame, no size prefix), as ZeroTier puts after the verb byte (spec 3.7).
 *
 * Written here rather than taken from npm: the packages found either allocate per call, wrap the frame
 * format, or ship WASM; this one is ~200 lines, works on (buf, start, end) ranges of preallocated
 * buffers, and its decoder is written for hostile input: every length is checked against both the
 * input and the output bound before any byte moves, and each loop step consumes input, so malformed
 * blocks end in an error code, never an exception, out-of-bounds access or a hang.
 *
 * Block format reminder: a sequence of [token][literal-length ext…][literals][offset LE16][match-length
 * ext…]. Token high nibble = literal length (15 = more bytes follow, each added, 255 = continue), low
 * nibble = match length − 4 (same extension). The last sequence has literals only.
 */

const MIN_MATCH = 4;
/** The last 5 bytes of a block are always literals (reference decoders rely on it). */
const LAST_LITERALS = 5;
/** A match may not start within the last 12 bytes of the input. */
const MF_LIMIT = 12;
const MAX_OFFSET = 65535;
const HASH_LOG = 12;
const HASH_SHIFT = 32 - HASH_LOG;
/** After this many misses in a row the matcher starts skipping ahead faster (incompressible data). */
const SKIP_TRIGGER = 6;

export const LZ4_ERROR_TRUNCATED = -1;
export const LZ4_ERROR_OUTPUT_TOO_SMALL = -2;
export const LZ4_ERROR_BAD_OFFSET = -3;

export function lz4ErrorName(code: number): string {
  switch (code) {
    case LZ4_ERROR_TRUNCATED:
      return "truncated input";
    case LZ4_ERROR_OUTPUT_TOO_SMALL:
      return "output would exceed the limit";
    case LZ4_ERROR_BAD_OFFSET:
      return "match offset outside the produced output";
    default:
      return "ok";
  }
}

/** Worst-case size of a compressed block for an input of n bytes (LZ4_compressBound). */
export function lz4CompressBound(n: number): number {
  return n + Math.floor(n / 255) + 16;
}

/**
 * Decodes src[srcStart, srcEnd) into dst[dstStart, dstEnd). Returns the number of bytes written, or a
 * negative LZ4_ERROR_* code. The output limit is dstEnd (e.g. dstStart + 10024 − 28 for packets).
 */
export function lz4Decompress(
  src: Uint8Array,
  srcStart: number,
  srcEnd: number,
  dst: Uint8Array,
  dstStart: number,
  dstEnd: number,
): number {
  if (srcEnd > src.length || dstEnd > dst.length || srcStart < 0 || dstStart < 0) return LZ4_ERROR_TRUNCATED;
  let ip = srcStart;
  let op = dstStart;
  for (;;) {
    if (ip >= srcEnd) return LZ4_ERROR_TRUNCATED;
    const token = src[ip++]!;

    let litLen = token >>> 4;
    if (litLen === 15) {
      let b: number;
      do {
        if (ip >= srcEnd) return LZ4_ERROR_TRUNCATED;
        b = src[ip++]!;
        litLen += b;
      } while (b === 255);
    }
    if (litLen > srcEnd - ip) return LZ4_ERROR_TRUNCATED;
    if (litLen > dstEnd - op) return LZ4_ERROR_OUTPUT_TOO_SMALL;
    for (const stop = ip + litLen; ip < stop; ) dst[op++] = src[ip++]!;

    // A block ends right after the literals of its last sequence.
    if (ip === srcEnd) return op - dstStart;

    if (srcEnd - ip < 2) return LZ4_ERROR_TRUNCATED;
    const offset = src[ip]! | (src[ip + 1]! << 8);
    ip += 2;
    if (offset === 0 || offset > op - dstStart) return LZ4_ERROR_BAD_OFFSET;

    let matchLen = token & 15;
    if (matchLen === 15) {
      let b: number;
      do {
        if (ip >= srcEnd) return LZ4_ERROR_TRUNCATED;
        b = src[ip++]!;
        matchLen += b;
      } while (b === 255);
    }
    matchLen += MIN_MATCH;
    if (matchLen > dstEnd - op) return LZ4_ERROR_OUTPUT_TOO_SMALL;

    let from = op - offset;
    if (offset >= matchLen && matchLen > 32) {
      // Long and non-overlapping: a memmove inside dst (no allocation); short ones are cheaper inline.
      dst.copyWithin(op, from, from + matchLen);
      op += matchLen;
    } else {
      // Byte by byte, which also gives overlapping copies their meaning (repeat the last `offset` bytes).
      for (const stop = op + matchLen; op < stop; ) dst[op++] = dst[from++]!;
    }
  }
}

/**
 * Greedy single-pass LZ4 block compressor with a 4096-entry hash table of recent positions.
 * Owns its table so repeated calls allocate nothing; not safe to share between concurrent users
 * (there are none in one JS thread).
 */
export class Lz4Compressor {
  /**
   * Last position of each 4-byte hash, stored as `base + (position − srcStart)`. Each call moves
   * `base` past every value stored before, so stale entries read as negative positions and the
   * table needs clearing only when `base` would overflow, not per call (a 16 KB memset would
   * dominate the cost of compressing a 100-byte packet).
   */
  private readonly table = new Int32Array(1 << HASH_LOG);
  private base = 0;

  /**
   * Compresses src[srcStart, srcEnd) into dst[dstStart, dstEnd). Returns the compressed size, or -1
   * if it does not fit before dstEnd (pass dstEnd = dstStart + inputLength − 1 to get "only if it
   * is strictly smaller" for free). Output of any input is a valid block for lz4Decompress.
   */
  compress(src: Uint8Array, srcStart: number, srcEnd: number, dst: Uint8Array, dstStart: number, dstEnd: number): number {
    if (dstEnd > dst.length) dstEnd = dst.length;
    const n = srcEnd - srcStart;
    let op = dstStart;
    let anchor = srcStart;

    if (n >= MF_LIMIT + 1) {
      const table = this.table;
      if (this.base > 0x7fffffff - n - 1) {
        table.fill(0);
        this.base = 0;
      }
      // Stored values are base + offset + 1 so that 0 (a fresh table) is never a valid entry.
      const bias = this.base + 1 - srcStart;
      this.base += n + 1;
      const matchLimit = srcEnd - LAST_LITERALS;
      const mfLimit = srcEnd - MF_LIMIT;
      let ip = srcStart;
      let misses = 0;
      while (ip < mfLimit) {
        const seq = read32(src, ip);
        const h = Math.imul(seq, 2654435761) >>> HASH_SHIFT;
        const ref = table[h]! - bias;
        table[h] = ip + bias;
        if (ref < srcStart || ip - ref > MAX_OFFSET || read32(src, ref) !== seq) {
          misses++;
          ip += 1 + (misses >>> SKIP_TRIGGER);
          continue;
        }
        misses = 0;
        let mStart = ip;
        let mRef = ref;
        // Extend backwards over literals that also match.
        while (mStart > anchor && mRef > srcStart && src[mStart - 1] === src[mRef - 1]) {
          mStart--;
          mRef--;
        }
        let mEnd = ip + MIN_MATCH;
        let rEnd = ref + MIN_MATCH;
        while (mEnd < matchLimit && src[mEnd] === src[rEnd]) {
          mEnd++;
          rEnd++;
        }
        op = emitSequence(src, anchor, mStart, mStart - mRef, mEnd - mStart, dst, op, dstEnd);
        if (op < 0) return -1;
        anchor = mEnd;
        ip = mEnd;
        // Index a position inside the match so the next repetition is found early.
        if (ip - 2 >= srcStart && ip < mfLimit) table[Math.imul(read32(src, ip - 2), 2654435761) >>> HASH_SHIFT] = ip - 2 + bias;
      }
    }

    // Final literal run (possibly empty: an empty input encodes as the single token 0x00).
    op = emitLastLiterals(src, anchor, srcEnd, dst, op, dstEnd);
    return op < 0 ? -1 : op - dstStart;
  }
}

function read32(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) | 0;
}

/** Space an extended length field needs after its nibble (bytes of 255, then the remainder). */
function extLen(len: number): number {
  return len < 15 ? 0 : Math.floor((len - 15) / 255) + 1;
}

function writeExt(dst: Uint8Array, op: number, len: number): number {
  len -= 15;
  while (len >= 255) {
    dst[op++] = 255;
    len -= 255;
  }
  dst[op++] = len;
  return op;
}

function emitSequence(
  src: Uint8Array,
  litStart: number,
  litEnd: number,
  offset: number,
  matchLen: number,
  dst: Uint8Array,
  op: number,
  dstEnd: number,
): number {
  const litLen = litEnd - litStart;
  const ml = matchLen - MIN_MATCH;
  if (op + 1 + extLen(litLen) + litLen + 2 + extLen(ml) > dstEnd) return -1;
  dst[op++] = ((litLen < 15 ? litLen : 15) << 4) | (ml < 15 ? ml : 15);
  if (litLen >= 15) op = writeExt(dst, op, litLen);
  for (let i = litStart; i < litEnd; ) dst[op++] = src[i++]!;
  dst[op++] = offset & 0xff;
  dst[op++] = offset >>> 8;
  if (ml >= 15) op = writeExt(dst, op, ml);
  return op;
}

function emitLastLiterals(src: Uint8Array, litStart: number, litEnd: number, dst: Uint8Array, op: number, dstEnd: number): number {
  const litLen = litEnd - litStart;
  if (op + 1 + extLen(litLen) + litLen > dstEnd) return -1;
  dst[op++] = (litLen < 15 ? litLen : 15) << 4;
  if (litLen >= 15) op = writeExt(dst, op, litLen);
  for (let i = litStart; i < litEnd; ) dst[op++] = src[i++]!;
  return op;
}
