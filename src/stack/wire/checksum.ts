/**
 * Internet checksum (RFC 1071) helpers shared by IPv4, ICMP, UDP and TCP.
 * Sums are kept as plain numbers (unfolded 32-bit accumulators) so callers can add a
 * pseudo-header and payload without intermediate buffers.
 */

/** One's-complement partial sum of buf[start, end), added to `acc`. Not folded. */
export function sumBytes(buf: Uint8Array, start: number, end: number, acc = 0): number {
  let i = start;
  const evenEnd = end - ((end - start) & 1);
  // 16-bit big-endian words; unfolded in a float-safe accumulator (< 2^53 for any packet size).
  for (; i < evenEnd; i += 2) acc += (buf[i]! << 8) | buf[i + 1]!;
  if (i < end) acc += buf[i]! << 8;
  return acc;
}

/** Fold an accumulator to 16 bits and complement it: the value to store in a checksum field. */
export function finishChecksum(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 65536);
  return ~acc & 0xffff;
}

/** Pseudo-header sum for TCP/UDP over IPv4 (addresses as unsigned 32-bit numbers). */
export function pseudoHeaderSumV4(src: number, dst: number, proto: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + length;
}

/** Checksum of buf[start, end): 0 means a received checksum verified. */
export function checksum(buf: Uint8Array, start: number, end: number, acc = 0): number {
  return finishChecksum(sumBytes(buf, start, end, acc));
}
