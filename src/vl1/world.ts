/**
 * Worlds: the signed lists of root servers (spec 5). A planet (type 1) is the global root set; a
 * moon (type 127) is a user-defined addition. Each revision is signed by the key that the
 * previous revision named in `updatesMustBeSignedBy`.
 *
 * Parsing is strict and never throws (truncation, bad types, too many roots or endpoints, bad
 * identities all come back as `{ ok: false, error }`); the limits match the reference so that a
 * world we accept is one it accepts.
 */

import { c25519Sign, c25519Verify } from "../crypto/c25519.ts";
import { ByteReader, ByteWriter, DecodeError, bytesEqual } from "../util/bytes.ts";
import { Identity } from "./identity.ts";
import {
  type InetAddress,
  decodeInetAddress,
  inetAddressEquals,
  inetAddressSerializedLength,
  serializeInetAddress,
} from "./inet-address.ts";

export const WORLD_TYPE_NULL = 0;
export const WORLD_TYPE_PLANET = 1;
export const WORLD_TYPE_MOON = 127;
export type WorldType = typeof WORLD_TYPE_NULL | typeof WORLD_TYPE_PLANET | typeof WORLD_TYPE_MOON;

export const WORLD_MAX_ROOTS = 4;
export const WORLD_MAX_STABLE_ENDPOINTS_PER_ROOT = 32;
/** ZT_WORLD_MAX_SERIALIZED_LENGTH: ((1024 + 32*32) * 4) + 64 + 96 + 128. */
export const WORLD_MAX_SERIALIZED_LENGTH = 8480;
/** ID of the planet "Earth" that every stock node uses. */
export const WORLD_ID_EARTH = 149604618n;

const SIGNED_PREFIX = new Uint8Array(8).fill(0x7f);
const SIGNED_SUFFIX = new Uint8Array(8).fill(0xf7);

export interface WorldRoot {
  readonly identity: Identity;
  readonly stableEndpoints: readonly InetAddress[];
}

export interface WorldDefinition {
  readonly type: typeof WORLD_TYPE_PLANET | typeof WORLD_TYPE_MOON;
  /** Unsigned 64-bit world ID. */
  readonly id: bigint;
  /** Milliseconds since the epoch; doubles as the revision number. */
  readonly timestamp: bigint;
  /** 64-byte C25519 public key that must sign the next revision. */
  readonly updatesMustBeSignedBy: Uint8Array;
  readonly roots: readonly WorldRoot[];
}

/** A C25519 key pair: 64-byte public (X25519 || Ed25519) and 64-byte private. */
export interface SigningKeyPair {
  readonly pub: Uint8Array;
  readonly priv: Uint8Array;
}

export type WorldParse =
  | { readonly ok: true; readonly world: World; readonly length: number }
  | { readonly ok: false; readonly error: string };

export class World {
  private constructor(
    readonly type: WorldType,
    readonly id: bigint,
    readonly timestamp: bigint,
    readonly updatesMustBeSignedBy: Uint8Array,
    readonly signature: Uint8Array,
    readonly roots: readonly WorldRoot[],
  ) {}

  get isPlanet(): boolean {
    return this.type === WORLD_TYPE_PLANET;
  }

  get isMoon(): boolean {
    return this.type === WORLD_TYPE_MOON;
  }

  // ---- binary form (spec 5.1) ----

