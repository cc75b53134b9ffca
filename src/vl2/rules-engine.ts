/**
 * The rules engine (spec 7.7) as 1.14 evaluates it (`_doZtFilter`), over a description of one
 * Ethernet frame. Pure: everything it needs about the network (our tags, the peer's tags, who
 * owns which addresses, randomness) comes through a RuleContext, and the outcome is written
 * into a caller-owned object, so evaluating a frame allocates nothing (except for the rare
 * MATCH_INTEGER_RANGE, which needs 64-bit arithmetic).
 */
import type { Address } from "../vl1/address.ts";
import { type Mac, isBroadcastMac, isMulticastMac } from "./mac.ts";
import { ACTION_MAX_TYPE, type Rule } from "./rules.ts";

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;

export const FilterResult = {
  NO_MATCH: 0,
  DROP: 1,
  REDIRECT: 2,
  ACCEPT: 3,
  /** We are a TEE/REDIRECT/WATCH target: accept despite MAC/address checks (inbound). */
  SUPER_ACCEPT: 4,
} as const;
export type FilterResult = (typeof FilterResult)[keyof typeof FilterResult];

/** One frame as the filter sees it; callers reuse one instance. `frame[start, end)` is the Ethernet payload. */
export interface FrameInfo {
  inbound: boolean;
  ztSource: Address;
  /** 0 when not a unicast to a known member. */
  ztDest: Address;
  macSource: Mac;
  macDest: Mac;
  etherType: number;
  vlanId: number;
  frame: Uint8Array;
  start: number;
  end: number;
}

export interface RuleContext {
  /** Our own address (TEE/REDIRECT targets equal to it mean "we are the target"). */
  readonly self: Address;
  /** Network config flags (0x8: unsupported matches match). */
  readonly networkFlags: number;
  /** Value of our own tag with this id, or undefined. */
  localTag(id: number): number | undefined;
  /** Value of the peer's tag (valid, from its credentials), or undefined if we do not know it. */
  remoteTag(id: number): number | undefined;
  /**
   * Does the frame's sender hold a certificate of ownership for this IP (4 or 16 bytes at
   * buf[off..])? Inbound: the peer's CoOs; outbound: ours.
   */
  senderOwnsIp(buf: Uint8Array, off: number, len: number): boolean;
  senderOwnsMac(mac: Mac): boolean;
  /** Uniform random unsigned 32-bit integer (MATCH_RANDOM). */
  random(): number;
}

/** Written by evaluateRules. */
export class RulesOutcome {
  result: FilterResult = FilterResult.NO_MATCH;
  /** Destination after a REDIRECT (else the frame's ztDest). */
  ztDest: Address = 0;
  /** TEE/WATCH target (0 = none), bytes of the frame to copy, WATCH or TEE. */
  ccTo: Address = 0;
  ccLength = 0;
  ccWatch = false;
  /** PRIORITY bucket (0..8; 4 = default). */
  qosBucket = 4;
}

// characteristic bits split in 32-bit halves (the high bits of the 64-bit mask)
const CH_INBOUND = 0x80000000;
const CH_MULTICAST = 0x40000000;
const CH_BROADCAST = 0x20000000;
const CH_SENDER_IP_AUTH = 0x10000000;
const CH_SENDER_MAC_AUTH = 0x08000000;
const FLAG_UNSUPPORTED_MATCHES = 0x8;

/** Cache of the 64-bit characteristic masks split into numbers (rules are immutable). */
const maskHalves = new WeakMap<Rule, [number, number]>();

function halves(r: Rule & { characteristics: bigint }): [number, number] {
  let h = maskHalves.get(r);
  if (h === undefined) {
    h = [Number((r.characteristics >> 32n) & 0xffffffffn), Number(r.characteristics & 0xffffffffn)];
    maskHalves.set(r, h);
  }
  return h;
}

/** Protocol found by the last ipv6PayloadOffset call (a second return value without allocating). */
let v6Proto = 0;

/** Walks IPv6 extension headers the way 1.14 does; returns the payload offset relative to s, or -1. */
function ipv6PayloadOffset(b: Uint8Array, s: number, len: number): number {
  if (len < 40) return -1;
  let pos = 40;
  let proto = b[s + 6]!;
  while (pos <= len) {
    if (proto === 0 || proto === 43 || proto === 60 || proto === 135) {
      if (pos + 8 > len) return -1;
      proto = b[s + pos]!;
      pos += b[s + pos + 1]! * 8 + 8;
    } else {
      v6Proto = proto;
      return pos;
    }
  }
  return -1;
}

