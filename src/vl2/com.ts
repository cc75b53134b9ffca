/**
 * Certificate of Membership (spec 6.8): signed qualifiers (timestamp, network, member, and the
 * member's public key hash as ids 3..6). Two members accept each other on a private network when
 * their COMs agree: every qualifier within its max delta, and the hash bound to the real identity.
 */
import { ByteReader, ByteWriter } from "../util/bytes.ts";
import type { Address } from "../vl1/address.ts";
import { type Identity, SIGNATURE_LENGTH } from "../vl1/identity.ts";
import { readAddress40, writeAddress40 } from "./credentials/credential.ts";
import { type NetworkId, controllerOf } from "./network-id.ts";
import { type Decoded, fail, guard, ok } from "./result.ts";

export const COM_MAX_QUALIFIERS = 8;
export const COM_ID_TIMESTAMP = 0n;
export const COM_ID_NETWORK_ID = 1n;
export const COM_ID_ISSUED_TO = 2n;
const U64_MAX = 0xffffffffffffffffn;

export interface ComQualifier {
  readonly id: bigint;
  readonly value: bigint;
  readonly maxDelta: bigint;
}

export interface CertificateOfMembership {
  /** In non-decreasing id order. */
  readonly qualifiers: readonly ComQualifier[];
  /** Controller address; 0 = unsigned. */
  readonly signedBy: Address;
  readonly signature: Uint8Array | null;
}

/** The four big-endian words of publicKeyHash(identity) bytes 0..31 (qualifiers 3..6). */
export function identityHashWords(identity: Identity): bigint[] {
  const h = identity.publicKeyHash();
  const words: bigint[] = [];
  for (let w = 0; w < 4; w++) {
    let v = 0n;
    for (let i = 0; i < 8; i++) v = (v << 8n) | BigInt(h[w * 8 + i]!);
    words.push(v);
  }
  return words;
}

/** An unsigned COM as 1.14 controllers issue it (7 qualifiers). */
export function makeCom(timestamp: number, maxDelta: number, nwid: NetworkId, member: Identity): CertificateOfMembership {
  const qualifiers: ComQualifier[] = [
    { id: COM_ID_TIMESTAMP, value: BigInt(timestamp), maxDelta: BigInt(maxDelta) },
    { id: COM_ID_NETWORK_ID, value: nwid, maxDelta: 0n },
    { id: COM_ID_ISSUED_TO, value: BigInt(member.address), maxDelta: U64_MAX },
  ];
  identityHashWords(member).forEach((value, i) => qualifiers.push({ id: BigInt(i + 3), value, maxDelta: U64_MAX }));
  return { qualifiers, signedBy: 0, signature: null };
}

function qualifierValue(com: CertificateOfMembership, id: bigint): bigint | undefined {
  for (const q of com.qualifiers) if (q.id === id) return q.value;
  return undefined;
}

export function comTimestamp(com: CertificateOfMembership): number {
  return Number(qualifierValue(com, COM_ID_TIMESTAMP) ?? 0n);
}

export function comNetworkId(com: CertificateOfMembership): NetworkId {
  return qualifierValue(com, COM_ID_NETWORK_ID) ?? 0n;
}

export function comIssuedTo(com: CertificateOfMembership): Address {
  return Number((qualifierValue(com, COM_ID_ISSUED_TO) ?? 0n) & 0xffffffffffn);
}

/** The signed message: the qualifiers as id‖value‖maxDelta big-endian, nothing else. */
function comSigningMessage(com: CertificateOfMembership): Uint8Array {
  const w = new ByteWriter(com.qualifiers.length * 24);
  for (const q of com.qualifiers) w.u64(q.id).u64(q.value).u64(q.maxDelta);
  return w.finish();
}

export function signCom(com: CertificateOfMembership, controller: Identity): CertificateOfMembership {
  return { qualifiers: com.qualifiers, signedBy: controller.address, signature: controller.sign(comSigningMessage(com)) };
}