  /**
   * Decodes a world at buf[off..end). Trailing bytes after the world are left to the caller
   * (`length` says how many were used); see fromBytes for whole-file input.
   */
  static parse(buf: Uint8Array, off = 0, end: number = buf.length): WorldParse {
    if (off < 0 || end > buf.length || off > end) return { ok: false, error: "world range outside buffer" };
    try {
      const r = new ByteReader(buf, off, end);
      const type = r.u8("world type");
      if (type !== WORLD_TYPE_NULL && type !== WORLD_TYPE_PLANET && type !== WORLD_TYPE_MOON) {
        return { ok: false, error: `invalid world type ${type}` };
      }
      const id = r.u64("world id");
      const timestamp = r.u64("world timestamp");
      const updatesMustBeSignedBy = r.bytes(64, "updatesMustBeSignedBy");
      const signature = r.bytes(96, "world signature");
      const rootCount = r.u8("root count");
      if (rootCount > WORLD_MAX_ROOTS) return { ok: false, error: `world has ${rootCount} roots, at most ${WORLD_MAX_ROOTS} allowed` };
      const roots: WorldRoot[] = [];
      for (let i = 0; i < rootCount; i++) {
        const idr = Identity.deserialize(buf, r.pos, end);
        if (!idr.ok) return { ok: false, error: `root ${i}: ${idr.error}` };
        r.skip(idr.length);
        const epCount = r.u8("endpoint count");
        if (epCount > WORLD_MAX_STABLE_ENDPOINTS_PER_ROOT) {
          return { ok: false, error: `root ${i} has ${epCount} endpoints, at most ${WORLD_MAX_STABLE_ENDPOINTS_PER_ROOT} allowed` };
        }
        const eps: InetAddress[] = [];
        for (let k = 0; k < epCount; k++) {
          const ep = decodeInetAddress(buf, r.pos, end);
          if (!ep.ok) return { ok: false, error: `root ${i} endpoint ${k}: ${ep.error}` };
          r.skip(ep.length);
          // Null and reserved-type entries carry no address; the reference keeps them as empty
          // addresses that nothing can use, so they are dropped here.
          if (ep.addr !== null) eps.push(ep.addr);
        }
        roots.push({ identity: idr.identity.publicOnly(), stableEndpoints: eps });
      }
      if (type === WORLD_TYPE_MOON) {
        // Reserved dictionary, always empty in 1.14; skipped like the reference does.
        const dictLen = r.u16("moon dictionary length");
        r.skip(dictLen, "moon dictionary");
      }
      const length = r.pos - off;
      if (length > WORLD_MAX_SERIALIZED_LENGTH) {
        return { ok: false, error: `world is ${length} bytes, more than ${WORLD_MAX_SERIALIZED_LENGTH}` };
      }
      return { ok: true, world: new World(type, id, timestamp, updatesMustBeSignedBy, signature, roots), length };
    } catch (e) {
      if (e instanceof DecodeError) return { ok: false, error: e.message };
      throw e;
    }
  }

  /** Whole-buffer decode (planet / .moon files): the world must use every byte. */
  static fromBytes(bytes: Uint8Array): WorldParse {
    if (bytes.length > WORLD_MAX_SERIALIZED_LENGTH) {
      return { ok: false, error: `world data is ${bytes.length} bytes, more than ${WORLD_MAX_SERIALIZED_LENGTH}` };
    }
    const r = World.parse(bytes, 0, bytes.length);
    if (r.ok && r.length !== bytes.length) return { ok: false, error: `${bytes.length - r.length} unexpected bytes after world` };
    return r;
  }

  /** The serialized world, exactly as the reference writes it. */
  serialize(): Uint8Array {
    return this.write(false);
  }

  /** The bytes the signature covers (spec 5.2). */
  signedMessage(): Uint8Array {
    return this.write(true);
  }

  private write(forSign: boolean): Uint8Array {
    const w = new ByteWriter(512, WORLD_MAX_SERIALIZED_LENGTH + (forSign ? 16 : 0));
    if (forSign) w.bytes(SIGNED_PREFIX);
    w.u8(this.type).u64(this.id).u64(this.timestamp).bytes(this.updatesMustBeSignedBy);
    if (!forSign) w.bytes(this.signature);
    w.u8(this.roots.length);
    for (const root of this.roots) {
      w.bytes(root.identity.serialize(false));
      w.u8(root.stableEndpoints.length);
      for (const ep of root.stableEndpoints) w.bytes(serializeInetAddress(ep));
    }
    if (this.type === WORLD_TYPE_MOON) w.u16(0);
    if (forSign) w.bytes(SIGNED_SUFFIX);
    return w.finish();
  }

  // ---- signatures (spec 5.2) ----

  /** Checks the signature against `key` (default: this world's own updatesMustBeSignedBy, true for initial revisions). */
  verifySignature(key: Uint8Array = this.updatesMustBeSignedBy): boolean {
    return c25519Verify(key, this.signedMessage(), this.signature);
  }

