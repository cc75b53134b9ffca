/**
 * Pieces shared by the signed VL2 credentials (spec 6.9): type codes, the signature block
 * (type 1, length 96, signature) and the 0x7F×8 markers that wrap the signing form.
 */
import { type ByteReader, DecodeError, ByteWriter } from "../../util/bytes.ts";
import { SIGNATURE_LENGTH } from "../../vl1/identity.ts";
import { RefusedValueError } from "../result.ts";

export const CredentialType = {
  NULL: 0,
  COM: 1,
  CAPABILITY: 2,
  TAG: 3,
  COO: 4,
  REVOCATION: 6,
} as const;
export type CredentialType = (typeof CredentialType)[keyof typeof CredentialType];

export function isCredentialType(v: number): v is CredentialType {
  return v === 0 || v === 1 || v === 2 || v === 3 || v === 4 || v === 6;
}

const SIGNATURE_TYPE_ED25519 = 1;
const MARKER = 0x7f7f7f7f7f7f7f7fn;

/**
 * Reads a signature block. A block of another type is skipped by its length (forward
 * compatibility, as the reference does) and reads as an all-zero signature, which is also what
 * an unsigned credential is written with, so decode → encode → decode is stable. Type 1 must
 * carry exactly 96 bytes.
 */
export function readSignatureBlock(r: ByteReader): Uint8Array {
  const type = r.u8("signature type");
  if (type === SIGNATURE_TYPE_ED25519) {
    const len = r.u16("signature length");
    if (len !== SIGNATURE_LENGTH) throw new DecodeError(`signature length ${len}, expected ${SIGNATURE_LENGTH}`);
    return r.bytes(SIGNATURE_LENGTH, "signature");
  }
  r.skip(r.u16("signature length"), "unknown signature");
  return new Uint8Array(SIGNATURE_LENGTH);
}

export function writeSignatureBlock(w: ByteWriter, signature: Uint8Array | null): void {
  w.u8(SIGNATURE_TYPE_ED25519).u16(SIGNATURE_LENGTH);
  w.bytes(signature ?? new Uint8Array(SIGNATURE_LENGTH));
}

/** Skips the trailing "additional fields" (length-prefixed, always empty when 1.14 writes). */
export function skipAdditionalFields(r: ByteReader): void {
  r.skip(r.u16("additional fields length"), "additional fields");
}

/** Builds the signing form: marker, body written by `body`, additional-fields length 0, marker. */
export function signingMessage(body: (w: ByteWriter) => void): Uint8Array {
  const w = new ByteWriter(512);
  w.u64(MARKER);
  body(w);
  w.u16(0);
  w.u64(MARKER);
  return w.finish();
}

export function writeAddress40(w: ByteWriter, a: number): void {
  w.u8(Math.floor(a / 0x100000000) & 0xff).u32(a >>> 0);
}

export function readAddress40(r: ByteReader, what: string): number {
  const hi = r.u8(what);
  return hi * 0x100000000 + r.u32(what);
}

/**
 * bigint that must fit a JS number exactly (timestamps). 1.14 keeps any 64-bit value, so a larger
 * one is a deliberate refusal (RefusedValueError), not malformed data.
 */
export function safeNumber(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RefusedValueError(`${what} ${v} is beyond 2^53`);
  return Number(v);
}
