/**
 * Hexadecimal text <-> bytes. Encoding is lowercase (what ZeroTier writes); decoding accepts
 * either case and is strict: odd length or any non-hex character is an error, because a
 * silently mis-decoded key would only show up much later as a failed handshake.
 */

const ENCODE = "0123456789abcdef";
const ENCODE_TABLE: string[] = Array.from({ length: 256 }, (_, i) => ENCODE[i >> 4]! + ENCODE[i & 15]!);

/** Nibble value per character code, -1 for non-hex. */
const DECODE_TABLE = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) DECODE_TABLE[48 + i] = i;
for (let i = 0; i < 6; i++) {
  DECODE_TABLE[97 + i] = 10 + i;
  DECODE_TABLE[65 + i] = 10 + i;
}

export function toHex(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let s = "";
  for (let i = start; i < end; i++) s += ENCODE_TABLE[bytes[i]!]!;
  return s;
}

/** Decodes hex text; returns null on odd length or a non-hex character. */
export function fromHex(text: string): Uint8Array | null {
  if ((text.length & 1) !== 0) return null;
  const out = new Uint8Array(text.length >> 1);
  for (let i = 0, j = 0; i < text.length; i += 2, j++) {
    const hi = nibble(text.charCodeAt(i));
    const lo = nibble(text.charCodeAt(i + 1));
    if (hi < 0 || lo < 0) return null;
    out[j] = (hi << 4) | lo;
  }
  return out;
}

/** Decodes hex text that must describe exactly `length` bytes; null otherwise. */
export function fromHexExact(text: string, length: number): Uint8Array | null {
  if (text.length !== length * 2) return null;
  return fromHex(text);
}

/** Like fromHex but throws with a message naming `what`; for tests, fixtures and trusted constants. */
export function hexToBytes(text: string, what = "hex string"): Uint8Array {
  const b = fromHex(text);
  if (b === null) throw new Error(`invalid ${what}: not an even-length hex string`);
  return b;
}

export function isHex(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (nibble(text.charCodeAt(i)) < 0) return false;
  return true;
}

function nibble(code: number): number {
  return code < 128 ? DECODE_TABLE[code]! : -1;
}
