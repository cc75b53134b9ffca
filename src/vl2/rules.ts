/**
 * Rule table entries (spec 7.7) and their binary form, used in the netconf `R` key and inside
 * Capabilities. Each entry is a MATCH or an ACTION; byte 0 holds the type in bits 0..5, OR in
 * bit 6 and NOT in bit 7, then a field length and the field.
 *
 * Serialization mirrors what 1.14 writes: types it does not know (and PRIORITY, whose bucket 1.14
 * never puts on the wire) are written with an empty field.
 */
import { ByteReader, ByteWriter, DecodeError } from "../util/bytes.ts";
import type { Address } from "../vl1/address.ts";
import { readAddress40, writeAddress40 } from "./credentials/credential.ts";
import { type Mac, readMac, writeMac } from "./mac.ts";
import { type Decoded, RefusedValueError, fail, guard, ok } from "./result.ts";

export const MAX_NETWORK_RULES = 1024;
export const MAX_CAPABILITY_RULES = 64;
/** Types 0..15 are actions, 24..63 matches (ZT_NETWORK_RULE_ACTION__MAX_ID). */
export const ACTION_MAX_TYPE = 15;

export const RULE_NOT = 0x80;
export const RULE_OR = 0x40;

export const RuleType = {
  ACTION_DROP: 0,
  ACTION_ACCEPT: 1,
  ACTION_TEE: 2,
  ACTION_WATCH: 3,
  ACTION_REDIRECT: 4,
  ACTION_BREAK: 5,
  ACTION_PRIORITY: 6,
  MATCH_SOURCE_ZEROTIER_ADDRESS: 24,
  MATCH_DEST_ZEROTIER_ADDRESS: 25,
  MATCH_VLAN_ID: 26,
  MATCH_VLAN_PCP: 27,
  MATCH_VLAN_DEI: 28,
  MATCH_MAC_SOURCE: 29,
  MATCH_MAC_DEST: 30,
  MATCH_IPV4_SOURCE: 31,
  MATCH_IPV4_DEST: 32,
  MATCH_IPV6_SOURCE: 33,
  MATCH_IPV6_DEST: 34,
  MATCH_IP_TOS: 35,
  MATCH_IP_PROTOCOL: 36,
  MATCH_ETHERTYPE: 37,
  MATCH_ICMP: 38,
  MATCH_IP_SOURCE_PORT_RANGE: 39,
  MATCH_IP_DEST_PORT_RANGE: 40,
  MATCH_CHARACTERISTICS: 41,
  MATCH_FRAME_SIZE_RANGE: 42,
  MATCH_RANDOM: 43,
  MATCH_TAGS_DIFFERENCE: 44,
  MATCH_TAGS_BITWISE_AND: 45,
  MATCH_TAGS_BITWISE_OR: 46,
  MATCH_TAGS_BITWISE_XOR: 47,
  MATCH_TAGS_EQUAL: 48,
  MATCH_TAG_SENDER: 49,
  MATCH_TAG_RECEIVER: 50,
  MATCH_INTEGER_RANGE: 51,
} as const;
export type RuleTypeName = keyof typeof RuleType;

/** Packet characteristic bits for MATCH_CHARACTERISTICS (low 12 bits are TCP flags). */
export const Characteristic = {
  INBOUND: 0x8000000000000000n,
  MULTICAST: 0x4000000000000000n,
  BROADCAST: 0x2000000000000000n,
  SENDER_IP_AUTHENTICATED: 0x1000000000000000n,
  SENDER_MAC_AUTHENTICATED: 0x0800000000000000n,
  TCP_FIN: 0x001n,
  TCP_SYN: 0x002n,
  TCP_RST: 0x004n,
  TCP_PSH: 0x008n,
  TCP_ACK: 0x010n,
  TCP_URG: 0x020n,
  TCP_ECE: 0x040n,
  TCP_CWR: 0x080n,
  TCP_NS: 0x100n,
} as const;

type Flags = { readonly not: boolean; readonly or: boolean };