/** Prefix match of the rule's IPv4 network against 4 bytes at b[off]. */
function ipv4Contains(net: Uint8Array, bits: number, b: Uint8Array, off: number): boolean {
  if (bits === 0) return true;
  const n = bits >= 32 ? 32 : bits;
  const a = ((net[0]! << 24) | (net[1]! << 16) | (net[2]! << 8) | net[3]!) >>> 0;
  const x = ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
  return n === 32 ? a === x : a >>> (32 - n) === x >>> (32 - n);
}

/** 1.14 compares (address AND mask) with the rule's address as written (not masked). */
function ipv6Contains(net: Uint8Array, bits: number, b: Uint8Array, off: number): boolean {
  const n = bits > 128 ? 128 : bits;
  for (let i = 0; i < 16; i++) {
    const left = n - i * 8;
    const m = left >= 8 ? 0xff : left <= 0 ? 0 : (0xff << (8 - left)) & 0xff;
    if ((b[off + i]! & m) !== net[i]) return false;
  }
  return true;
}

/**
 * Evaluates one rule table (the network's, or a capability's) for a frame. Returns the result and
 * fills `out`.
 */
export function evaluateRules(rules: readonly Rule[], f: FrameInfo, ctx: RuleContext, out: RulesOutcome): FilterResult {
  out.ztDest = f.ztDest;
  out.ccTo = 0;
  out.ccLength = 0;
  out.ccWatch = false;
  let superAccept = false;
  let set = true;
  let skipDrop = false;
  const b = f.frame;
  const s = f.start;
  const len = f.end - f.start;
  const et = f.etherType;
  for (let rn = 0; rn < rules.length; rn++) {
    const r = rules[rn]!;
    if (r.type <= ACTION_MAX_TYPE) {
      if (set) {
        switch (r.type) {
          case 6:
            out.qosBucket = r.qosBucket <= 8 ? r.qosBucket : 4;
            return (out.result = FilterResult.ACCEPT);
          case 0:
            if (skipDrop) {
              skipDrop = false;
              continue;
            }
            return (out.result = FilterResult.DROP);
          case 1:
            return (out.result = superAccept ? FilterResult.SUPER_ACCEPT : FilterResult.ACCEPT);
          case 2:
          case 3:
          case 4: {
            const fwd = r.address;
            // order matters: "to us" wins over "to the destination" for inbound frames
            if (fwd === f.ztSource) continue;
            if (fwd === ctx.self) {
              if (f.inbound) return (out.result = FilterResult.SUPER_ACCEPT);
              continue;
            }
            if (fwd === out.ztDest) continue;
            if (r.type === 4) {
              out.ztDest = fwd;
              return (out.result = FilterResult.REDIRECT);
            }
            out.ccTo = fwd;
            out.ccLength = r.length !== 0 && r.length < len ? r.length : len;
            out.ccWatch = r.type === 3;
            continue;
          }
          case 5:
            return (out.result = FilterResult.NO_MATCH);
          default:
            continue;
        }
      }
      if (f.inbound && (r.type === 2 || r.type === 3 || r.type === 4) && r.address === ctx.self) superAccept = true;
      set = true;
      continue;
    }

    // an AND with a set already false cannot become true: skip evaluating it
    if (!set && !r.or) continue;
    const not = r.not;
    let m: boolean;
    switch (r.type) {
      case 24:
        m = r.address === f.ztSource;
        break;
      case 25:
        m = r.address === out.ztDest;
        break;
      case 26:
        m = r.vlanId === f.vlanId;
        break;
      case 27:
      case 28:
        // PCP/DEI are not parsed by 1.14: it matches as if the frame carried 0
        m = r.value === 0;
        break;
      case 29:
        m = r.mac === f.macSource;
        break;
      case 30:
        m = r.mac === f.macDest;
        break;
      case 31:
      case 32:
        m = et === ETHERTYPE_IPV4 && len >= 20 ? ipv4Contains(r.ip, r.prefixBits, b, s + (r.type === 31 ? 12 : 16)) : not;
        break;
      case 33:
      case 34:
        m = et === ETHERTYPE_IPV6 && len >= 40 ? ipv6Contains(r.ip, r.prefixBits, b, s + (r.type === 33 ? 8 : 24)) : not;
        break;
      case 35:
        if (et === ETHERTYPE_IPV4 && len >= 20) {
          const tos = b[s + 1]! & r.mask;
          m = tos >= r.low && tos <= r.high;
        } else if (et === ETHERTYPE_IPV6 && len >= 40) {
          const tc = (((b[s]! << 4) & 0xf0) | ((b[s + 1]! >> 4) & 0x0f)) & r.mask;
          m = tc >= r.low && tc <= r.high;
        } else m = not;
        break;
      case 36:
        if (et === ETHERTYPE_IPV4 && len >= 20) m = r.protocol === b[s + 9];
        else if (et === ETHERTYPE_IPV6) m = ipv6PayloadOffset(b, s, len) >= 0 ? r.protocol === v6Proto : not;
        else m = not;
        break;
      case 37:
        m = r.etherType === et;
        break;
      case 38:
        m = matchIcmp(r.icmpType, r.icmpCode, r.icmpFlags, et, b, s, len, not);
        break;
      case 39:
      case 40:
        m = matchPort(r.type === 40, r.low, r.high, et, b, s, len, not);
        break;
      case 41: {
        const [mh, ml] = halves(r);
        m = ((characteristicsHigh(f, ctx) & mh) | (tcpFlags(et, b, s, len) & ml)) !== 0;
        break;
      }
      case 42:
        m = len >= r.low && len <= r.high;
        break;
      case 43:
        m = ctx.random() >>> 0 <= r.probability;
        break;
      case 44:
      case 45:
      case 46:
      case 47:
      case 48: {
        const lt = ctx.localTag(r.tagId);
        if (lt === undefined) m = not;
        else {
          const rt = ctx.remoteTag(r.tagId);
          if (rt !== undefined) m = compareTags(r.type, lt, rt, r.tagValue);
          else if (f.inbound && !superAccept) m = not;
          else {
            // we may not know the receiver's tags yet: lenient outbound, it filters on its inbound side
            skipDrop = true;
            m = !not;
          }
        }
        break;
      }
      case 49:
      case 50: {
        if (superAccept) {
          skipDrop = true;
          m = !not;
        } else if ((r.type === 49 && f.inbound) || (r.type === 50 && !f.inbound)) {
          const rt = ctx.remoteTag(r.tagId);
          if (rt !== undefined) m = rt === r.tagValue;
          else if (r.type === 50) {
            skipDrop = true;
            m = !not;
          } else m = not;
        } else {
          const lt = ctx.localTag(r.tagId);
          m = lt !== undefined ? lt === r.tagValue : not;
        }
        break;
      }
      case 51:
        m = matchIntegerRange(r.start, r.end, r.index, r.format, b, s, len);
        break;
      default:
        m = (ctx.networkFlags & FLAG_UNSUPPORTED_MATCHES) !== 0;
        break;
    }
    if (r.or) set = set || m !== not;
    else set = set && m !== not;
  }
  return (out.result = FilterResult.NO_MATCH);
}