  /**
   * Creates and signs a world. `signWith` is the key pair named by the previous revision's
   * updatesMustBeSignedBy (for a first revision, usually the same key as def.updatesMustBeSignedBy).
   * Throws RangeError when the definition breaks the format's limits.
   */
  static make(def: WorldDefinition, signWith: SigningKeyPair): World {
    if (def.type !== WORLD_TYPE_PLANET && def.type !== WORLD_TYPE_MOON) throw new RangeError(`invalid world type ${String(def.type)}`);
    if (def.id < 0n || def.id > 0xffffffffffffffffn) throw new RangeError("world id must be an unsigned 64-bit integer");
    if (def.timestamp < 0n || def.timestamp > 0xffffffffffffffffn) {
      throw new RangeError("world timestamp must be an unsigned 64-bit integer");
    }
    if (def.updatesMustBeSignedBy.length !== 64) throw new RangeError("updatesMustBeSignedBy must be a 64-byte public key");
    if (signWith.pub.length !== 64 || signWith.priv.length !== 64) throw new RangeError("signing key pair must be 64+64 bytes");
    if (def.roots.length > WORLD_MAX_ROOTS) throw new RangeError(`a world has at most ${WORLD_MAX_ROOTS} roots`);
    let size = 1 + 8 + 8 + 64 + 96 + 1 + (def.type === WORLD_TYPE_MOON ? 2 : 0);
    for (const root of def.roots) {
      if (root.stableEndpoints.length > WORLD_MAX_STABLE_ENDPOINTS_PER_ROOT) {
        throw new RangeError(`root ${root.identity.addressString}: at most ${WORLD_MAX_STABLE_ENDPOINTS_PER_ROOT} stable endpoints`);
      }
      size += 71 + 1;
      for (const ep of root.stableEndpoints) size += inetAddressSerializedLength(ep);
    }
    if (size > WORLD_MAX_SERIALIZED_LENGTH) throw new RangeError(`world would be ${size} bytes, more than ${WORLD_MAX_SERIALIZED_LENGTH}`);
    const roots = def.roots.map((r) => ({ identity: r.identity.publicOnly(), stableEndpoints: [...r.stableEndpoints] }));
    const unsigned = new World(def.type, def.id, def.timestamp, def.updatesMustBeSignedBy.slice(), new Uint8Array(96), roots);
    const signature = c25519Sign(signWith.priv, signWith.pub, unsigned.signedMessage());
    return new World(def.type, def.id, def.timestamp, unsigned.updatesMustBeSignedBy, signature, roots);
  }

  // ---- updates (spec 5.3) ----

  /**
   * True iff `update` should replace this world: this one is null, or the update has the same
   * type and ID, a strictly newer timestamp, and is signed by this world's updatesMustBeSignedBy.
   */
  shouldBeReplacedBy(update: World): boolean {
    if (this.id === 0n || this.type === WORLD_TYPE_NULL) return true;
    if (update.id !== this.id || update.type !== this.type || update.timestamp <= this.timestamp) return false;
    return update.verifySignature(this.updatesMustBeSignedBy);
  }

  equals(other: World): boolean {
    if (
      this.type !== other.type ||
      this.id !== other.id ||
      this.timestamp !== other.timestamp ||
      !bytesEqual(this.updatesMustBeSignedBy, other.updatesMustBeSignedBy) ||
      !bytesEqual(this.signature, other.signature) ||
      this.roots.length !== other.roots.length
    ) {
      return false;
    }
    for (let i = 0; i < this.roots.length; i++) {
      const a = this.roots[i]!;
      const b = other.roots[i]!;
      if (!a.identity.equals(b.identity) || a.stableEndpoints.length !== b.stableEndpoints.length) return false;
      for (let k = 0; k < a.stableEndpoints.length; k++) {
        if (!inetAddressEquals(a.stableEndpoints[k]!, b.stableEndpoints[k]!)) return false;
      }
    }
    return true;
  }

  /** Reference file name for a moon: 16 lowercase hex digits of the ID + ".moon". */
  get moonFileName(): string {
    return `${this.id.toString(16).padStart(16, "0")}.moon`;
  }
}
