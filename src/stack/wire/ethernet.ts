/**
 * Ethernet II header view. MAC addresses are carried as plain numbers (48 bits fit exactly in a
 * double), so comparing and storing them allocates nothing.
 */

export const ETH_HEADER_LEN = 14;
export const ETH_BROADCAST = 0xffff_ffff_ffff;

const TWO32 = 4294967296;

/** Read a 48-bit MAC at buf[off, off + 6). */
export function readMac(buf: Uint8Array, off: number): number {
  return (
    ((buf[off]! << 8) | buf[off + 1]!) * TWO32 +
    (((buf[off + 2]! << 24) | (buf[off + 3]! << 16) | (buf[off + 4]! << 8) | buf[off + 5]!) >>> 0)
  );
}

/** Write a 48-bit MAC at buf[off, off + 6). */
export function writeMac(buf: Uint8Array, off: number, mac: number): void {
  const hi = Math.floor(mac / TWO32);
  const lo = mac >>> 0;
  buf[off] = hi >>> 8;
  buf[off + 1] = hi;
  buf[off + 2] = lo >>> 24;
  buf[off + 3] = lo >>> 16;
  buf[off + 4] = lo >>> 8;
  buf[off + 5] = lo;
}

/** Group bit set: broadcast or multicast destination. */
export function isMulticastMac(mac: number): boolean {
  return (Math.floor(mac / 0x100_0000_0000) & 1) === 1;
}

export function macToString(mac: number): string {
  let s = "";
  for (let i = 5; i >= 0; i--) {
    const b = Math.floor(mac / 2 ** (8 * i)) & 0xff;
    s += (s ? ":" : "") + b.toString(16).padStart(2, "0");
  }
  return s;
}

/** Parse "aa:bb:cc:dd:ee:ff"; null when malformed. */
export function parseMac(s: string): number | null {
  const m = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(s);
  if (!m) return null;
  let v = 0;
  for (let i = 1; i <= 6; i++) v = v * 256 + parseInt(m[i]!, 16);
  return v;
}

/** Destination MAC of the frame starting at `start` (caller checked the length). */
export function ethDst(buf: Uint8Array, start: number): number {
  return readMac(buf, start);
}

export function ethSrc(buf: Uint8Array, start: number): number {
  return readMac(buf, start + 6);
}

export function ethType(buf: Uint8Array, start: number): number {
  return (buf[start + 12]! << 8) | buf[start + 13]!;
}

/** Write an Ethernet II header at buf[start, start + 14). */
export function emitEthernet(buf: Uint8Array, start: number, dst: number, src: number, type: number): void {
  writeMac(buf, start, dst);
  writeMac(buf, start + 6, src);
  buf[start + 12] = type >>> 8;
  buf[start + 13] = type;
}
