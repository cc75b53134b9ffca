/**
 * IP endpoint (address + port) as ZeroTier serializes it (spec 4.1) and writes it as text
 * ("1.2.3.4/9993", "2001:db8::1/9993"). In network configs the port field carries a netmask
 * bit count instead; the codec does not care.
 */

import { compareBytes } from "../util/bytes.ts";

export type InetAddress =
  | { readonly family: 4; readonly ip: Uint8Array; readonly port: number }
  | { readonly family: 6; readonly ip: Uint8Array; readonly port: number };

const TYPE_NULL = 0x00;
const TYPE_ETHERNET = 0x01;
const TYPE_BLUETOOTH = 0x02;
const TYPE_OTHER = 0x03;
const TYPE_IPV4 = 0x04;
const TYPE_IPV6 = 0x06;

/**
 * Result of decoding one serialized InetAddress. `addr` is null for the null address and for
 * the reserved types the reference parser skips over; `length` is the bytes consumed.
 */
export type InetAddressDecode =
  | { readonly ok: true; readonly addr: InetAddress | null; readonly length: number }
  | { readonly ok: false; readonly error: string };

export function ipv4(a: number, b: number, c: number, d: number, port: number): InetAddress {
  return { family: 4, ip: Uint8Array.of(a, b, c, d), port };
}

/** Decodes a serialized InetAddress at buf[off..end). Never throws. */
export function decodeInetAddress(buf: Uint8Array, off: number, end: number = buf.length): InetAddressDecode {
  if (off >= end) return { ok: false, error: "truncated InetAddress: missing type byte" };
  const type = buf[off]!;
  const avail = end - off;
  switch (type) {
    case TYPE_NULL:
      return { ok: true, addr: null, length: 1 };
    case TYPE_ETHERNET:
    case TYPE_BLUETOOTH:
      if (avail < 7) return { ok: false, error: "truncated InetAddress (reserved type)" };
      return { ok: true, addr: null, length: 7 };
    case TYPE_OTHER: {
      if (avail < 3) return { ok: false, error: "truncated InetAddress (reserved type length)" };
      const len = (buf[off + 1]! << 8) | buf[off + 2]!;
      if (avail < 3 + len) return { ok: false, error: "truncated InetAddress (reserved type body)" };
      return { ok: true, addr: null, length: 3 + len };
    }
    case TYPE_IPV4:
      if (avail < 7) return { ok: false, error: "truncated IPv4 InetAddress" };
      return {
        ok: true,
        addr: { family: 4, ip: buf.slice(off + 1, off + 5), port: (buf[off + 5]! << 8) | buf[off + 6]! },
        length: 7,
      };
    case TYPE_IPV6:
      if (avail < 19) return { ok: false, error: "truncated IPv6 InetAddress" };
      return {
        ok: true,
        addr: { family: 6, ip: buf.slice(off + 1, off + 17), port: (buf[off + 17]! << 8) | buf[off + 18]! },
        length: 19,
      };
    default:
      return { ok: false, error: `invalid InetAddress type 0x${type.toString(16).padStart(2, "0")}` };
  }
}

export function inetAddressSerializedLength(addr: InetAddress | null): number {
  if (addr === null) return 1;
  return addr.family === 4 ? 7 : 19;
}

/** Writes the serialized form at buf[off]; returns bytes written. Caller guarantees room. */
export function encodeInetAddress(addr: InetAddress | null, buf: Uint8Array, off: number): number {
  if (addr === null) {
    buf[off] = TYPE_NULL;
    return 1;
  }
  buf[off] = addr.family === 4 ? TYPE_IPV4 : TYPE_IPV6;
  buf.set(addr.ip, off + 1);
  const p = off + 1 + addr.ip.length;
  buf[p] = (addr.port >>> 8) & 0xff;
  buf[p + 1] = addr.port & 0xff;
  return 1 + addr.ip.length + 2;
}

export function serializeInetAddress(addr: InetAddress | null): Uint8Array {
  const out = new Uint8Array(inetAddressSerializedLength(addr));
  encodeInetAddress(addr, out, 0);
  return out;
}

export function inetAddressEquals(a: InetAddress | null, b: InetAddress | null): boolean {
  if (a === null || b === null) return a === b;
  return a.family === b.family && a.port === b.port && compareBytes(a.ip, b.ip) === 0;
}

/**
 * Whether `net` (an address whose port field is a netmask bit count, as in network configs and
 * local.conf CIDRs) contains the IP of `addr` (its port ignored), as the reference's
 * InetAddress::containsAddress: same family, the first `bits` bits equal; 0 bits contain every
 * address of the family.
 */
export function cidrContains(net: InetAddress, addr: InetAddress): boolean {
  if (net.family !== addr.family) return false;
  const bits = Math.min(net.port, net.family === 4 ? 32 : 128);
  const whole = bits >>> 3;
  for (let i = 0; i < whole; i++) if (net.ip[i] !== addr.ip[i]) return false;
  const rest = bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (net.ip[whole]! & mask) === (addr.ip[whole]! & mask);
}

/**
 * Parses "ip/bits" (bits 0..32 for IPv4, 0..128 for IPv6) into an address whose port field holds
 * the bit count; a bare "ip" is a single host (/32 or /128). Returns null for anything else.
 */
