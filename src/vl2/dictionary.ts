/**
 * ZeroTier's Dictionary text format (spec 6.3): `key=value` lines separated by LF, values escaped
 * so any bytes (binary credentials, rules) fit in one line. Used for network configs, config
 * request metadata, auth info and local.conf files.
 *
 * Entries keep their order and duplicates so that re-serializing a parsed dictionary gives back
 * the same bytes; lookups return the first occurrence, as the reference does.
 *
 * `parse` is strict about what a conforming writer never produces (NUL bytes, a line without '=',
 * an empty or non-ASCII key, a dangling backslash, more bytes than the capacity) and lenient where
 * the reference is (unknown escapes yield the escaped byte; empty lines and CR separators are skipped).
 * `parseAsReference` and the `…AsReference` getters instead see exactly what 1.14's lookups see,
 * for data 1.14 takes as it finds it (network configs).
 */
import { type Decoded, fail, ok } from "./result.ts";

/** 1.14's ZT_NETWORKCONFIG_DICT_CAPACITY; a config must be strictly shorter (room for the NUL). */
export const NETWORK_CONFIG_DICT_CAPACITY = 484520;
/** ZT_NETWORKCONFIG_METADATA_DICT_CAPACITY. */
export const REQUEST_METADATA_DICT_CAPACITY = 1024;

const LF = 0x0a;
const CR = 0x0d;
const BACKSLASH = 0x5c;
const EQUALS = 0x3d;

export interface DictionaryEntry {
  readonly key: string;
  readonly value: Uint8Array;
}

/** Thrown by the typed getters for a present but malformed value; parsers catch it at their API. */
export class DictionaryValueError extends Error {
  override readonly name = "DictionaryValueError";
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

export class Dictionary {
  private readonly list: DictionaryEntry[] = [];

  get entries(): readonly DictionaryEntry[] {
    return this.list;
  }

  get size(): number {
    return this.list.length;
  }

  // ---- reading ----