export type Rule = Flags &
  (
    | { readonly type: 0 | 1 | 5 }
    | {
        readonly type: 2 | 3 | 4;
        readonly address: Address;
        readonly flags: number;
        readonly length: number;
        /**
         * Bits 40..63 of the 64-bit target field when they are not zero: 1.14 acts on the low 40
         * bits (`address`) but keeps these and writes them back, and so do we.
         */
        readonly addressHighBits?: number;
      }
    | { readonly type: 6; readonly qosBucket: number }
    | { readonly type: 24 | 25; readonly address: Address }
    | { readonly type: 26; readonly vlanId: number }
    | { readonly type: 27 | 28; readonly value: number }
    | { readonly type: 29 | 30; readonly mac: Mac }
    | { readonly type: 31 | 32 | 33 | 34; readonly ip: Uint8Array; readonly prefixBits: number }
    | { readonly type: 35; readonly mask: number; readonly low: number; readonly high: number }
    | { readonly type: 36; readonly protocol: number }
    | { readonly type: 37; readonly etherType: number }
    | { readonly type: 38; readonly icmpType: number; readonly icmpCode: number; readonly icmpFlags: number }
    | { readonly type: 39 | 40 | 42; readonly low: number; readonly high: number }
    | { readonly type: 41; readonly characteristics: bigint }
    | { readonly type: 43; readonly probability: number }
    | { readonly type: 44 | 45 | 46 | 47 | 48 | 49 | 50; readonly tagId: number; readonly tagValue: number }
    | { readonly type: 51; readonly start: bigint; readonly end: bigint; readonly index: number; readonly format: number }
    | { readonly type: UnknownRuleType }
  );

/** A type code 1.14 does not define: skipped by length on read, written with an empty field. */
export type UnknownRuleType = 7 | 8 | 9 | 10 | 11 | 12 | 13 | 14 | 15 | 16 | 17 | 18 | 19 | 20 | 21 | 22 | 23 | 52 | 53 | 54 | 55 | 56 | 57 | 58 | 59 | 60 | 61 | 62 | 63;

export function isActionType(type: number): boolean {
  return type <= ACTION_MAX_TYPE;
}

/** Field length per known type (what 1.14 writes); undefined for unknown types. */
function fieldLength(type: number): number | undefined {
  switch (type) {
    case 0: case 1: case 5: case 6: return 0;
    case 2: case 3: case 4: return 14;
    case 24: case 25: return 5;
    case 26: return 2;
    case 27: case 28: case 36: return 1;
    case 29: case 30: return 6;
    case 31: case 32: return 5;
    case 33: case 34: return 17;
    case 35: case 38: return 3;
    case 37: return 2;
    case 39: case 40: case 42: case 43: return 4;
    case 41: case 44: case 45: case 46: case 47: case 48: case 49: case 50: return 8;
    case 51: return 19;
    default: return undefined;
  }
}

/** The single "accept everything" table (`01 00`). */
export const ACCEPT_ALL: readonly Rule[] = [{ type: 1, not: false, or: false }];

// ---- writing ----

export function writeRules(w: ByteWriter, rules: readonly Rule[]): void {
  for (const r of rules) writeRule(w, r);
}

export function encodeRules(rules: readonly Rule[]): Uint8Array {
  const w = new ByteWriter(rules.length * 8 + 2);
  writeRules(w, rules);
  return w.finish();
}

function writeRule(w: ByteWriter, r: Rule): void {
  w.u8((r.type & 0x3f) | (r.not ? RULE_NOT : 0) | (r.or ? RULE_OR : 0));
  const len = r.type === 6 ? 0 : (fieldLength(r.type) ?? 0);
  w.u8(len);
  switch (r.type) {
    case 2: case 3: case 4:
      w.u64((BigInt(r.addressHighBits ?? 0) << 40n) | BigInt(r.address)).u32(r.flags).u16(r.length);
      break;
    case 24: case 25:
      writeAddress40(w, r.address);
      break;
    case 26:
      w.u16(r.vlanId);
      break;
    case 27: case 28:
      w.u8(r.value);
      break;
    case 29: case 30: {
      const b = new Uint8Array(6);
      writeMac(b, 0, r.mac);
      w.bytes(b);
      break;
    }
    case 31: case 32: case 33: case 34:
      w.bytes(r.ip).u8(r.prefixBits);
      break;
    case 35:
      w.u8(r.mask).u8(r.low).u8(r.high);
      break;
    case 36:
      w.u8(r.protocol);
      break;
    case 37:
      w.u16(r.etherType);
      break;
    case 38:
      w.u8(r.icmpType).u8(r.icmpCode).u8(r.icmpFlags);
      break;
    case 39: case 40: case 42:
      w.u16(r.low).u16(r.high);
      break;
    case 41:
      w.u64(r.characteristics);
      break;
    case 43:
      w.u32(r.probability);
      break;
    case 44: case 45: case 46: case 47: case 48: case 49: case 50:
      w.u32(r.tagId).u32(r.tagValue);
      break;
    case 51:
      // 1.14 keeps end as start + 32-bit delta; it writes the absolute end
      w.u64(r.start).u64(r.end).u16(r.index).u8(r.format);
      break;
    default:
      break;
  }
}

