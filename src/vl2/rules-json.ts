/**
 * Rules in the controller's JSON form (`rules` of a network, `capabilities[].rules`), as
 * zerotier-one's controller reads (_parseRule) and renders (_renderRule) them. Parsing is strict
 * (wrong types or out-of-range values are errors naming the field, for HTTP 400s); rendering
 * matches the reference: actions carry no not/or keys, addresses are 10 hex digits, IPs "ip/bits".
 *
 * Deviation: 1.14's parser forgets the type bits for "INTEGER_RANGE" (the rule becomes a DROP);
 * we build the integer-range match the JSON describes.
 *
 * Strict reading (`{ strict: true }`, what the controller API accepts in a POST) refuses what 1.14
 * would read but silently change: numbers written as strings, short addresses, MACs with stray
 * characters, prefixes wider than the family, ranges ending below their start, and an IP match
 * without "/bits" (1.14 reads that as /0, a match-everything rule nobody means to write). Without
 * it, rules are read as 1.14 reads a controller.d.
 */
import { addressFromString, addressToString } from "../vl1/address.ts";
import { inetAddressFromString, ipToString } from "../vl1/inet-address.ts";
import { macFromString, macToString } from "./mac.ts";
import { type Decoded, fail, ok } from "./result.ts";
import { type Rule, RuleType } from "./rules.ts";

export type RuleJson = { [key: string]: string | number | boolean | null };

const TAG_TYPES: Record<string, 44 | 45 | 46 | 47 | 48 | 49 | 50> = {
  MATCH_TAGS_DIFFERENCE: 44,
  MATCH_TAGS_BITWISE_AND: 45,
  MATCH_TAGS_BITWISE_OR: 46,
  MATCH_TAGS_BITWISE_XOR: 47,
  MATCH_TAGS_EQUAL: 48,
  MATCH_TAG_SENDER: 49,
  MATCH_TAG_RECEIVER: 50,
};

class JsonRuleError extends Error {}

export interface RuleJsonReading {
  /** Refuse values 1.14 would coerce (see the module comment); default false. */
  readonly strict?: boolean;
  /** Where the rule sits (e.g. "rules[3]"): errors then name the field as `${path}.key`. */
  readonly path?: string;
}

/** Every `type` name ruleFromJson understands. */
export const RULE_JSON_TYPES: ReadonlySet<string> = new Set([
  ...Object.keys(RuleType).filter((k) => k !== "ACTION_PRIORITY"),
  // 1.14 writes the integer-range match without its MATCH_ prefix
  "INTEGER_RANGE",
]);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Integer field within [0, max]: a number, or (lenient only) a decimal string as OSUtils::jsonInt accepts. */
function intField(o: Record<string, unknown>, key: string, dfl: number, max: number, strict: boolean): number {
  const v = o[key];
  if (v === undefined || v === null) return dfl;
  const n = typeof v === "number" ? v : !strict && typeof v === "string" && /^[0-9]+$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new JsonRuleError(`${key} must be an integer`);
  if (n < 0 || n > max) throw new JsonRuleError(`${key} must be between 0 and ${max}`);
  return n;
}

