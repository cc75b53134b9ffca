/**
 * ZeroTier "C25519" keys (spec 1.1, 1.8, 1.9): an X25519 key pair and an independent Ed25519 key pair.
 *   public  (64) = X25519 public || Ed25519 public
 *   private (64) = X25519 secret || Ed25519 seed
 *   signature (96) = Ed25519(seed, SHA-512(m)[0..32]) || SHA-512(m)[0..32]
 *
 * Built on node:crypto (native: X25519 ~10x and Ed25519 signing ~25x faster than @noble/curves here,
 * identical results). node:crypto takes keys only as KeyObjects, so raw bytes are wrapped in fixed
 * PKCS#8 / SPKI DER prefixes. Nothing secret is cached globally; `C25519Secret` caches the KeyObjects
 * of one private key for as long as its owner keeps it (an identity signs and agrees often).
 */
import {
  type KeyObject,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  sign as edSign,
  verify as edVerify,
} from "node:crypto";
import { type Rng, systemRng } from "../util/random.ts";
import { sha512, sha512Into } from "./sha.ts";

export const C25519_PUBLIC_KEY_LEN = 64;
export const C25519_PRIVATE_KEY_LEN = 64;
export const C25519_SIGNATURE_LEN = 96;

// DER headers of PKCS#8 private / SPKI public keys for OIDs 1.3.101.110 (X25519) and 1.3.101.112 (Ed25519);
// the raw 32-byte key follows each header.
const X25519_PKCS8 = hexBytes("302e020100300506032b656e04220420");
const ED25519_PKCS8 = hexBytes("302e020100300506032b657004220420");
const X25519_SPKI = hexBytes("302a300506032b656e032100");
const ED25519_SPKI = hexBytes("302a300506032b6570032100");

function hexBytes(h: string): Uint8Array {
  return Uint8Array.from(h.match(/../g)!.map((b) => parseInt(b, 16)));
}

function der(prefix: Uint8Array, key: Uint8Array, off: number): Uint8Array {
  const d = new Uint8Array(prefix.length + 32);
  d.set(prefix, 0);
  d.set(key.subarray(off, off + 32), prefix.length);
  return d;
}

function privateKeyObject(prefix: Uint8Array, key: Uint8Array, off: number): KeyObject {
  const d = der(prefix, key, off);
  try {
    return createPrivateKey({ key: Buffer.from(d.buffer, d.byteOffset, d.length), format: "der", type: "pkcs8" });
  } finally {
    d.fill(0);
  }
}

function publicKeyObject(prefix: Uint8Array, key: Uint8Array, off: number): KeyObject {
  const d = der(prefix, key, off);
  return createPublicKey({ key: Buffer.from(d.buffer, d.byteOffset, d.length), format: "der", type: "spki" });
}

/** Raw 32-byte public key of a KeyObject (the SPKI DER ends with it). */
function rawPublic(k: KeyObject): Uint8Array {
  const spki = k.export({ format: "der", type: "spki" });
  return new Uint8Array(spki.subarray(spki.length - 32));
}

export function x25519PublicFromSecret(secret32: Uint8Array): Uint8Array {
  return rawPublic(createPublicKey(privateKeyObject(X25519_PKCS8, secret32, 0)));
}

export function ed25519PublicFromSeed(seed32: Uint8Array): Uint8Array {
  return rawPublic(createPublicKey(privateKeyObject(ED25519_PKCS8, seed32, 0)));
}

/** Public key (64 bytes) belonging to a 64-byte C25519 private key. */
export function c25519PublicFromPrivate(priv: Uint8Array): Uint8Array {
  const pub = new Uint8Array(64);
  pub.set(rawPublic(createPublicKey(privateKeyObject(X25519_PKCS8, priv, 0))), 0);
  pub.set(rawPublic(createPublicKey(privateKeyObject(ED25519_PKCS8, priv, 32))), 32);
  return pub;
}

export function c25519Generate(rng: Rng = systemRng): { pub: Uint8Array; priv: Uint8Array } {
  const priv = new Uint8Array(64);
  rng.fill(priv, 0, 64);
  return { pub: c25519PublicFromPrivate(priv), priv };
}

/**
 * Expand a raw X25519 shared secret into n key bytes: SHA-512(s), then SHA-512 of the previous digest
 * for every further 64 bytes (spec 1.9).
 */
function expandShared(shared: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  const d = new Uint8Array(64);
  sha512Into(shared, d, 0);
  for (let p = 0; ; ) {
    const take = Math.min(64, n - p);
    out.set(d.subarray(0, take), p);
    p += take;
    if (p >= n) break;
    sha512Into(d, d, 0);
  }
  d.fill(0);
  return out;
}

