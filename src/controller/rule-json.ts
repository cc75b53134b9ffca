/**
 * Network rules in the controller's JSON form (`{"type":"MATCH_ETHERTYPE","etherType":2048,
 * "not":true}`) <-> the binary rule entries of a NetworkConfig `R` field and of Capabilities
 * (spec 7.7). Parsing validates every field and yields both the wire bytes and the normalised
 * JSON the reference controller stores (all fields present, "not"/"or" always written).
 */

import type { JsonObject, JsonValue } from "../service/local-conf.ts";
import { FieldError, isJsonObject, readBool, readInt, UINT32_MAX } from "./json-fields.ts";
import { inetAddressFromString, ipToString } from "../vl1/inet-address.ts";

export interface ParsedRule {
  /** Type byte: bits 0..5 type, 0x40 OR, 0x80 NOT. */
  readonly t: number;
  /** Field bytes (length = the entry's length byte). */
  readonly data: Uint8Array;
  /** Normalised JSON as stored in the network record. */
  readonly json: JsonObject;
}

type Kind = "none" | "fwd" | "redirect" | "zt" | "u16" | "u8" | "mac" | "ipv4" | "ipv6" | "tos" | "icmp" | "range16" | "characteristics" | "random" | "tag" | "intRange";

/** JSON type name -> [type code, field kind, JSON field name for single-value kinds]. */
const TYPES: Record<string, readonly [number, Kind, string?]> = {
  ACTION_DROP: [0, "none"],
  ACTION_ACCEPT: [1, "none"],
  ACTION_TEE: [2, "fwd"],
  ACTION_WATCH: [3, "fwd"],
  ACTION_REDIRECT: [4, "redirect"],
  ACTION_BREAK: [5, "none"],
  MATCH_SOURCE_ZEROTIER_ADDRESS: [24, "zt"],
  MATCH_DEST_ZEROTIER_ADDRESS: [25, "zt"],
  MATCH_VLAN_ID: [26, "u16", "vlanId"],
  MATCH_VLAN_PCP: [27, "u8", "vlanPcp"],
  MATCH_VLAN_DEI: [28, "u8", "vlanDei"],
  MATCH_MAC_SOURCE: [29, "mac"],
  MATCH_MAC_DEST: [30, "mac"],
  MATCH_IPV4_SOURCE: [31, "ipv4"],
  MATCH_IPV4_DEST: [32, "ipv4"],
  MATCH_IPV6_SOURCE: [33, "ipv6"],
  MATCH_IPV6_DEST: [34, "ipv6"],
  MATCH_IP_TOS: [35, "tos"],
  MATCH_IP_PROTOCOL: [36, "u8", "ipProtocol"],
  MATCH_ETHERTYPE: [37, "u16", "etherType"],
  MATCH_ICMP: [38, "icmp"],
  MATCH_IP_SOURCE_PORT_RANGE: [39, "range16"],
  MATCH_IP_DEST_PORT_RANGE: [40, "range16"],
  MATCH_CHARACTERISTICS: [41, "characteristics"],
  MATCH_FRAME_SIZE_RANGE: [42, "range16"],
  MATCH_RANDOM: [43, "random"],
  MATCH_TAGS_DIFFERENCE: [44, "tag"],
  MATCH_TAGS_BITWISE_AND: [45, "tag"],
  MATCH_TAGS_BITWISE_OR: [46, "tag"],
  MATCH_TAGS_BITWISE_XOR: [47, "tag"],
  MATCH_TAGS_EQUAL: [48, "tag"],
  MATCH_TAG_SENDER: [49, "tag"],
  MATCH_TAG_RECEIVER: [50, "tag"],
  // The reference names this one without the MATCH_ prefix in JSON.
  INTEGER_RANGE: [51, "intRange"],
};

const HEX64_MAX = 0xffffffffffffffffn;