function bool(o: Record<string, unknown>, key: string): boolean {
  const v = o[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") throw new JsonRuleError(`${key} must be a boolean`);
  return v;
}

function str(o: Record<string, unknown>, key: string): string {
  const v = o[key];
  if (typeof v !== "string") throw new JsonRuleError(`${key} must be a string`);
  return v;
}

function address(o: Record<string, unknown>, key: string, strict: boolean): number {
  const s = str(o, key);
  // 1.14 parses any hex prefix; a short address is almost certainly a typo
  const a = strict && s.length !== 10 ? null : addressFromString(s.padStart(10, "0"));
  if (a === null) throw new JsonRuleError(`${key} must be a 10-digit hex ZeroTier address`);
  return a;
}

/** A 64-bit value given as a JSON number or a hex string (characteristics, integer ranges). */
function u64(o: Record<string, unknown>, key: string): bigint {
  const v = o[key];
  if (v === undefined || v === null) return 0n;
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  // 1.14 reads these with strtoull(…, 16), which also takes a "0x" prefix
  if (typeof v === "string" && /^(0x)?[0-9a-fA-F]{1,16}$/.test(v)) return BigInt(v.startsWith("0x") ? v : `0x${v}`);
  throw new JsonRuleError(`${key} must be a non-negative integer or up to 16 hex digits`);
}

function ipField(o: Record<string, unknown>, family: 4 | 6, strict: boolean): { ip: Uint8Array; prefixBits: number } {
  const s = str(o, "ip");
  const a = inetAddressFromString(s);
  if (a === null || a.family !== family) throw new JsonRuleError(`ip must be an IPv${family} address${strict ? ' written "address/bits"' : " with optional /bits"}`);
  const max = family === 4 ? 32 : 128;
  if (strict && !s.includes("/")) {
    throw new JsonRuleError(`ip "${s}" needs "/bits" (e.g. "${s}/${max}" for one address): zerotier-one reads a bare address as /0, which matches every address`);
  }
  if (strict && a.port > max) throw new JsonRuleError(`ip "${s}": an IPv${family} prefix has at most ${max} bits`);
  // no "/bits" means 0 bits (matches everything), as in 1.14; 1.14 clamps wider prefixes
  return { ip: a.ip, prefixBits: Math.min(a.port, max) };
}

/** start/end of a range; end defaults to start. */
function range(o: Record<string, unknown>, max: number, strict: boolean): { low: number; high: number } {
  const low = intField(o, "start", 0, max, strict);
  const high = intField(o, "end", low, max, strict);
  if (strict && high < low) throw new JsonRuleError("end must not be below start");
  return { low, high };
}

/** Parses one rule object of the controller JSON. */
export function ruleFromJson(v: unknown, reading: RuleJsonReading = {}): Decoded<Rule> {
  if (!isRecord(v)) return fail("rule must be an object");
  const strict = reading.strict === true;
  const int = (o: Record<string, unknown>, key: string, dfl: number, max: number): number => intField(o, key, dfl, max, strict);
  try {
    const f = { not: bool(v, "not"), or: bool(v, "or") };
    const t = v.type;
    if (typeof t !== "string") return fail("rule type must be a string");
    switch (t) {
      case "ACTION_DROP":
        return ok({ type: 0, ...f });
      case "ACTION_ACCEPT":
        return ok({ type: 1, ...f });
      case "ACTION_BREAK":
        return ok({ type: 5, ...f });
      case "ACTION_TEE":
      case "ACTION_WATCH":
      case "ACTION_REDIRECT":
        return ok({
          type: RuleType[t],
          ...f,
          address: address(v, "address", strict),
          flags: int(v, "flags", 0, 0xffffffff),
          length: t === "ACTION_REDIRECT" ? 0 : int(v, "length", 0, 0xffff),
        });
      case "MATCH_SOURCE_ZEROTIER_ADDRESS":
      case "MATCH_DEST_ZEROTIER_ADDRESS":
        return ok({ type: RuleType[t], ...f, address: address(v, "zt", strict) });
      case "MATCH_VLAN_ID":
        return ok({ type: 26, ...f, vlanId: int(v, "vlanId", 0, 0xffff) });
      case "MATCH_VLAN_PCP":
        return ok({ type: 27, ...f, value: int(v, "vlanPcp", 0, 0xff) });
      case "MATCH_VLAN_DEI":
        return ok({ type: 28, ...f, value: int(v, "vlanDei", 0, 0xff) });
      case "MATCH_MAC_SOURCE":
      case "MATCH_MAC_DEST": {
        // 1.14 drops every non-hex character; strict allows only ":" or "-" between the digits
        const raw = str(v, "mac").replace(strict ? /[:-]/g : /[^0-9a-fA-F]/g, "");
        const mac = /^[0-9a-fA-F]{12}$/.test(raw) ? macFromString(raw.match(/../g)!.join(":")) : null;
        if (mac === null) throw new JsonRuleError("mac must be a MAC address");
        return ok({ type: RuleType[t], ...f, mac });
      }
      case "MATCH_IPV4_SOURCE":
      case "MATCH_IPV4_DEST":
        return ok({ type: RuleType[t], ...f, ...ipField(v, 4, strict) });
      case "MATCH_IPV6_SOURCE":
      case "MATCH_IPV6_DEST":
        return ok({ type: RuleType[t], ...f, ...ipField(v, 6, strict) });
      case "MATCH_IP_TOS":
        return ok({ type: 35, ...f, mask: int(v, "mask", 0, 0xff), low: int(v, "start", 0, 0xff), high: int(v, "end", 0, 0xff) });
      case "MATCH_IP_PROTOCOL":
        return ok({ type: 36, ...f, protocol: int(v, "ipProtocol", 0, 0xff) });
      case "MATCH_ETHERTYPE":
        return ok({ type: 37, ...f, etherType: int(v, "etherType", 0, 0xffff) });
      case "MATCH_ICMP": {
        const hasCode = v.icmpCode !== undefined && v.icmpCode !== null;
        return ok({ type: 38, ...f, icmpType: int(v, "icmpType", 0, 0xff), icmpCode: hasCode ? int(v, "icmpCode", 0, 0xff) : 0, icmpFlags: hasCode ? 1 : 0 });
      }
      case "MATCH_IP_SOURCE_PORT_RANGE":
      case "MATCH_IP_DEST_PORT_RANGE":
      case "MATCH_FRAME_SIZE_RANGE":
        return ok({ type: RuleType[t], ...f, ...range(v, 0xffff, strict) });
      case "MATCH_CHARACTERISTICS":
        return ok({ type: 41, ...f, characteristics: u64(v, "mask") });
      case "MATCH_RANDOM":
        return ok({ type: 43, ...f, probability: int(v, "probability", 0, 0xffffffff) });
      case "INTEGER_RANGE":
      case "MATCH_INTEGER_RANGE": {
        const start = u64(v, "start");
        const end = v.end === undefined || v.end === null ? start : u64(v, "end");
        if (end < start || end - start > 0xffffffffn) throw new JsonRuleError("end must be within 2^32 above start");
        const bits = int(v, "bits", 1, 64);
        if (bits < 1) throw new JsonRuleError("bits must be 1..64");
        return ok({ type: 51, ...f, start, end, index: int(v, "idx", 0, 0xffff), format: (bool(v, "little") ? 0x80 : 0) | (bits - 1) });
      }
      default: {
        const tagType = TAG_TYPES[t];
        if (tagType === undefined) return fail(`unknown rule type ${JSON.stringify(t)}`);
        return ok({ type: tagType, ...f, tagId: int(v, "id", 0, 0xffffffff), tagValue: int(v, "value", 0, 0xffffffff) });
      }
    }
  } catch (e) {
    // every JsonRuleError message starts with the key it is about
    if (e instanceof JsonRuleError) return fail(reading.path === undefined ? `rule ${JSON.stringify(v.type)}: ${e.message}` : `${reading.path}.${e.message}`);
    throw e;
  }
}

/** Parses a rules array; the first bad entry is the error. */
export function rulesFromJson(v: unknown, reading: RuleJsonReading = {}): Decoded<Rule[]> {
  if (!Array.isArray(v)) return fail("rules must be an array");
  const out: Rule[] = [];
  for (let i = 0; i < v.length; i++) {
    const r = ruleFromJson(v[i], reading);
    if (!r.ok) return fail(`rules[${i}]: ${r.error}`);
    out.push(r.value);
  }
  return ok(out);
}

const hex16 = (v: bigint): string => v.toString(16).padStart(16, "0");
const NAMES = new Map<number, string>(Object.entries(RuleType).map(([k, n]) => [n, k]));

/** Renders a rule as 1.14's controller does. Unknown types (and PRIORITY) render as null. */
export function ruleToJson(r: Rule): RuleJson | null {
  const flags = { not: r.not, or: r.or };
  switch (r.type) {
    case 0:
    case 1:
    case 5:
      return { type: NAMES.get(r.type)! };
    case 2:
    case 3:
      return { type: NAMES.get(r.type)!, address: addressToString(r.address), flags: r.flags, length: r.length };
    case 4:
      return { type: "ACTION_REDIRECT", address: addressToString(r.address), flags: r.flags };
    case 24:
    case 25:
      return { type: NAMES.get(r.type)!, zt: addressToString(r.address), ...flags };
    case 26:
      return { type: "MATCH_VLAN_ID", vlanId: r.vlanId, ...flags };
    case 27:
      return { type: "MATCH_VLAN_PCP", vlanPcp: r.value, ...flags };
    case 28:
      return { type: "MATCH_VLAN_DEI", vlanDei: r.value, ...flags };
    case 29:
    case 30:
      return { type: NAMES.get(r.type)!, mac: macToString(r.mac), ...flags };
    case 31:
    case 32:
    case 33:
    case 34: {
      const family = r.type <= 32 ? 4 : 6;
      return { type: NAMES.get(r.type)!, ip: `${ipToString({ family, ip: r.ip, port: 0 })}/${r.prefixBits}`, ...flags };
    }
    case 35:
      return { type: "MATCH_IP_TOS", mask: r.mask, start: r.low, end: r.high, ...flags };
    case 36:
      return { type: "MATCH_IP_PROTOCOL", ipProtocol: r.protocol, ...flags };
    case 37:
      return { type: "MATCH_ETHERTYPE", etherType: r.etherType, ...flags };
    case 38:
      return { type: "MATCH_ICMP", icmpType: r.icmpType, icmpCode: (r.icmpFlags & 1) !== 0 ? r.icmpCode : null, ...flags };
    case 39:
    case 40:
    case 42:
      return { type: NAMES.get(r.type)!, start: r.low, end: r.high, ...flags };
    case 41:
      return { type: "MATCH_CHARACTERISTICS", mask: hex16(r.characteristics), ...flags };
    case 43:
      return { type: "MATCH_RANDOM", probability: r.probability, ...flags };
    case 44:
    case 45:
    case 46:
    case 47:
    case 48:
    case 49:
    case 50:
      return { type: NAMES.get(r.type)!, id: r.tagId, value: r.tagValue, ...flags };
    case 51:
      return { type: "INTEGER_RANGE", start: hex16(r.start), end: hex16(r.end), idx: r.index, little: (r.format & 0x80) !== 0, bits: (r.format & 63) + 1, ...flags };
    default:
      return null;
  }
}