function compareTags(type: number, lt: number, rt: number, v: number): boolean {
  switch (type) {
    case 44:
      return (lt > rt ? lt - rt : rt - lt) <= v;
    case 45:
      return (lt & rt) >>> 0 === v;
    case 46:
      return (lt | rt) >>> 0 === v;
    case 47:
      return (lt ^ rt) >>> 0 === v;
    default:
      return lt === v && rt === v;
  }
}

function matchIcmp(type: number, code: number, flags: number, et: number, b: Uint8Array, s: number, len: number, not: boolean): boolean {
  let at = -1;
  if (et === ETHERTYPE_IPV4 && len >= 20) {
    if (b[s + 9] !== 0x01) return not;
    const ihl = (b[s]! & 0xf) * 4;
    if (len < ihl + 2) return not;
    at = ihl;
  } else if (et === ETHERTYPE_IPV6) {
    const p = ipv6PayloadOffset(b, s, len);
    if (p < 0 || v6Proto !== 0x3a || len < p + 2) return not;
    at = p;
  } else return not;
  if (b[s + at] !== type) return not;
  return (flags & 0x01) !== 0 ? b[s + at + 1] === code : !not;
}

function matchPort(dest: boolean, low: number, high: number, et: number, b: Uint8Array, s: number, len: number, not: boolean): boolean {
  let at: number;
  let proto: number;
  if (et === ETHERTYPE_IPV4 && len >= 20) {
    at = (b[s]! & 0xf) * 4;
    proto = b[s + 9]!;
  } else if (et === ETHERTYPE_IPV6) {
    at = ipv6PayloadOffset(b, s, len);
    if (at < 0) return not;
    proto = v6Proto;
  } else return not;
  let p = -1;
  if ((proto === 6 || proto === 17 || proto === 0x84 || proto === 0x88) && len > at + 4) {
    const o = s + at + (dest ? 2 : 0);
    p = (b[o]! << 8) | b[o + 1]!;
  }
  // 1.14 quirk: for IPv6 a port of 0 never matches
  const found = et === ETHERTYPE_IPV6 ? p > 0 : p >= 0;
  return found && p >= low && p <= high;
}

