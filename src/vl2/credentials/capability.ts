/**
 * Capability (credential type 2, spec 6.9): a rule set a member may use beyond the network's base
 * rules, with a chain of custody (controller → member → …) where each holder signs the same
 * signing form. Controllers issue chains of length 1.
 */
import { ByteReader, ByteWriter, DecodeError } from "../../util/bytes.ts";
import type { Address } from "../../vl1/address.ts";
import type { Identity } from "../../vl1/identity.ts";
import { type NetworkId, controllerOf } from "../network-id.ts";
import { type Decoded, guard, ok } from "../result.ts";
import { MAX_CAPABILITY_RULES, type Rule, readRules, writeRules } from "../rules.ts";
import { readAddress40, readSignatureBlock, safeNumber, signingMessage, skipAdditionalFields, writeAddress40, writeSignatureBlock } from "./credential.ts";

export const MAX_CUSTODY_CHAIN_LENGTH = 7;

export interface CustodyEntry {
  readonly to: Address;
  readonly from: Address;
  readonly signature: Uint8Array | null;
}

export interface Capability {
  readonly networkId: NetworkId;
  readonly timestamp: number;
  readonly id: number;
  readonly rules: readonly Rule[];
  readonly maxCustodyChainLength: number;
  readonly custody: readonly CustodyEntry[];
}

export type CapabilityCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string; readonly whois?: Address };

function writeBody(w: ByteWriter, c: Capability): void {
  w.u64(c.networkId).u64(BigInt(c.timestamp)).u32(c.id).u16(c.rules.length);
  writeRules(w, c.rules);
  w.u8(c.maxCustodyChainLength);
}

/** What each custody entry signs (1.14's serialize(…, forSign)). */
export function capabilitySigningMessage(c: Capability): Uint8Array {
  return signingMessage((w) => writeBody(w, c));
}

/** Adds a custody entry from `from` (who must hold the private key) to `to`. */
export function addCustody(c: Capability, to: Address, from: Identity): Capability {
  if (c.custody.length >= Math.min(c.maxCustodyChainLength, MAX_CUSTODY_CHAIN_LENGTH)) throw new RangeError("custody chain full");
  const signature = from.sign(capabilitySigningMessage(c));
  return { ...c, custody: [...c.custody, { to, from: from.address, signature }] };
}

/** A capability as a controller issues it: chain length 1, one entry controller → member. */
export function issueCapability(
  c: { networkId: NetworkId; timestamp: number; id: number; rules: readonly Rule[] },
  member: Address,
  controller: Identity,
): Capability {
  if (c.rules.length > MAX_CAPABILITY_RULES) throw new RangeError(`at most ${MAX_CAPABILITY_RULES} rules per capability`);
  return addCustody({ ...c, maxCustodyChainLength: 1, custody: [] }, member, controller);
}

/**
 * Verifies the chain of custody: entry 0 from the controller, each later entry from the previous
 * holder, every signature valid. `lookup` returns a known identity or null (then `whois` says whom to ask).
 */
export function verifyCapability(c: Capability, lookup: (a: Address) => Identity | null): CapabilityCheck {
  if (c.maxCustodyChainLength < 1 || c.maxCustodyChainLength > MAX_CUSTODY_CHAIN_LENGTH) return { ok: false, reason: "bad custody chain length" };
  if (c.custody.length === 0) return { ok: false, reason: "capability has no custody entry" };
  const msg = capabilitySigningMessage(c);
  for (let i = 0; i < c.custody.length && i < c.maxCustodyChainLength; i++) {
    const e = c.custody[i]!;
    if (e.to === 0 || e.from === 0) return { ok: false, reason: `custody entry ${i} incomplete` };
    if (i === 0 && e.from !== controllerOf(c.networkId)) return { ok: false, reason: "first custody entry not from the network's controller" };
    if (i > 0 && e.from !== c.custody[i - 1]!.to) return { ok: false, reason: `custody entry ${i} not from the previous holder` };
    const id = lookup(e.from);
    if (id === null) return { ok: false, reason: `identity of ${e.from.toString(16).padStart(10, "0")} unknown`, whois: e.from };
    if (id.address !== e.from) return { ok: false, reason: "looked-up identity has the wrong address" };
    if (e.signature === null || !id.verify(msg, e.signature)) return { ok: false, reason: `custody entry ${i} signature invalid` };
  }
  return { ok: true };
}

export function writeCapability(w: ByteWriter, c: Capability): void {
  writeBody(w, c);
  for (let i = 0; i < c.custody.length && i < c.maxCustodyChainLength && i < MAX_CUSTODY_CHAIN_LENGTH; i++) {
    const e = c.custody[i]!;
    writeAddress40(w, e.to);
    writeAddress40(w, e.from);
    writeSignatureBlock(w, e.signature);
  }
  writeAddress40(w, 0);
  w.u16(0);
}

export function readCapability(r: ByteReader): Capability {
  const networkId = r.u64("capability network id");
  const timestamp = safeNumber(r.u64("capability timestamp"), "capability timestamp");
  const id = r.u32("capability id");
  const n = r.u16("capability rule count");
  if (n > MAX_CAPABILITY_RULES) throw new DecodeError(`capability has ${n} rules, max ${MAX_CAPABILITY_RULES}`);
  const rules = readRules(r, n, MAX_CAPABILITY_RULES);
  const maxCustodyChainLength = r.u8("custody chain length");
  if (maxCustodyChainLength < 1 || maxCustodyChainLength > MAX_CUSTODY_CHAIN_LENGTH) throw new DecodeError(`custody chain length ${maxCustodyChainLength}`);
  const custody: CustodyEntry[] = [];
  for (;;) {
    const to = readAddress40(r, "custody to");
    if (to === 0) break;
    if (custody.length >= maxCustodyChainLength) throw new DecodeError("custody chain longer than its maximum");
    const from = readAddress40(r, "custody from");
    custody.push({ to, from, signature: readSignatureBlock(r) });
  }
  skipAdditionalFields(r);
  return { networkId, timestamp, id, rules, maxCustodyChainLength, custody };
}

export function encodeCapability(c: Capability): Uint8Array {
  const w = new ByteWriter(256);
  writeCapability(w, c);
  return w.finish();
}

export function decodeCapability(buf: Uint8Array, off = 0, end = buf.length): Decoded<{ capability: Capability; length: number }> {
  return guard("capability", () => {
    const r = new ByteReader(buf, off, end);
    const capability = readCapability(r);
    return ok({ capability, length: r.pos - off });
  });
}
