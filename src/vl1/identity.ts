/**
 * A ZeroTier node identity, type 0 ("C25519"): 40-bit address + 64-byte public key, optionally
 * the 64-byte private key (spec 1.1-1.10). Immutable once made.
 *
 * Parsing never throws: string and binary decoders return a result carrying either the identity
 * or a message saying what was wrong, so bad input from files, the CLI or the wire is a clear
 * error at the caller, not an exception.
 */

import {
  C25519Secret,
  c25519Verify,
  ed25519PublicFromSeed,
  x25519PublicFromSecret,
} from "../crypto/c25519.ts";
import { sha384 } from "../crypto/sha.ts";
import { bytesEqual } from "../util/bytes.ts";
import { fromHexExact, toHex } from "../util/hex.ts";
import { type Rng, systemRng } from "../util/random.ts";
import {
  ADDRESS_LENGTH,
  type Address,
  addressFromString,
  addressToString,
  isReservedAddress,
  readAddress,
  writeAddress,
} from "./address.ts";
import { HASHCASH_FIRST_BYTE_LESS_THAN, hashcashDigest } from "./identity-hashcash.ts";

export const IDENTITY_TYPE_C25519 = 0;
export const PUBLIC_KEY_LENGTH = 64;
export const PRIVATE_KEY_LENGTH = 64;
export const SIGNATURE_LENGTH = 96;
/** Binary form without private key: address(5) type(1) public(64) privLen(1). */
export const IDENTITY_PUBLIC_SERIALIZED_LENGTH = ADDRESS_LENGTH + 1 + PUBLIC_KEY_LENGTH + 1;
export const IDENTITY_SECRET_SERIALIZED_LENGTH = IDENTITY_PUBLIC_SERIALIZED_LENGTH + PRIVATE_KEY_LENGTH;
/** Per-peer symmetric key length (ZT_SYMMETRIC_KEY_SIZE). */
export const SYMMETRIC_KEY_LENGTH = 48;

export type IdentityParse = { readonly ok: true; readonly identity: Identity } | { readonly ok: false; readonly error: string };
export type IdentityDecode =
  | { readonly ok: true; readonly identity: Identity; readonly length: number }
  | { readonly ok: false; readonly error: string };

/** Reused by locallyValidate so validating HELLO senders allocates no digest per call. */
const digestScratch = new Uint8Array(64);

export class Identity {
  private secret: C25519Secret | null = null;

  private constructor(
    readonly address: Address,
    private readonly pub: Uint8Array,
    private readonly priv: Uint8Array | null,
  ) {}

  /**
   * Builds an identity from raw parts. Copies the keys. Does not prove the address matches the
   * key (see locallyValidate); throws RangeError only for programming errors (wrong lengths).
   */
  static fromParts(address: Address, publicKey: Uint8Array, privateKey: Uint8Array | null = null): Identity {
    if (publicKey.length !== PUBLIC_KEY_LENGTH) throw new RangeError("public key must be 64 bytes");
    if (privateKey !== null && privateKey.length !== PRIVATE_KEY_LENGTH) throw new RangeError("private key must be 64 bytes");
    return new Identity(address, publicKey.slice(), privateKey === null ? null : privateKey.slice());
  }

  // ---- generation and validation ----

  /**
   * Generates a new identity (spec 1.6): search X25519 secrets until the memory-hard digest of
   * the public key starts with a byte < 17. Takes ~15 digests on average (well under a second).
   */
  static generate(rng: Rng = systemRng): Identity {
    const priv = new Uint8Array(PRIVATE_KEY_LENGTH);
    const pub = new Uint8Array(PUBLIC_KEY_LENGTH);
    const digest = new Uint8Array(64);
    for (;;) {
      rng.fill(priv, 0, PRIVATE_KEY_LENGTH);
      pub.set(ed25519PublicFromSeed(priv.subarray(32, 64)), 32);
      for (let tries = 0; tries < 1 << 16; tries++) {
        bumpSecret(priv);
        pub.set(x25519PublicFromSecret(priv.subarray(0, 32)), 0);
        hashcashDigest(pub, digest, 0);
        if (digest[0]! < HASHCASH_FIRST_BYTE_LESS_THAN) break;
      }
      if (digest[0]! >= HASHCASH_FIRST_BYTE_LESS_THAN) continue;
      const address = readAddress(digest, 59);
      if (isReservedAddress(address)) continue;
      const id = new Identity(address, pub.slice(), priv.slice());
      priv.fill(0);
      return id;
    }
  }