/**
 * The X25519 public keys (u-coordinates, little-endian, bit 255 ignored as X25519 ignores it) of
 * small order: the points of order 1, 2, 4 and 8 and their non-canonical encodings (libsodium's
 * list). With any of them the shared secret is all zeros, which OpenSSL refuses to return.
 */
const LOW_ORDER_X25519 = [
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0100000000000000000000000000000000000000000000000000000000000000",
  "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
  "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
].map(hexBytes);

/** Whether theirPub[0..32] is a low-order X25519 point (the shared secret with it is zero). */
export function isLowOrderX25519(theirPub: Uint8Array): boolean {
  if (theirPub.length < 32) return false;
  return LOW_ORDER_X25519.some((p) => {
    let d = (p[31]! ^ theirPub[31]!) & 0x7f;
    for (let i = 0; i < 31; i++) d |= p[i]! ^ theirPub[i]!;
    return d === 0;
  });
}

function x25519Shared(myPriv: KeyObject, theirPub: Uint8Array): Uint8Array {
  const publicKey = publicKeyObject(X25519_SPKI, theirPub, 0);
  try {
    const s = diffieHellman({ privateKey: myPriv, publicKey });
    return new Uint8Array(s.buffer, s.byteOffset, s.length);
  } catch (e) {
    // OpenSSL refuses an all-zero result (their key is a low-order point). The reference computes the
    // plain ladder and would hash 32 zero bytes; do the same so both ends derive the same (useless) key
    // instead of this node throwing on a hostile key. Any other failure is a real error.
    if (isLowOrderX25519(theirPub)) return new Uint8Array(32);
    throw e;
  }
}

/** Per-peer symmetric key: the first n bytes of the SHA-512 chain of X25519(myPriv[0..32], theirPub[0..32]). */
export function c25519Agree(myPriv: Uint8Array, theirPub: Uint8Array, n = 48): Uint8Array {
  if (myPriv.length < 32 || theirPub.length < 32) throw new RangeError("c25519Agree: key too short");
  const shared = x25519Shared(privateKeyObject(X25519_PKCS8, myPriv, 0), theirPub);
  try {
    return expandShared(shared, n);
  } finally {
    shared.fill(0);
  }
}

function signDigest(edPriv: KeyObject, msg: Uint8Array): Uint8Array {
  const h = sha512(msg).subarray(0, 32);
  const sig64 = edSign(null, h, edPriv);
  const out = new Uint8Array(96);
  out.set(sig64, 0);
  out.set(h, 64);
  return out;
}

/** 96-byte ZeroTier signature of msg. `pub` is accepted for API symmetry; node derives it from the seed. */
export function c25519Sign(priv: Uint8Array, _pub: Uint8Array, msg: Uint8Array): Uint8Array {
  if (priv.length < 64) throw new RangeError("c25519Sign: private key must be 64 bytes");
  return signDigest(privateKeyObject(ED25519_PKCS8, priv, 32), msg);
}

/** True iff sig is a valid 96-byte signature of msg by pub (64 bytes). Never throws. */
export function c25519Verify(pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  if (pub.length !== 64 || sig.length !== 96) return false;
  try {
    const h = sha512(msg);
    let diff = 0;
    for (let i = 0; i < 32; i++) diff |= h[i]! ^ sig[64 + i]!;
    if (diff !== 0) return false;
    return edVerify(null, h.subarray(0, 32), publicKeyObject(ED25519_SPKI, pub, 32), sig.subarray(0, 64));
  } catch {
    return false;
  }
}

/**
 * One private key with its node:crypto KeyObjects built once (importing an Ed25519 key recomputes its
 * public key, which halves signing speed if done per call). Owned by e.g. the local identity.
 */
export class C25519Secret {
  private readonly x: KeyObject;
  private readonly ed: KeyObject;
  readonly pub: Uint8Array;

  constructor(priv: Uint8Array) {
    if (priv.length !== 64) throw new RangeError("C25519Secret: private key must be 64 bytes");
    this.x = privateKeyObject(X25519_PKCS8, priv, 0);
    this.ed = privateKeyObject(ED25519_PKCS8, priv, 32);
    this.pub = new Uint8Array(64);
    this.pub.set(rawPublic(createPublicKey(this.x)), 0);
    this.pub.set(rawPublic(createPublicKey(this.ed)), 32);
  }

  agree(theirPub: Uint8Array, n = 48): Uint8Array {
    if (theirPub.length < 32) throw new RangeError("C25519Secret.agree: key too short");
    const shared = x25519Shared(this.x, theirPub);
    try {
      return expandShared(shared, n);
    } finally {
      shared.fill(0);
    }
  }

  sign(msg: Uint8Array): Uint8Array {
    return signDigest(this.ed, msg);
  }
}
