/**
 * Frame filtering on send and receive as 1.14 does it (Network::filterOutgoingPacket /
 * filterIncomingPacket): the network's rule table first; if it ends without a decision, each
 * capability (ours when sending, the sender's when receiving) in turn, the first that accepts
 * wins; otherwise the frame is dropped. TEE/WATCH copies and REDIRECTs are reported to the
 * caller, which sends them as EXT_FRAMEs with the flags below.
 */
import type { Address } from "../vl1/address.ts";
import { FilterResult, type FrameInfo, type RuleContext, RulesOutcome, evaluateRules } from "./rules-engine.ts";
import { type Rule, RuleType } from "./rules.ts";

/** EXT_FRAME flag bytes 1.14 uses for the copies the rules ask for. */
export const ExtFrameFlag = {
  OUTBOUND_TEE: 0x02,
  OUTBOUND_WATCH: 0x16,
  OUTBOUND_REDIRECT: 0x04,
  INBOUND_TEE: 0x08,
  INBOUND_WATCH: 0x1c,
  INBOUND_REDIRECT: 0x0a,
} as const;

export interface TeeCopy {
  to: Address;
  /** Bytes of the Ethernet payload to copy. */
  length: number;
  /** EXT_FRAME flags for the copy. */
  extFrameFlags: number;
}

/** Filled by filterOutbound / filterInbound; reuse one per network. */
export class FilterDecision {
  /** 0 drop, 1 accept, 2 super-accept (we are a TEE/REDIRECT target: deliver despite address checks). */
  accept: 0 | 1 | 2 = 0;
  /** Deliver locally / send to the original destination. False when dropped or redirected. */
  deliver = false;
  /** Non-zero: send the frame as EXT_FRAME with redirectFlags to this address instead. */
  redirectTo: Address = 0;
  redirectFlags = 0;
  /** Copies to send (from the main table, then from the accepting capability). */
  readonly tees: TeeCopy[] = [
    { to: 0, length: 0, extFrameFlags: 0 },
    { to: 0, length: 0, extFrameFlags: 0 },
  ];
  teeCount = 0;
  /** Index of the capability that accepted, or -1. */
  capability = -1;
  qosBucket = 4;
  /** Why the frame was dropped ("rules", "capabilities"); for counted, logged drops. */
  dropReason = "";
  readonly main = new RulesOutcome();
  readonly cap = new RulesOutcome();
}

function addTee(d: FilterDecision, o: RulesOutcome, inbound: boolean): void {
  if (o.ccTo === 0) return;
  const t = d.tees[d.teeCount++]!;
  t.to = o.ccTo;
  t.length = o.ccLength;
  t.extFrameFlags = inbound ? (o.ccWatch ? ExtFrameFlag.INBOUND_WATCH : ExtFrameFlag.INBOUND_TEE) : o.ccWatch ? ExtFrameFlag.OUTBOUND_WATCH : ExtFrameFlag.OUTBOUND_TEE;
}

/**
 * Whether a rule table accepts every frame at its first rule (an action first runs at once: a
 * network's default table, `accept;`). Then the decision needs no evaluation and no capability:
 * 1.14 evaluates capabilities only when the table ends without a decision.
 */
export function acceptsEveryFrame(rules: readonly Rule[]): boolean {
  return rules.length !== 0 && rules[0]!.type === RuleType.ACTION_ACCEPT;
}

function reset(d: FilterDecision): void {
  d.accept = 0;
  d.deliver = false;
  d.redirectTo = 0;
  d.redirectFlags = 0;
  d.teeCount = 0;
  d.capability = -1;
  d.qosBucket = 4;
  d.dropReason = "";
  d.main.qosBucket = 4;
  d.cap.qosBucket = 4;
}

/**
 * Filters a frame. `frame.inbound` selects the direction; `capabilities` are ours (outbound)
 * or the sender's valid ones (inbound). `noTee` suppresses outbound copies: 1.14 sets it when it
 * filters again per recipient (each multicast recipient, each active bridge a unicast is
 * replicated to) after the frame as a whole was filtered with copies.
 */
export function filterFrame(
  rules: readonly Rule[],
  capabilities: readonly (readonly Rule[])[],
  frame: FrameInfo,
  ctx: RuleContext,
  d: FilterDecision,
  noTee = false,
): FilterDecision {
  reset(d);
  if (acceptsEveryFrame(rules)) {
    // what the evaluation below decides for such a table, without touching the rules engine: on
    // a quiet service its code and state are cold, and each frame of sparse traffic paid for it
    d.accept = 1;
    d.deliver = true;
    d.main.ztDest = frame.ztDest;
    d.main.ccTo = 0;
    d.main.ccLength = 0;
    d.main.ccWatch = false;
    d.main.result = FilterResult.ACCEPT;
    return d;
  }
  const inbound = frame.inbound;
  let finalDest = frame.ztDest;
  let accept: 0 | 1 | 2 = 0;
  const res = evaluateRules(rules, frame, ctx, d.main);
  d.qosBucket = d.main.qosBucket;
  if (res === FilterResult.NO_MATCH) {
    for (let c = 0; c < capabilities.length; c++) {
      const cr = evaluateRules(capabilities[c]!, frame, ctx, d.cap);
      if (cr === FilterResult.NO_MATCH || cr === FilterResult.DROP) continue;
      accept = inbound && cr === FilterResult.SUPER_ACCEPT ? 2 : 1;
      d.capability = c;
      finalDest = d.cap.ztDest;
      if (!noTee || inbound) addTee(d, d.cap, inbound);
      break;
    }
    if (accept === 0) d.dropReason = capabilities.length > 0 ? "no rule or capability accepted" : "no rule accepted";
  } else if (res === FilterResult.DROP) {
    d.dropReason = "dropped by rule";
  } else {
    accept = res === FilterResult.SUPER_ACCEPT ? 2 : 1;
    finalDest = d.main.ztDest;
  }
  d.accept = accept;
  if (accept === 0) return d;
  // same order as 1.14: the accepting capability's copy, then the main table's
  if (!noTee || inbound) addTee(d, d.main, inbound);
  if (finalDest !== frame.ztDest && finalDest !== 0) {
    d.redirectTo = finalDest;
    d.redirectFlags = inbound ? ExtFrameFlag.INBOUND_REDIRECT : ExtFrameFlag.OUTBOUND_REDIRECT;
    d.deliver = false;
    return d;
  }
  d.deliver = true;
  return d;
}
