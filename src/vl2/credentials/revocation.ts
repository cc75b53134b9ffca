/**
 * Revocation (credential type 6, spec 6.9): the controller declares credentials of one type and ID
 * held by a target with timestamp ≤ threshold invalid (for COMs: all of the target's COMs).
 */
import { ByteReader, ByteWriter } from "../../util/bytes.ts";
import type { Address } from "../../vl1/address.ts";
import type { Identity } from "../../vl1/identity.ts";
import { type NetworkId, controllerOf } from "../network-id.ts";
import { type Decoded, guard, ok } from "../result.ts";
import { readAddress40, readSignatureBlock, safeNumber, signingMessage, skipAdditionalFields, writeAddress40, writeSignatureBlock } from "./credential.ts";

export const REVOCATION_FLAG_FAST_PROPAGATE = 0x1n;

export interface Revocation {
  readonly id: number;
  readonly networkId: NetworkId;
  readonly credentialId: number;
  readonly threshold: number;
  readonly flags: bigint;
  readonly target: Address;
  readonly signedBy: Address;
  readonly credentialType: number;
  readonly signature: Uint8Array | null;
}

function writeBody(w: ByteWriter, v: Revocation): void {
  w.u32(0).u32(v.id).u64(v.networkId).u32(0).u32(v.credentialId).u64(BigInt(v.threshold)).u64(v.flags);
  writeAddress40(w, v.target);
  writeAddress40(w, v.signedBy);
  w.u8(v.credentialType);
}

export function signRevocation(v: Omit<Revocation, "signedBy" | "signature">, controller: Identity): Revocation {
  const unsigned: Revocation = { ...v, signedBy: controller.address, signature: null };
  return { ...unsigned, signature: controller.sign(signingMessage((w) => writeBody(w, unsigned))) };
}

export function verifyRevocation(v: Revocation, controller: Identity): string | null {
  if (v.signature === null) return "revocation is not signed";
  if (v.signedBy !== controllerOf(v.networkId)) return "revocation not signed by the network's controller";
  if (controller.address !== v.signedBy) return "controller identity does not match revocation signer";
  return controller.verify(signingMessage((w) => writeBody(w, v)), v.signature) ? null : "revocation signature invalid";
}

export function writeRevocation(w: ByteWriter, v: Revocation): void {
  writeBody(w, v);
  writeSignatureBlock(w, v.signature);
  w.u16(0);
}

export function readRevocation(r: ByteReader): Revocation {
  r.skip(4, "revocation reserved");
  const id = r.u32("revocation id");
  const networkId = r.u64("revocation network id");
  r.skip(4, "revocation reserved");
  const credentialId = r.u32("revocation credential id");
  const threshold = safeNumber(r.u64("revocation threshold"), "revocation threshold");
  const flags = r.u64("revocation flags");
  const target = readAddress40(r, "revocation target");
  const signedBy = readAddress40(r, "revocation signed by");
  const credentialType = r.u8("revocation credential type");
  const signature = readSignatureBlock(r);
  skipAdditionalFields(r);
  return { id, networkId, credentialId, threshold, flags, target, signedBy, credentialType, signature };
}

export function encodeRevocation(v: Revocation): Uint8Array {
  const w = new ByteWriter(160);
  writeRevocation(w, v);
  return w.finish();
}

export function decodeRevocation(buf: Uint8Array, off = 0, end = buf.length): Decoded<{ revocation: Revocation; length: number }> {
  return guard("revocation", () => {
    const r = new ByteReader(buf, off, end);
    const revocation = readRevocation(r);
    return ok({ revocation, length: r.pos - off });
  });
}
