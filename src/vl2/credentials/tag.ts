/**
 * Tag (credential type 3, spec 6.9): a controller-signed (id, value) pair issued to one member,
 * matched by the rules engine's tag matches.
 */
import { ByteReader, ByteWriter } from "../../util/bytes.ts";
import type { Address } from "../../vl1/address.ts";
import type { Identity } from "../../vl1/identity.ts";
import { type NetworkId, controllerOf } from "../network-id.ts";
import { type Decoded, guard, ok } from "../result.ts";
import { readAddress40, readSignatureBlock, safeNumber, signingMessage, skipAdditionalFields, writeAddress40, writeSignatureBlock } from "./credential.ts";

export interface Tag {
  readonly networkId: NetworkId;
  readonly timestamp: number;
  readonly id: number;
  readonly value: number;
  readonly issuedTo: Address;
  readonly signedBy: Address;
  readonly signature: Uint8Array | null;
}

function writeBody(w: ByteWriter, t: Tag): void {
  w.u64(t.networkId).u64(BigInt(t.timestamp)).u32(t.id).u32(t.value);
  writeAddress40(w, t.issuedTo);
  writeAddress40(w, t.signedBy);
}

/** What the controller signs (1.14's serialize(…, forSign)). */
export function tagSigningMessage(t: Tag): Uint8Array {
  return signingMessage((w) => writeBody(w, t));
}

export function signTag(t: Omit<Tag, "signedBy" | "signature">, controller: Identity): Tag {
  const unsigned: Tag = { ...t, signedBy: controller.address, signature: null };
  return { ...unsigned, signature: controller.sign(tagSigningMessage(unsigned)) };
}

/** null if signed by the network's controller (whose identity is given); else why not. */
export function verifyTag(t: Tag, controller: Identity): string | null {
  if (t.signature === null) return "tag is not signed";
  if (t.signedBy !== controllerOf(t.networkId)) return "tag not signed by the network's controller";
  if (controller.address !== t.signedBy) return "controller identity does not match tag signer";
  return controller.verify(tagSigningMessage(t), t.signature) ? null : "tag signature invalid";
}

export function writeTag(w: ByteWriter, t: Tag): void {
  writeBody(w, t);
  writeSignatureBlock(w, t.signature);
  w.u16(0);
}

export function readTag(r: ByteReader): Tag {
  const networkId = r.u64("tag network id");
  const timestamp = safeNumber(r.u64("tag timestamp"), "tag timestamp");
  const id = r.u32("tag id");
  const value = r.u32("tag value");
  const issuedTo = readAddress40(r, "tag issued to");
  const signedBy = readAddress40(r, "tag signed by");
  const signature = readSignatureBlock(r);
  skipAdditionalFields(r);
  return { networkId, timestamp, id, value, issuedTo, signedBy, signature };
}

export function encodeTag(t: Tag): Uint8Array {
  const w = new ByteWriter(128);
  writeTag(w, t);
  return w.finish();
}

export function decodeTag(buf: Uint8Array, off = 0, end = buf.length): Decoded<{ tag: Tag; length: number }> {
  return guard("tag", () => {
    const r = new ByteReader(buf, off, end);
    const tag = readTag(r);
    return ok({ tag, length: r.pos - off });
  });
}
