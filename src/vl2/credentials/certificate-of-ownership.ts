/**
 * Certificate of Ownership (credential type 4, spec 6.9): the controller vouches that a member owns
 * some MACs / IPs, which makes its frames from them "sender authenticated" in rules.
 */
import { ByteReader, ByteWriter } from "../../util/bytes.ts";
import type { Address } from "../../vl1/address.ts";
import type { Identity } from "../../vl1/identity.ts";
import { type NetworkId, controllerOf } from "../network-id.ts";
import { type Decoded, RefusedValueError, guard, ok } from "../result.ts";
import { readAddress40, readSignatureBlock, safeNumber, signingMessage, skipAdditionalFields, writeAddress40, writeSignatureBlock } from "./credential.ts";

export const COO_MAX_THINGS = 16;
const THING_VALUE_SIZE = 16;

export const ThingType = { NULL: 0, MAC: 1, IPV4: 2, IPV6: 3 } as const;

export interface OwnedThing {
  readonly type: number;
  /** 16 bytes, left-aligned and zero padded (MAC 6, IPv4 4, IPv6 16 significant bytes). */
  readonly value: Uint8Array;
}

export interface CertificateOfOwnership {
  readonly networkId: NetworkId;
  readonly timestamp: number;
  readonly flags: bigint;
  readonly id: number;
  readonly things: readonly OwnedThing[];
  readonly issuedTo: Address;
  readonly signedBy: Address;
  readonly signature: Uint8Array | null;
}

/** A thing for an IP (4 or 16 bytes) or a 6-byte MAC. */
export function ownedThing(type: number, bytes: Uint8Array): OwnedThing {
  const value = new Uint8Array(THING_VALUE_SIZE);
  value.set(bytes.subarray(0, THING_VALUE_SIZE));
  return { type, value };
}

/** Does the certificate list this thing? (bytes: 6 for MAC, 4 for IPv4, 16 for IPv6; compares that many) */
export function cooOwns(c: CertificateOfOwnership, type: number, bytes: Uint8Array, off = 0, len = bytes.length): boolean {
  outer: for (const t of c.things) {
    if (t.type !== type) continue;
    for (let k = 0; k < len; k++) if (t.value[k] !== bytes[off + k]) continue outer;
    return true;
  }
  return false;
}

function writeBody(w: ByteWriter, c: CertificateOfOwnership): void {
  w.u64(c.networkId).u64(BigInt(c.timestamp)).u64(c.flags).u32(c.id).u16(c.things.length);
  for (const t of c.things) w.u8(t.type).bytes(t.value);
  writeAddress40(w, c.issuedTo);
  writeAddress40(w, c.signedBy);
}

export function signCoo(c: Omit<CertificateOfOwnership, "signedBy" | "signature">, controller: Identity): CertificateOfOwnership {
  if (c.things.length > COO_MAX_THINGS) throw new RangeError(`at most ${COO_MAX_THINGS} things`);
  const unsigned: CertificateOfOwnership = { ...c, signedBy: controller.address, signature: null };
  return { ...unsigned, signature: controller.sign(signingMessage((w) => writeBody(w, unsigned))) };
}

export function verifyCoo(c: CertificateOfOwnership, controller: Identity): string | null {
  if (c.signature === null) return "certificate of ownership is not signed";
  if (c.things.length > COO_MAX_THINGS) return "certificate of ownership has too many things";
  if (c.signedBy !== controllerOf(c.networkId)) return "certificate of ownership not signed by the network's controller";
  if (controller.address !== c.signedBy) return "controller identity does not match certificate signer";
  return controller.verify(signingMessage((w) => writeBody(w, c)), c.signature) ? null : "certificate of ownership signature invalid";
}

export function writeCoo(w: ByteWriter, c: CertificateOfOwnership): void {
  writeBody(w, c);
  writeSignatureBlock(w, c.signature);
  w.u16(0);
}

export function readCoo(r: ByteReader): CertificateOfOwnership {
  const networkId = r.u64("CoO network id");
  const timestamp = safeNumber(r.u64("CoO timestamp"), "CoO timestamp");
  const flags = r.u64("CoO flags");
  const id = r.u32("CoO id");
  const n = r.u16("CoO thing count");
  // 1.14 reads the first 16 and keeps the count, then writes entries past the end of its arrays
  if (n > COO_MAX_THINGS) throw new RefusedValueError(`CoO has ${n} things, more than ${COO_MAX_THINGS}`);
  const things: OwnedThing[] = [];
  for (let i = 0; i < n; i++) things.push({ type: r.u8("CoO thing type"), value: r.bytes(THING_VALUE_SIZE, "CoO thing value") });
  const issuedTo = readAddress40(r, "CoO issued to");
  const signedBy = readAddress40(r, "CoO signed by");
  const signature = readSignatureBlock(r);
  skipAdditionalFields(r);
  return { networkId, timestamp, flags, id, things, issuedTo, signedBy, signature };
}

export function encodeCoo(c: CertificateOfOwnership): Uint8Array {
  const w = new ByteWriter(256);
  writeCoo(w, c);
  return w.finish();
}

export function decodeCoo(buf: Uint8Array, off = 0, end = buf.length): Decoded<{ coo: CertificateOfOwnership; length: number }> {
  return guard("certificate of ownership", () => {
    const r = new ByteReader(buf, off, end);
    const coo = readCoo(r);
    return ok({ coo, length: r.pos - off });
  });
}