/** Parse and validate one rule object. Throws FieldError. */
export function parseRule(v: JsonValue, field: string): ParsedRule {
  if (!isJsonObject(v)) throw new FieldError(`${field} must be an object`);
  const typeName = v.type;
  if (typeof typeName !== "string") throw new FieldError(`${field}.type must be a string`);
  const spec = TYPES[typeName];
  if (spec === undefined) throw new FieldError(`${field}.type "${typeName}" is not a known rule type`);
  const [code, kind, name] = spec;
  const not = v.not === undefined || v.not === null ? false : readBool(v.not, `${field}.not`);
  const or = v.or === undefined || v.or === null ? false : readBool(v.or, `${field}.or`);
  const json: JsonObject = { type: typeName };
  const int = (key: string, max: number, dflt = 0): number =>
    v[key] === undefined || v[key] === null ? dflt : readInt(v[key], `${field}.${key}`, 0, max);
  let data: Uint8Array;
  const dv = (n: number) => {
    data = new Uint8Array(n);
    return new DataView(data.buffer);
  };
  switch (kind) {
    case "none":
      data = new Uint8Array(0);
      break;
    case "fwd":
    case "redirect": {
      const address = readAddressField(v.address, `${field}.address`);
      const flags = int("flags", UINT32_MAX);
      const length = kind === "fwd" ? int("length", 0xffff) : 0;
      const d = dv(14);
      d.setBigUint64(0, BigInt(`0x${address}`));
      d.setUint32(8, flags);
      d.setUint16(12, length);
      json.address = address;
      json.flags = flags;
      if (kind === "fwd") json.length = length;
      break;
    }
    case "zt": {
      const zt = readAddressField(v.zt, `${field}.zt`);
      data = hexBytes(zt);
      json.zt = zt;
      break;
    }
    case "u16":
    case "u8": {
      const x = int(name!, kind === "u16" ? 0xffff : 0xff);
      const d = dv(kind === "u16" ? 2 : 1);
      if (kind === "u16") d.setUint16(0, x);
      else d.setUint8(0, x);
      json[name!] = x;
      break;
    }
    case "mac": {
      const mac = v.mac;
      const clean = typeof mac === "string" ? mac.replace(/[:-]/g, "").toLowerCase() : "";
      if (!/^[0-9a-f]{12}$/.test(clean)) throw new FieldError(`${field}.mac must be a MAC address like "02:00:00:00:00:01"`);
      data = hexBytes(clean);
      json.mac = clean.match(/../g)!.join(":");
      break;
    }
    case "ipv4":
    case "ipv6": {
      const ip = typeof v.ip === "string" ? inetAddressFromString(v.ip.includes("/") ? v.ip : `${v.ip}/${kind === "ipv4" ? 32 : 128}`) : null;
      const fam = kind === "ipv4" ? 4 : 6;
      if (ip === null || ip.family !== fam || ip.port > (fam === 4 ? 32 : 128)) {
        throw new FieldError(`${field}.ip must be an IPv${fam} "address/bits"`);
      }
      data = new Uint8Array(ip.ip.length + 1);
      data.set(ip.ip, 0);
      data[ip.ip.length] = ip.port;
      json.ip = `${ipToString(ip)}/${ip.port}`;
      break;
    }
    case "tos": {
      const mask = int("mask", 0xff);
      const start = int("start", 0xff);
      const end = int("end", 0xff);
      data = Uint8Array.of(mask, start, end);
      Object.assign(json, { mask, start, end });
      break;
    }
    case "icmp": {
      const icmpType = int("icmpType", 0xff);
      const hasCode = v.icmpCode !== undefined && v.icmpCode !== null;
      const icmpCode = hasCode ? readInt(v.icmpCode, `${field}.icmpCode`, 0, 0xff) : null;
      data = Uint8Array.of(icmpType, icmpCode ?? 0, hasCode ? 1 : 0);
      Object.assign(json, { icmpType, icmpCode });
      break;
    }
    case "range16": {
      const start = int("start", 0xffff);
      const end = int("end", 0xffff, start);
      if (end < start) throw new FieldError(`${field}: end must not be below start`);
      const d = dv(4);
      d.setUint16(0, start);
      d.setUint16(2, end);
      Object.assign(json, { start, end });
      break;
    }
    case "characteristics": {
      const mask = v.mask === undefined || v.mask === null ? 0n : readU64(v.mask, `${field}.mask`);
      const d = dv(8);
      d.setBigUint64(0, mask);
      json.mask = mask.toString(16).padStart(16, "0");
      break;
    }
    case "random": {
      const probability = int("probability", UINT32_MAX);
      dv(4).setUint32(0, probability);
      json.probability = probability;
      break;
    }
    case "tag": {
      const id = int("id", UINT32_MAX);
      const value = int("value", UINT32_MAX);
      const d = dv(8);
      d.setUint32(0, id);
      d.setUint32(4, value);
      Object.assign(json, { id, value });
      break;
    }
    case "intRange": {
      const start = v.start === undefined || v.start === null ? 0n : readU64(v.start, `${field}.start`);
      const end = v.end === undefined || v.end === null ? start : readU64(v.end, `${field}.end`);
      if (end < start || end - start > BigInt(UINT32_MAX)) throw new FieldError(`${field}: end must be within start..start+2^32-1`);
      const idx = int("idx", 0xffff);
      const bits = v.bits === undefined || v.bits === null ? 1 : readInt(v.bits, `${field}.bits`, 1, 64);
      const little = v.little === undefined || v.little === null ? false : readBool(v.little, `${field}.little`);
      const d = dv(19);
      d.setBigUint64(0, start);
      d.setBigUint64(8, end);
      d.setUint16(16, idx);
      d.setUint8(18, (little ? 0x80 : 0) | (bits - 1));
      Object.assign(json, { start: hex16(start), end: hex16(end), idx, little, bits });
      break;
    }
  }
  json.not = not;
  json.or = or;
  return { t: code | (not ? 0x80 : 0) | (or ? 0x40 : 0), data: data!, json };
}