  get(key: string): Uint8Array | undefined {
    for (const e of this.list) if (e.key === key) return e.value;
    return undefined;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  getString(key: string): string | undefined {
    const v = this.get(key);
    return v === undefined ? undefined : utf8Decoder.decode(v);
  }

  /**
   * Unsigned hex integer (1..16 hex digits, any case). Absent or empty → dfl, like the reference
   * (which treats an empty value as missing). Malformed → DictionaryValueError.
   */
  getUint(key: string, dfl: bigint): bigint {
    const v = this.get(key);
    if (v === undefined || v.length === 0) return dfl;
    return parseHexValue(key, v, false);
  }

  /** Signed hex integer: optional '-' then hex of the magnitude. */
  getInt(key: string, dfl: bigint): bigint {
    const v = this.get(key);
    if (v === undefined || v.length === 0) return dfl;
    return parseHexValue(key, v, true);
  }

  /** Unsigned hex integer that must fit a JS number exactly. */
  getNumber(key: string, dfl: number): number {
    const v = this.getUint(key, BigInt(dfl));
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DictionaryValueError(`${key}: value ${v} out of range`);
    return Number(v);
  }

  /** True if the first character is 1, t or T (reference rule); absent → dfl. */
  getBool(key: string, dfl: boolean): boolean {
    const v = this.get(key);
    if (v === undefined) return dfl;
    const c = v[0];
    return c === 0x31 || c === 0x74 || c === 0x54;
  }

  // ---- writing (in the forms 1.14 writes) ----

  add(key: string, value: Uint8Array | string): this {
    if (!isValidKey(key)) throw new RangeError(`invalid dictionary key ${JSON.stringify(key)}`);
    this.list.push({ key, value: typeof value === "string" ? utf8.encode(value) : value.slice() });
    return this;
  }

  /** 64-bit unsigned as 16 zero-padded lowercase hex digits (Utils::hex(uint64_t)). */
  addUint(key: string, value: bigint | number): this {
    const v = BigInt(value);
    if (v < 0n || v > 0xffffffffffffffffn) throw new RangeError(`${key}: ${v} is not a uint64`);
    return this.add(key, v.toString(16).padStart(16, "0"));
  }

  /** 64-bit signed: negative values as '-' and the 16-digit magnitude. */
  addInt(key: string, value: bigint | number): this {
    const v = BigInt(value);
    if (v < -0x8000000000000000n || v > 0x7fffffffffffffffn) throw new RangeError(`${key}: ${v} is not an int64`);
    return this.add(key, v < 0n ? `-${(-v).toString(16).padStart(16, "0")}` : v.toString(16).padStart(16, "0"));
  }

  /** 40-bit address as 10 hex digits (Address::toString). */
  addAddress(key: string, address: number): this {
    return this.add(key, address.toString(16).padStart(10, "0"));
  }

  addBool(key: string, value: boolean): this {
    return this.add(key, value ? "1" : "0");
  }

  // ---- text form ----

  /** Bytes of the text form (no trailing NUL, no trailing LF). */
  toBytes(): Uint8Array {
    let n = 0;
    for (let i = 0; i < this.list.length; i++) n += (i > 0 ? 1 : 0) + encodedEntryLength(this.list[i]!);
    const out = new Uint8Array(n);
    let p = 0;
    for (let i = 0; i < this.list.length; i++) {
      if (i > 0) out[p++] = LF;
      p = writeEntry(out, p, this.list[i]!);
    }
    return out;
  }

  /** toBytes, refused if it would not fit a reference dictionary of this capacity. */
  serialize(capacity: number): Decoded<Uint8Array> {
    const b = this.toBytes();
    if (b.length >= capacity) return fail(`dictionary of ${b.length} bytes does not fit capacity ${capacity}`);
    return ok(b);
  }

  static parse(bytes: Uint8Array, capacity: number, start = 0, end = bytes.length): Decoded<Dictionary> {
    return Dictionary.parseText(bytes, capacity, start, end, false);
  }

  /**
   * Reads the text the way 1.14's own lookups (Dictionary::get) see it, for data that 1.14 takes
   * as it finds it (a network config): the text ends at the first NUL; a line without '=', or
   * whose key is not printable ASCII, is skipped (no lookup can ever match it); a backslash at the
   * end of a line is dropped. Only the capacity is still a hard limit.
   */
  static parseAsReference(bytes: Uint8Array, capacity: number): Decoded<Dictionary> {
    if (bytes.length >= capacity) return fail(`dictionary of ${bytes.length} bytes exceeds capacity ${capacity}`);
    const nul = bytes.indexOf(0);
    return Dictionary.parseText(bytes, capacity, 0, nul < 0 ? bytes.length : nul, true);
  }

  // ---- reading as 1.14's typed getters do (for parseAsReference dictionaries) ----

  /**
   * 1.14's getUI: absent or empty → dfl; otherwise the value as a C string of at most 127 bytes
   * read by strtoull(…, 16): leading white space, an optional sign ('-' negates modulo 2^64), an
   * optional 0x, then hex digits up to the first other byte (none → 0), saturating at 2^64 − 1.
   */
  getUintAsReference(key: string, dfl: bigint): bigint {
    const v = this.get(key);
    if (v === undefined || v.length === 0) return dfl;
    const { negative, magnitude } = scanHex(cString(v, INTEGER_BUFFER));
    if (magnitude > U64_MAX) return U64_MAX;
    return negative ? BigInt.asUintN(64, -magnitude) : magnitude;
  }

  /** 1.14's getI: as getUintAsReference but strtoll's: saturating at −2^63 and 2^63 − 1. */
  getIntAsReference(key: string, dfl: bigint): bigint {
    const v = this.get(key);
    if (v === undefined || v.length === 0) return dfl;
    const { negative, magnitude } = scanHex(cString(v, INTEGER_BUFFER));
    if (negative) return magnitude > I64_MAX + 1n ? -(I64_MAX + 1n) : -magnitude;
    return magnitude > I64_MAX ? I64_MAX : magnitude;
  }

  /**
   * 1.14's get into a char[size]: at most size − 1 bytes of the value, up to its first NUL (an
   * escaped \0); absent → empty.
   */
  getCStringAsReference(key: string, size: number): Uint8Array {
    const v = this.get(key);
    return v === undefined ? new Uint8Array(0) : cString(v, size).slice();
  }

  private static parseText(bytes: Uint8Array, capacity: number, start: number, end: number, asReference: boolean): Decoded<Dictionary> {
    if (start < 0 || end > bytes.length || start > end) return fail("dictionary range outside buffer");
    if (end - start >= capacity) return fail(`dictionary of ${end - start} bytes exceeds capacity ${capacity}`);
    const d = new Dictionary();
    let line = 0;
    let p = start;
    while (p < end) {
      let e = p;
      while (e < end && bytes[e] !== LF && bytes[e] !== CR) e++;
      if (e > p) {
        line++;
        const r = parseLine(bytes, p, e, line, asReference);
        if (typeof r === "string") return fail(r);
        if (r !== null) d.list.push(r);
      }
      p = e + 1;
    }
    return ok(d);
  }
}

const U64_MAX = 0xffffffffffffffffn;
const I64_MAX = 0x7fffffffffffffffn;
/** getUI/getI read the value into a char[128]. */
const INTEGER_BUFFER = 128;

/** The C string a value becomes in a char[size]: cut at size − 1 bytes and at the first NUL. */
function cString(v: Uint8Array, size: number): Uint8Array {
  const s = v.subarray(0, Math.max(0, size - 1));
  const nul = s.indexOf(0);
  return nul < 0 ? s : s.subarray(0, nul);
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** What strtoull/strtoll in base 16 (C locale) see: sign and the unbounded magnitude of the digits. */
function scanHex(s: Uint8Array): { negative: boolean; magnitude: bigint } {
  let i = 0;
  while (i < s.length && (s[i] === 0x20 || (s[i]! >= 0x09 && s[i]! <= 0x0d))) i++;
  let negative = false;
  if (s[i] === 0x2b || s[i] === 0x2d) negative = s[i++] === 0x2d;
  // "0x" followed by no hex digit reads as the 0 before the x: 0 either way
  if (s[i] === 0x30 && (s[i + 1] === 0x78 || s[i + 1] === 0x58)) i += 2;
  let magnitude = 0n;
  for (; i < s.length; i++) {
    const d = hexDigit(s[i]!);
    if (d < 0) break;
    magnitude = (magnitude << 4n) | BigInt(d);
  }
  return { negative, magnitude };
}


export function isValidKey(key: string): boolean {
  if (key.length === 0) return false;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || c === EQUALS) return false;
  }
  return true;
}

/** An entry, a reason to refuse the text, or (asReference) null for a line no lookup can match. */
function parseLine(b: Uint8Array, start: number, end: number, line: number, asReference: boolean): DictionaryEntry | string | null {
  let eq = start;
  while (eq < end && b[eq] !== EQUALS) eq++;
  if (eq === end) return asReference ? null : `dictionary line ${line} has no '='`;
  if (eq === start) return asReference ? null : `dictionary line ${line} has an empty key`;
  let key = "";
  for (let i = start; i < eq; i++) {
    const c = b[i]!;
    if (c < 0x21 || c > 0x7e) return asReference ? null : `dictionary line ${line}: key contains byte 0x${c.toString(16).padStart(2, "0")}`;
    key += String.fromCharCode(c);
  }
  const out = new Uint8Array(end - eq - 1);
  let n = 0;
  for (let i = eq + 1; i < end; i++) {
    let c = b[i]!;
    if (c === 0) return `dictionary line ${line} (${key}): NUL byte`;
    if (c === BACKSLASH) {
      if (++i === end) {
        if (asReference) break;
        return `dictionary line ${line} (${key}): dangling '\\' at end of value`;
      }
      c = b[i]!;
      if (c === 0) return `dictionary line ${line} (${key}): NUL byte`;
      if (c === 0x72) c = CR;
      else if (c === 0x6e) c = LF;
      else if (c === 0x30) c = 0;
      else if (c === 0x65) c = EQUALS;
    }
    out[n++] = c;
  }
  return { key, value: out.slice(0, n) };
}

function needsEscape(c: number): boolean {
  return c === 0 || c === CR || c === LF || c === BACKSLASH || c === EQUALS;
}

function encodedEntryLength(e: DictionaryEntry): number {
  let n = e.key.length + 1;
  for (const c of e.value) n += needsEscape(c) ? 2 : 1;
  return n;
}

function writeEntry(out: Uint8Array, p: number, e: DictionaryEntry): number {
  for (let i = 0; i < e.key.length; i++) out[p++] = e.key.charCodeAt(i);
  out[p++] = EQUALS;
  for (const c of e.value) {
    if (!needsEscape(c)) {
      out[p++] = c;
      continue;
    }
    out[p++] = BACKSLASH;
    out[p++] = c === 0 ? 0x30 : c === CR ? 0x72 : c === LF ? 0x6e : c === EQUALS ? 0x65 : BACKSLASH;
  }
  return p;
}

function parseHexValue(key: string, v: Uint8Array, signed: boolean): bigint {
  let i = 0;
  let neg = false;
  if (signed && v[0] === 0x2d) {
    neg = true;
    i = 1;
  }
  const digits = v.length - i;
  if (digits < 1 || digits > 16) throw new DictionaryValueError(`${key}: expected 1..16 hex digits, got ${v.length} bytes`);
  let r = 0n;
  for (; i < v.length; i++) {
    const c = v[i]!;
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
    if (d < 0) throw new DictionaryValueError(`${key}: non-hex character in integer value`);
    r = (r << 4n) | BigInt(d);
  }
  if (signed && r > 0x7fffffffffffffffn + (neg ? 1n : 0n)) throw new DictionaryValueError(`${key}: value out of int64 range`);
  return neg ? -r : r;
}