// ---- reading ----

/**
 * Reads rules as 1.14 does: up to `count` (or, if undefined, up to `max`) while bytes remain, so a
 * table longer than `max` is cut there. Each rule's field is read where it starts, bounded by the
 * end of `r` and not by its length byte (1.14 reads a field too short for its type from the bytes
 * after it), then skipped by that length byte, possibly past the end, where the caller's next read
 * fails. Throws DecodeError where 1.14 throws, RefusedValueError for the values we refuse.
 */
export function readRules(r: ByteReader, count: number | undefined, max: number): Rule[] {
  const out: Rule[] = [];
  const limit = count === undefined ? max : Math.min(count, max);
  while (out.length < limit && r.pos < r.end) out.push(readRule(r));
  return out;
}

function readRule(r: ByteReader): Rule {
  const b0 = r.u8("rule type");
  const len = r.u8("rule field length");
  const type = b0 & 0x3f;
  const f: Flags = { not: (b0 & RULE_NOT) !== 0, or: (b0 & RULE_OR) !== 0 };
  const fr = new ByteReader(r.buf, r.pos, r.end);
  r.pos += len;
  if (fieldLength(type) === undefined) return { ...f, type: type as UnknownRuleType };
  const what = `rule type ${type} field`;
  switch (type) {
    case 0: case 1: case 5:
      return { ...f, type };
    case 6:
      return { ...f, type, qosBucket: 0 };
    case 2: case 3: case 4: {
      const wide = fr.u64(what);
      const address = Number(wide & 0xffffffffffn);
      const high = Number(wide >> 40n);
      const rule = { ...f, type, address, flags: fr.u32(what), length: fr.u16(what) };
      return high === 0 ? rule : { ...rule, addressHighBits: high };
    }
    case 24: case 25:
      return { ...f, type, address: readAddress40(fr, what) };
    case 26:
      return { ...f, type, vlanId: fr.u16(what) };
    case 27: case 28:
      return { ...f, type, value: fr.u8(what) };
    case 29: case 30:
      return { ...f, type, mac: readMac(fr.bytes(6, what), 0) };
    case 31: case 32:
    case 33: case 34: {
      const ip = fr.bytes(type <= 32 ? 4 : 16, what);
      const prefixBits = fr.u8(what);
      // 1.14's matcher shifts by (width − bits): larger prefixes are undefined behaviour there,
      // and its controller clamps them, so no valid table has one
      if (prefixBits > ip.length * 8) throw new RefusedValueError(`rule type ${type}: prefix /${prefixBits} longer than the address`);
      return { ...f, type, ip, prefixBits };
    }
    case 35:
      return { ...f, type, mask: fr.u8(what), low: fr.u8(what), high: fr.u8(what) };
    case 36:
      return { ...f, type, protocol: fr.u8(what) };
    case 37:
      return { ...f, type, etherType: fr.u16(what) };
    case 38:
      return { ...f, type, icmpType: fr.u8(what), icmpCode: fr.u8(what), icmpFlags: fr.u8(what) };
    case 39: case 40: case 42:
      return { ...f, type, low: fr.u16(what), high: fr.u16(what) };
    case 41:
      return { ...f, type, characteristics: fr.u64(what) };
    case 43:
      return { ...f, type, probability: fr.u32(what) };
    case 44: case 45: case 46: case 47: case 48: case 49: case 50:
      return { ...f, type, tagId: fr.u32(what), tagValue: fr.u32(what) };
    case 51: {
      const start = fr.u64(what);
      // the reference stores end as a 32-bit delta from start
      const end = start + ((fr.u64(what) - start) & 0xffffffffn);
      return { ...f, type, start, end: end & 0xffffffffffffffffn, index: fr.u16(what), format: fr.u8(what) };
    }
    default:
      throw new DecodeError(`rule type ${type} unhandled`);
  }
}

/** A whole table; unlike 1.14 (which ignores them), rules beyond `max` are refused. */
export function decodeRules(buf: Uint8Array, max = MAX_NETWORK_RULES): Decoded<Rule[]> {
  return guard("rules", () => {
    const r = new ByteReader(buf);
    const rules = readRules(r, undefined, max);
    return r.pos < r.end ? fail(`rules: more than ${max} rules`) : ok(rules);
  });
}