/** High 32 bits of the packet characteristics: direction, multicast/broadcast, sender authentication. */
function characteristicsHigh(f: FrameInfo, ctx: RuleContext): number {
  let cf = f.inbound ? CH_INBOUND : 0;
  if (isMulticastMac(f.macDest)) cf |= CH_MULTICAST;
  if (isBroadcastMac(f.macDest)) cf |= CH_BROADCAST;
  const b = f.frame;
  const s = f.start;
  const len = f.end - f.start;
  let ipOff = -1;
  let ipLen = 0;
  if (f.etherType === ETHERTYPE_IPV4 && len >= 20) {
    ipOff = s + 12;
    ipLen = 4;
  } else if (f.etherType === ETHERTYPE_IPV6 && len >= 40) {
    if (len >= 40 + 8 + 16 && b[s + 6] === 0x3a && (b[s + 40] === 0x87 || b[s + 40] === 0x88)) {
      // neighbor solicitations carry no usable source address and count as authenticated;
      // advertisements are checked on their target address
      if (b[s + 40] === 0x87) cf |= CH_SENDER_IP_AUTH;
      else {
        ipOff = s + 48;
        ipLen = 16;
      }
    } else {
      ipOff = s + 8;
      ipLen = 16;
    }
  } else if (f.etherType === ETHERTYPE_ARP && len >= 28) {
    ipOff = s + 14;
    ipLen = 4;
  }
  if (ipOff >= 0 && ctx.senderOwnsIp(b, ipOff, ipLen)) cf |= CH_SENDER_IP_AUTH;
  if (ctx.senderOwnsMac(f.macSource)) cf |= CH_SENDER_MAC_AUTH;
  return cf >>> 0;
}

/** Low 12 bits: TCP flags (NS..FIN) of a TCP segment, else 0. */
function tcpFlags(et: number, b: Uint8Array, s: number, len: number): number {
  let at = -1;
  if (et === ETHERTYPE_IPV4 && len >= 20 && b[s + 9] === 6) at = (b[s]! & 0xf) * 4;
  else if (et === ETHERTYPE_IPV6) {
    const p = ipv6PayloadOffset(b, s, len);
    if (p >= 0 && v6Proto === 6 && len > p + 14) at = p;
  }
  if (at < 0) return 0;
  // 1.14 does not check the IPv4 segment length here; bytes beyond the frame read as 0
  const lo = at + 13 < len ? b[s + at + 13]! : 0;
  const hi = at + 12 < len ? b[s + at + 12]! & 0x0f : 0;
  return lo | (hi << 8);
}

function matchIntegerRange(start: bigint, end: bigint, index: number, format: number, b: Uint8Array, s: number, len: number): boolean {
  const bits = (format & 63) + 1;
  const bytes = Math.ceil(bits / 8);
  let v = 0n;
  if ((format & 0x80) === 0) {
    // 1.14 starts big-endian reads at index + (8 - bytes); kept for identical results
    let idx = index + (8 - bytes);
    const eof = idx + bytes;
    if (eof <= len) while (idx < eof) v = (v << 8n) | BigInt(b[s + idx++]!);
    v &= 0xffffffffffffffffn >> BigInt(64 - bits);
  } else {
    let idx = index;
    const eof = idx + bytes;
    if (eof <= len) while (idx < eof) v = (v >> 8n) | (BigInt(b[s + idx++]!) << 56n);
    v >>= BigInt(64 - bits);
  }
  return v >= start && v <= end;
}
