/**
 * Single-point edits of real network configs, for the focused tests of how 1.14.1 reads each
 * key (network-config-as-reference.test.ts). Every input is rebuilt from its name, so the same
 * inputs can be fed to the 1.14 harness (test/vl2/reference/harness.cpp) that recorded their
 * expected results.
 */
import { Dictionary, NETWORK_CONFIG_DICT_CAPACITY } from "../../src/vl2/dictionary.ts";
import { fixtureBytes } from "./fixtures.ts";
import { richConfig } from "./netconf-corpus.ts";

const latin1 = (b: Uint8Array): string => Buffer.from(b).toString("latin1");
const bytesOf = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, "latin1"));
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));
const repeat = (b: Uint8Array, n: number): Uint8Array => {
  const out = new Uint8Array(b.length * n);
  for (let i = 0; i < n; i++) out.set(b, i * b.length);
  return out;
};
const concat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));

/** The stored member config (keys v nwid ts ctmd r id tt tl f ml t n mtu C COO RT I R DNS ssov ssoe). */
export const memberConf = (): Uint8Array => fixtureBytes("netconf", "member.conf");

function entries(base: Uint8Array): Dictionary {
  const d = Dictionary.parse(base, NETWORK_CONFIG_DICT_CAPACITY);
  if (!d.ok) throw new Error(d.error);
  return d.value;
}

/** `base` with key's value replaced (escaped as 1.14 writes), removed (null) or appended. */
export function withValues(edits: Record<string, Uint8Array | string | null>, base = memberConf()): Uint8Array {
  const d = entries(base);
  const out = new Dictionary();
  for (const e of d.entries) {
    if (!(e.key in edits)) out.add(e.key, e.value);
    else if (edits[e.key] !== null) out.add(e.key, edits[e.key]!);
  }
  for (const [k, v] of Object.entries(edits)) if (!d.has(k) && v !== null) out.add(k, v);
  return out.toBytes();
}

/** The member config's text with raw text (not escaped) inserted before the line of `key`. */
function insertBefore(key: string, raw: string): Uint8Array {
  const text = latin1(memberConf());
  const at = text.indexOf(`\n${key}=`) + 1;
  return bytesOf(text.slice(0, at) + raw + text.slice(at));
}

/** The member config's text with the whole line of `key` replaced by raw text (not escaped). */
function replaceLine(key: string, raw: string): Uint8Array {
  return bytesOf(latin1(memberConf()).split("\n").map((l) => (l.startsWith(`${key}=`) ? raw : l)).join("\n"));
}

const member = (key: string): Uint8Array => entries(memberConf()).get(key)!;
const rich = (key: string): Uint8Array => entries(richConfig(0)).get(key)!;

const ROUTE = hex("04 ac1c0000 0010  00  0000 0000");
const STATIC_IP = hex("04 ac1c00f5 0010");
const SERVER = hex("04 0a000035 0000");