/** Parse an array of rules; `max` is the reference's table limit. */
export function parseRules(v: JsonValue | undefined, field: string, max: number): ParsedRule[] {
  if (!Array.isArray(v)) throw new FieldError(`${field} must be an array`);
  if (v.length > max) throw new FieldError(`${field} may hold at most ${max} rules`);
  return v.map((r, i) => parseRule(r, `${field}[${i}]`));
}

/** Rule entries as the `R` field of a NetworkConfig / the rule block of a Capability (spec 7.7). */
export function encodeRules(rules: readonly ParsedRule[]): Uint8Array {
  let n = 0;
  for (const r of rules) n += 2 + r.data.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const r of rules) {
    out[o++] = r.t;
    out[o++] = r.data.length;
    out.set(r.data, o);
    o += r.data.length;
  }
  return out;
}

/** The "accept everything" table: one ACTION_ACCEPT. */
export function acceptAllRule(): ParsedRule {
  return parseRule({ type: "ACTION_ACCEPT" }, "rule");
}

function readAddressField(v: JsonValue | undefined, field: string): string {
  if (typeof v !== "string" || !/^[0-9a-fA-F]{10}$/.test(v)) throw new FieldError(`${field} must be a 10-digit hex address`);
  return v.toLowerCase();
}

/** A 64-bit value given as a JSON integer or a hex string (how the reference writes them). */
function readU64(v: JsonValue, field: string): bigint {
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v) || v < 0) throw new FieldError(`${field} must be a non-negative integer or a hex string`);
    return BigInt(v);
  }
  if (typeof v === "string" && /^(0x)?[0-9a-fA-F]{1,16}$/.test(v)) {
    const x = BigInt(v.startsWith("0x") ? v : `0x${v}`);
    if (x <= HEX64_MAX) return x;
  }
  throw new FieldError(`${field} must be a non-negative integer or up to 16 hex digits`);
}

function hex16(x: bigint): string {
  return x.toString(16).padStart(16, "0");
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}