  /**
   * True iff the address is not reserved and is what the proof-of-work digest of the public key
   * says, and the digest meets the difficulty (spec 1.7). Costs one digest (~30 ms).
   */
  locallyValidate(): boolean {
    if (isReservedAddress(this.address)) return false;
    const d = hashcashDigest(this.pub, digestScratch, 0);
    return d[0]! < HASHCASH_FIRST_BYTE_LESS_THAN && readAddress(d, 59) === this.address;
  }

  // ---- accessors ----

  get hasPrivate(): boolean {
    return this.priv !== null;
  }

  /** 64-byte public key (X25519 || Ed25519). A copy, so callers cannot alter the identity. */
  get publicKey(): Uint8Array {
    return this.pub.slice();
  }

  /** 64-byte private key (X25519 secret || Ed25519 seed), or null; a copy. */
  get privateKey(): Uint8Array | null {
    return this.priv === null ? null : this.priv.slice();
  }

  get addressString(): string {
    return addressToString(this.address);
  }

  get addressBigInt(): bigint {
    return BigInt(this.address);
  }

  /** The same identity without its private key. */
  publicOnly(): Identity {
    return this.priv === null ? this : new Identity(this.address, this.pub, null);
  }

  /** Same address and public key (private key presence does not matter, as in the reference). */
  equals(other: Identity): boolean {
    return this.address === other.address && bytesEqual(this.pub, other.pub);
  }

  /** Reference ordering: by address, then public key bytes (used to sort world roots). */
  compare(other: Identity): number {
    if (this.address !== other.address) return this.address < other.address ? -1 : 1;
    for (let i = 0; i < PUBLIC_KEY_LENGTH; i++) {
      const d = this.pub[i]! - other.pub[i]!;
      if (d !== 0) return d;
    }
    return 0;
  }

  // ---- crypto ----

  private secretKey(): C25519Secret {
    if (this.priv === null) throw new Error(`identity ${this.addressString} has no private key`);
    if (this.secret === null) this.secret = new C25519Secret(this.priv);
    return this.secret;
  }

  /** 48-byte per-peer key: SHA-512(X25519(our secret, their public))[0..48] (spec 1.9). Needs our private key. */
  agree(other: Identity, length = SYMMETRIC_KEY_LENGTH): Uint8Array {
    return this.secretKey().agree(other.pub, length);
  }

  /** 96-byte ZeroTier signature (spec 1.8). Needs the private key. */
  sign(message: Uint8Array): Uint8Array {
    return this.secretKey().sign(message);
  }

  /** Never throws; false for any malformed signature. */
  verify(message: Uint8Array, signature: Uint8Array): boolean {
    return c25519Verify(this.pub, message, signature);
  }

  /** SHA-384(address || public key), 48 bytes (spec 1.10; used by certificates of membership). */
  publicKeyHash(): Uint8Array {
    const b = new Uint8Array(ADDRESS_LENGTH + PUBLIC_KEY_LENGTH);
    writeAddress(b, 0, this.address);
    b.set(this.pub, ADDRESS_LENGTH);
    return sha384(b);
  }

  // ---- string form (spec 1.4) ----

  /** "<address>:0:<public hex>" or, with includePrivate and a private key, ":<private hex>" appended. */
  toString(includePrivate = false): string {
    const base = `${addressToString(this.address)}:0:${toHex(this.pub)}`;
    return includePrivate && this.priv !== null ? `${base}:${toHex(this.priv)}` : base;
  }