export const EDITS: Record<string, () => Uint8Array> = {
  // ---- dictionary text ----
  "NUL ends the text": () => insertBefore("ml", "\0"),
  "line without '='": () => insertBefore("n", "not a key value line\n"),
  "line with an empty key": () => insertBefore("n", "=5\n"),
  "line whose key is not printable ASCII": () => insertBefore("n", "\xc3\xa9=1\n n=evil\n"),
  "backslash at the end of a line": () => replaceLine("n", "n=zt\\e\\"),
  // ---- integers ----
  "integer with spaces and 0x": () => replaceLine("ts", "ts= 0x1F"),
  "integer followed by junk": () => replaceLine("ts", "ts=12xz"),
  "integer without digits": () => replaceLine("r", "r=zz"),
  "integer, empty value": () => replaceLine("mtu", "mtu="),
  "integer, escaped NUL value": () => replaceLine("mtu", "mtu=\\0"),
  "integer past 64 bits saturates": () => replaceLine("ts", "ts=1ffffffffffffffff"),
  "negative timestamp": () => replaceLine("ts", "ts=-5"),
  "32-bit fields cut to 32 bits": () => withValues({ ml: "-1", tl: "123456789", t: "1fffffffe", mtu: "100002800" }),
  "unknown network type": () => withValues({ t: "5" }),
  "issued-to wider than 40 bits": () => withValues({ id: "ffffffddb1763ec1" }),
  "issued-to with zero low 40 bits": () => withValues({ id: "10000000000" }),
  "version with junk after it": () => withValues({ v: "6zz" }),
  "revision beyond 2^53": () => withValues({ r: "20000000000001" }),
  // ---- texts ----
  "name longer than 127 bytes": () => withValues({ n: "x".repeat(200) }),
  "name with an escaped NUL": () => withValues({ n: "zt\0lab" }),
  "name not UTF-8": () => withValues({ n: Uint8Array.of(0x7a, 0xff, 0x74) }),
  // ---- SSO ----
  "SSO v0 with a negative expiry": () => withValues({ ssoe: "1", aurl: "https://a", aexpt: "-1" }),
  "SSO v0 with an expiry past int64": () => withValues({ ssoe: "1", aexpt: "8000000000000000" }),
  "SSO of an unknown version": () => withValues({ ssov: "2", ssoe: "1", aurl: "https://a" }),
  "SSO v1 with an empty-looking provider": () => withValues({ ssov: "1", ssoe: "1", iurl: "https://i", ssop: "\0x" }),
  "SSO v1 without a provider": () => withValues({ ssov: "1", ssoe: "1", iurl: "https://i" }),
  // ---- COM, CoO ----
  "COM with bytes after it": () => withValues({ C: concat(member("C"), hex("deadbeef")) }),
  "COM present but empty": () => withValues({ C: "" }),
  "COM without qualifiers": () => withValues({ C: hex("01 0000 0000000000") }),
  "five CoOs": () => withValues({ COO: repeat(member("COO"), 5) }),
  "CoO that fails to deserialize": () => withValues({ COO: member("COO").subarray(0, 100) }),
  // the member's CoO owns one IPv4 (a 17-byte thing at offset 30); this one says 17 things and holds 16
  "CoO counting more than 16 things": () => {
    const coo = member("COO");
    return withValues({ COO: concat(coo.subarray(0, 28), hex("0011"), repeat(coo.subarray(30, 47), 16), coo.subarray(47)) });
  },
  // ---- specialists, routes, static IPs ----
  "specialists with a partial entry": () => withValues({ S: hex("0000020000112233 445566") }),
  "route with reserved address types": () => withValues({ RT: concat(hex("01 000000000000"), hex("03 0002 abcd"), hex("0001 0002")) }),
  "129 routes": () => withValues({ RT: repeat(ROUTE, 129) }),
  "33 static IPs": () => withValues({ I: repeat(STATIC_IP, 33) }),
  "static IP without an address": () => withValues({ I: concat(STATIC_IP, hex("00")) }),
  // ---- DNS ----
  "DNS with bytes after the domain's NUL": () => withValues({ DNS: concat(bytesOf("corp\0junk"), new Uint8Array(119), SERVER, hex("000000")) }),
  "DNS with an empty slot before a server": () => withValues({ DNS: concat(bytesOf("corp"), new Uint8Array(124), hex("00"), SERVER, hex("0000")) }),
  "DNS with a reserved address type and trailing bytes": () => withValues({ DNS: concat(new Uint8Array(128), hex("02 010203040506"), SERVER, hex("00 00 ffff")) }),
  "DNS whose domain fills the field": () => withValues({ DNS: concat(new Uint8Array(128).fill(0x61), hex("00000000")) }),
  "DNS too short for its servers": () => withValues({ DNS: concat(new Uint8Array(128), hex("00")) }),
  // ---- rules ----
  "rule field shorter than its type reads the next bytes": () => withValues({ R: hex("25 00 0100") }),
  "rule field length past the end": () => withValues({ R: hex("01 05") }),
  "rule field past the end": () => withValues({ R: hex("25 02 08") }),
  "1025 rules": () => withValues({ R: repeat(hex("0100"), 1025) }),
  "TEE target wider than 40 bits": () => withValues({ R: hex("02 0e ffff001122334455 00000001 0080 0100") }),
  "IPv4 rule prefix longer than the address": () => withValues({ R: hex("1f 05 0a000000 21 0100") }),
  // ---- tags, capabilities (from a rich config: tags 0 and 7, capability 3) ----
  "tag list with a partial tag after it": () => withValues({ TAG: concat(rich("TAG"), hex("3bc65e2b50b151d2 0000")) }, richConfig(0)),
  "tag list whose second tag is cut": () => withValues({ TAG: rich("TAG").subarray(0, rich("TAG").length - 3) }, richConfig(0)),
  "capability list whose only capability is cut": () => withValues({ CAP: rich("CAP").subarray(0, 30) }, richConfig(0)),
  "129 tags": () => withValues({ TAG: repeat(rich("TAG").subarray(0, rich("TAG").length / 2), 129) }, richConfig(0)),
};