/** null if the COM is validly signed by the network's controller; else why not. */
export function verifyCom(com: CertificateOfMembership, controller: Identity): string | null {
  if (com.signedBy === 0 || com.signature === null) return "COM is not signed";
  if (com.qualifiers.length > COM_MAX_QUALIFIERS) return "COM has too many qualifiers";
  if (com.signedBy !== controllerOf(comNetworkId(com))) return "COM not signed by the network's controller";
  if (controller.address !== com.signedBy) return "controller identity does not match COM signer";
  return controller.verify(comSigningMessage(com), com.signature) ? null : "COM signature invalid";
}

/**
 * Does `theirs` (pushed by the peer with identity theirIdentity) agree with `mine`? Unsigned
 * 64-bit distance per qualifier; identity hash enforced when my COM carries one.
 */
export function comAgrees(mine: CertificateOfMembership, theirs: CertificateOfMembership, theirIdentity: Identity): boolean {
  if (mine.qualifiers.length === 0 || theirs.qualifiers.length === 0) return false;
  const other = new Map<bigint, bigint>();
  for (const q of theirs.qualifiers) other.set(q.id, q.value);
  let fullIdentity = false;
  for (const q of mine.qualifiers) {
    if (q.id >= 3n && q.id <= 6n) fullIdentity = true;
    const b = other.get(q.id);
    if (b === undefined) return false;
    const d = q.value >= b ? q.value - b : b - q.value;
    if (d > q.maxDelta) return false;
  }
  if (fullIdentity) {
    const words = identityHashWords(theirIdentity);
    for (let i = 0; i < 4; i++) if (other.get(BigInt(i + 3)) !== words[i]) return false;
  }
  return true;
}

export function comEquals(a: CertificateOfMembership, b: CertificateOfMembership): boolean {
  if (a.signedBy !== b.signedBy || a.qualifiers.length !== b.qualifiers.length) return false;
  for (let i = 0; i < a.qualifiers.length; i++) {
    const x = a.qualifiers[i]!;
    const y = b.qualifiers[i]!;
    if (x.id !== y.id || x.value !== y.value || x.maxDelta !== y.maxDelta) return false;
  }
  const sa = a.signature ?? new Uint8Array(SIGNATURE_LENGTH);
  const sb = b.signature ?? new Uint8Array(SIGNATURE_LENGTH);
  for (let i = 0; i < SIGNATURE_LENGTH; i++) if (sa[i] !== sb[i]) return false;
  return true;
}

// ---- binary form ----

export function writeCom(w: ByteWriter, com: CertificateOfMembership): void {
  w.u8(1).u16(com.qualifiers.length);
  for (const q of com.qualifiers) w.u64(q.id).u64(q.value).u64(q.maxDelta);
  writeAddress40(w, com.signedBy);
  if (com.signedBy !== 0) w.bytes(com.signature ?? new Uint8Array(SIGNATURE_LENGTH));
}

export function encodeCom(com: CertificateOfMembership): Uint8Array {
  const w = new ByteWriter(300);
  writeCom(w, com);
  return w.finish();
}

/** Reads a COM at r.pos; throws DecodeError (via ByteReader) on malformed input. */
export function readCom(r: ByteReader): CertificateOfMembership {
  const format = r.u8("COM format");
  if (format !== 1) throw new RangeError(`COM format byte ${format}, expected 1`);
  const n = r.u16("COM qualifier count");
  if (n > COM_MAX_QUALIFIERS) throw new RangeError(`COM has ${n} qualifiers, max ${COM_MAX_QUALIFIERS}`);
  const qualifiers: ComQualifier[] = [];
  let lastId = 0n;
  for (let i = 0; i < n; i++) {
    const id = r.u64("COM qualifier id");
    if (id < lastId) throw new RangeError("COM qualifier ids out of order");
    lastId = id;
    qualifiers.push({ id, value: r.u64("COM qualifier value"), maxDelta: r.u64("COM qualifier max delta") });
  }
  const signedBy = readAddress40(r, "COM signer");
  const signature = signedBy !== 0 ? r.bytes(SIGNATURE_LENGTH, "COM signature") : null;
  return { qualifiers, signedBy, signature };
}

export function decodeCom(buf: Uint8Array, off = 0, end = buf.length): Decoded<{ com: CertificateOfMembership; length: number }> {
  return guard("COM", () => {
    if (off >= end) return fail("COM: empty");
    const r = new ByteReader(buf, off, end);
    const com = readCom(r);
    return ok({ com, length: r.pos - off });
  });
}