export function cidrFromString(text: string): InetAddress | null {
  const a = inetAddressFromString(text.trim());
  if (a === null) return null;
  const max = a.family === 4 ? 32 : 128;
  if (!text.includes("/")) return { ...a, port: max };
  return a.port <= max ? a : null;
}

/**
 * The order zerotier-idtool genmoon sorts stable endpoints in (IPv4 before IPv6, then by port and
 * address as the reference compares its sockaddr fields on a little-endian host). Only cosmetic:
 * any order verifies, but matching it makes our moons byte-identical to the reference tool's.
 */
export function compareInetAddressLikeReference(a: InetAddress, b: InetAddress): number {
  if (a.family !== b.family) return a.family - b.family;
  const pa = swap16(a.port);
  const pb = swap16(b.port);
  if (pa !== pb) return pa - pb;
  if (a.family === 4) {
    // s_addr (network-order bytes) read as a little-endian integer: last byte most significant
    for (let i = 3; i >= 0; i--) {
      const d = a.ip[i]! - b.ip[i]!;
      if (d !== 0) return d;
    }
    return 0;
  }
  return compareBytes(a.ip, b.ip);
}

function swap16(v: number): number {
  return ((v & 0xff) << 8) | (v >>> 8);
}

// ---- text forms ----

/** IP text without port: dotted quad, or RFC 5952 IPv6 (as inet_ntop writes it). */
export function ipToString(addr: InetAddress): string {
  return addr.family === 4 ? addr.ip.join(".") : ipv6ToString(addr.ip);
}

/** "ip/port", the form ZeroTier uses in JSON, moons and the CLI. */
export function inetAddressToString(addr: InetAddress): string {
  return `${ipToString(addr)}/${addr.port}`;
}

/**
 * Parses "ip/port" or a bare "ip" (port 0). Strict: the whole text must be a valid IPv4 or IPv6
 * address and the port a decimal 0..65535. Returns null otherwise.
 */
export function inetAddressFromString(text: string): InetAddress | null {
  const slash = text.indexOf("/");
  const ipText = slash < 0 ? text : text.slice(0, slash);
  let port = 0;
  if (slash >= 0) {
    const portText = text.slice(slash + 1);
    if (!/^[0-9]{1,5}$/.test(portText)) return null;
    port = Number(portText);
    if (port > 65535) return null;
  }
  if (ipText.includes(":")) {
    const ip = parseIpv6(ipText);
    return ip === null ? null : { family: 6, ip, port };
  }
  const ip = parseIpv4(ipText);
  return ip === null ? null : { family: 4, ip, port };
}

export function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    // inet_pton rejects leading zeros (they would mean octal elsewhere)
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    out[i] = v;
  }
  return out;
}

export function parseIpv6(text: string): Uint8Array | null {
  if (text.length === 0 || text.length > 45) return null;
  const dbl = text.indexOf("::");
  if (dbl >= 0 && text.indexOf("::", dbl + 1) >= 0) return null;
  const head = dbl >= 0 ? text.slice(0, dbl) : text;
  const tail = dbl >= 0 ? text.slice(dbl + 2) : "";
  const headGroups = head.length > 0 ? head.split(":") : [];
  const tailGroups = tail.length > 0 ? tail.split(":") : [];
  const words: number[] = [];
  const tailWords: number[] = [];
  if (!parseGroups(headGroups, words, dbl < 0 && tailGroups.length === 0)) return null;
  if (!parseGroups(tailGroups, tailWords, true)) return null;
  const total = words.length + tailWords.length;
  if (dbl >= 0) {
    if (total > 7) return null;
    while (words.length + tailWords.length < 8) words.push(0);
  } else if (total !== 8) {
    return null;
  }
  words.push(...tailWords);
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = words[i]! >>> 8;
    out[2 * i + 1] = words[i]! & 0xff;
  }
  return out;
}

/** Parses hex groups; the last one may be a dotted IPv4 (two words) when it ends the address. */
function parseGroups(groups: string[], out: number[], lastMayBeIpv4: boolean): boolean {
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i]!;
    if (lastMayBeIpv4 && i === groups.length - 1 && g.includes(".")) {
      const v4 = parseIpv4(g);
      if (v4 === null) return false;
      out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      continue;
    }
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return false;
    out.push(parseInt(g, 16));
  }
  return true;
}

function ipv6ToString(ip: Uint8Array): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((ip[2 * i]! << 8) | ip[2 * i + 1]!);
  // longest run of >= 2 zero words is written as "::" (first such run on ties)
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestStart = -1;
  // IPv4-mapped (::ffff:a.b.c.d) is written with the dotted tail, as inet_ntop does
  const mapped = bestStart === 0 && bestLen === 5 && w[5] === 0xffff;
  const parts: string[] = [];
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      parts.push(i === 0 ? ":" : "");
      i += bestLen - 1;
      if (i === 7) parts.push("");
      continue;
    }
    if (mapped && i === 6) {
      parts.push(`${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}`);
      break;
    }
    parts.push(w[i]!.toString(16));
  }
  return parts.join(":");
}