  /**
   * Parses identity.public / identity.secret text. Surrounding whitespace (a trailing newline in
   * a file) is ignored; otherwise strict: exactly 3 or 4 ':'-separated fields, a 10-hex-digit
   * non-reserved address, type "0", 128 hex digits of public key, 128 of private key.
   */
  static parse(text: string): IdentityParse {
    const fields = text.trim().split(":");
    if (fields.length < 3) return { ok: false, error: `identity needs at least 3 ':'-separated fields, found ${fields.length}` };
    if (fields.length > 4) return { ok: false, error: `identity has ${fields.length} fields, at most 4 allowed` };
    const address = addressFromString(fields[0]!);
    if (address === null) return { ok: false, error: "identity address must be exactly 10 hex digits" };
    if (isReservedAddress(address)) return { ok: false, error: `identity address ${fields[0]} is reserved` };
    if (fields[1] !== "0") return { ok: false, error: `unsupported identity type "${fields[1]}" (only 0 is valid)` };
    const pub = fromHexExact(fields[2]!, PUBLIC_KEY_LENGTH);
    if (pub === null) return { ok: false, error: "identity public key must be exactly 128 hex digits" };
    let priv: Uint8Array | null = null;
    if (fields.length === 4) {
      priv = fromHexExact(fields[3]!, PRIVATE_KEY_LENGTH);
      if (priv === null) return { ok: false, error: "identity private key must be exactly 128 hex digits" };
    }
    return { ok: true, identity: new Identity(address, pub, priv) };
  }

  static fromString(text: string): Identity | null {
    const r = Identity.parse(text);
    return r.ok ? r.identity : null;
  }

  // ---- binary form (spec 1.3) ----

  serializedLength(includePrivate = false): number {
    return includePrivate && this.priv !== null ? IDENTITY_SECRET_SERIALIZED_LENGTH : IDENTITY_PUBLIC_SERIALIZED_LENGTH;
  }

  /** Writes the binary form at buf[off]; returns bytes written. Throws RangeError if it does not fit. */
  serializeInto(buf: Uint8Array, off: number, includePrivate = false): number {
    const n = this.serializedLength(includePrivate);
    if (off < 0 || off + n > buf.length) throw new RangeError("identity does not fit in buffer");
    writeAddress(buf, off, this.address);
    buf[off + 5] = IDENTITY_TYPE_C25519;
    buf.set(this.pub, off + 6);
    if (n === IDENTITY_SECRET_SERIALIZED_LENGTH && this.priv !== null) {
      buf[off + 70] = PRIVATE_KEY_LENGTH;
      buf.set(this.priv, off + 71);
    } else {
      buf[off + 70] = 0;
    }
    return n;
  }

  serialize(includePrivate = false): Uint8Array {
    const out = new Uint8Array(this.serializedLength(includePrivate));
    this.serializeInto(out, 0, includePrivate);
    return out;
  }

  /**
   * Decodes the binary form at buf[off..end). Like the reference it accepts any address value
   * here (the wire layer decides what to do with reserved ones) but rejects a type other than 0
   * and a private key length other than 0 or 64.
   */
  static deserialize(buf: Uint8Array, off = 0, end: number = buf.length): IdentityDecode {
    if (off < 0 || end > buf.length || off > end) return { ok: false, error: "identity range outside buffer" };
    if (end - off < IDENTITY_PUBLIC_SERIALIZED_LENGTH) return { ok: false, error: "truncated identity" };
    const type = buf[off + 5]!;
    if (type !== IDENTITY_TYPE_C25519) return { ok: false, error: `unsupported identity type ${type}` };
    const address = readAddress(buf, off);
    const pub = buf.slice(off + 6, off + 70);
    const privLen = buf[off + 70]!;
    if (privLen === 0) return { ok: true, identity: new Identity(address, pub, null), length: IDENTITY_PUBLIC_SERIALIZED_LENGTH };
    if (privLen !== PRIVATE_KEY_LENGTH) return { ok: false, error: `invalid identity private key length ${privLen}` };
    if (end - off < IDENTITY_SECRET_SERIALIZED_LENGTH) return { ok: false, error: "truncated identity private key" };
    const priv = buf.slice(off + 71, off + 135);
    return { ok: true, identity: new Identity(address, pub, priv), length: IDENTITY_SECRET_SERIALIZED_LENGTH };
  }
}

/**
 * Steps the X25519 secret to the next candidate: +1 on the little-endian 64-bit word at bytes
 * 8..15 (carry propagates inside the word). Any change would do; this one never repeats early.
 */
function bumpSecret(priv: Uint8Array): void {
  for (let i = 8; i < 16; i++) {
    priv[i] = (priv[i]! + 1) & 0xff;
    if (priv[i] !== 0) break;
  }
}
