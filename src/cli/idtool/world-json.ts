/**
 * The JSON world description read by `genmoon` and `mkworld`. It is the format `initmoon`
 * prints (and the reference genmoon reads), extended for planets:
 *
 * {
 *   "worldType": "moon" | "planet",        genmoon: required; mkworld: default "planet"
 *   "id": "<hex>" | <decimal number>,      non-zero 64-bit world ID (a string is hex, as in genmoon)
 *   "timestamp": <ms since epoch>,         optional revision; default: now
 *   "signingKey": "<128 hex>",             key pair that signs THIS revision (the previous
 *   "signingKey_SECRET": "<128 hex>",        revision's updatesMustBeSignedBy, or the first key)
 *   "signingKeyFile": "<path>",            alternative: 128-byte public||private file
 *                                            (mkworld's previous.c25519 format), relative to the JSON
 *   "updatesMustBeSignedBy": "<128 hex>",  public key allowed to sign the NEXT revision
 *                                            (default: signingKey)
 *   "updatesMustBeSignedByFile": "<path>", alternative: a .c25519 file (its first 64 bytes) or a
 *                                            64-byte public key file
 *   "roots": [ { "identity": "<address>:0:<public hex>",
 *                "stableEndpoints": [ "1.2.3.4/9993", "2001:db8::1/9993" ] } ]   1..4 roots, <= 32 endpoints each
 * }
 * Other keys (e.g. "objtype") are ignored.
 */

import { readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { c25519PublicFromPrivate } from "../../crypto/c25519.ts";
import { bytesEqual } from "../../util/bytes.ts";
import { fromHexExact } from "../../util/hex.ts";
import { Identity } from "../../vl1/identity.ts";
import { type InetAddress, compareInetAddressLikeReference, inetAddressFromString } from "../../vl1/inet-address.ts";
import {
  type SigningKeyPair,
  WORLD_MAX_ROOTS,
  WORLD_MAX_STABLE_ENDPOINTS_PER_ROOT,
  WORLD_TYPE_MOON,
  WORLD_TYPE_PLANET,
  type WorldDefinition,
  type WorldRoot,
} from "../../vl1/world.ts";

export interface WorldJsonOptions {
  /** Used when "worldType" is absent; null makes it required. */
  readonly defaultType: "planet" | "moon" | null;
  /** Timestamp when "timestamp" is absent (ms). */
  readonly now: bigint;
  /** Directory that key file paths are relative to. */
  readonly baseDir: string;
  /** Sort roots and endpoints the way the reference genmoon does. */
  readonly sortLikeGenmoon: boolean;
}

export type WorldJsonResult =
  | { readonly ok: true; readonly def: WorldDefinition; readonly signWith: SigningKeyPair }
  | { readonly ok: false; readonly error: string };

type Fail = { ok: false; error: string };
const bad = (error: string): Fail => ({ ok: false, error });

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function worldFromJson(value: unknown, opts: WorldJsonOptions): WorldJsonResult {
  if (!isRecord(value)) return bad("world JSON must be an object");

  const wt = value["worldType"] ?? opts.defaultType;
  if (wt !== "planet" && wt !== "moon") return bad('invalid worldType (must be "planet" or "moon")');
  const type = wt === "planet" ? WORLD_TYPE_PLANET : WORLD_TYPE_MOON;

  const id = parseId(value["id"]);
  if (id === null) return bad('invalid "id" (non-zero 64-bit: hex string or decimal number)');

  let timestamp = opts.now;
  if (value["timestamp"] !== undefined) {
    const t = parseTimestamp(value["timestamp"]);
    if (t === null) return bad('invalid "timestamp" (milliseconds since the epoch)');
    timestamp = t;
  }

  const signWith = signingKey(value, opts.baseDir);
  if (!signWith.ok) return signWith;

  let next: Uint8Array = signWith.pair.pub;
  if (value["updatesMustBeSignedBy"] !== undefined) {
    const k = hexKey(value["updatesMustBeSignedBy"]);
    if (k === null) return bad('invalid "updatesMustBeSignedBy" (128 hex digits)');
    next = k;
  } else if (value["updatesMustBeSignedByFile"] !== undefined) {
    const f = keyFile(value["updatesMustBeSignedByFile"], opts.baseDir, true);
    if (!f.ok) return f;
    next = f.data.slice(0, 64);
  }

  const rootsJson = value["roots"];
  if (!Array.isArray(rootsJson) || rootsJson.length === 0) return bad('"roots" must be a non-empty array');
  if (rootsJson.length > WORLD_MAX_ROOTS) return bad(`too many roots (${rootsJson.length}, at most ${WORLD_MAX_ROOTS})`);
  const roots: WorldRoot[] = [];
  for (let i = 0; i < rootsJson.length; i++) {
    const r: unknown = rootsJson[i];
    if (!isRecord(r)) return bad(`root ${i} must be an object`);
    const idText = r["identity"];
    if (typeof idText !== "string") return bad(`root ${i}: "identity" must be an identity string`);
    const parsed = Identity.parse(idText);
    if (!parsed.ok) return bad(`root ${i}: ${parsed.error}`);
    const epsJson = r["stableEndpoints"] ?? [];
    if (!Array.isArray(epsJson)) return bad(`root ${i}: "stableEndpoints" must be an array of "ip/port" strings`);
    if (epsJson.length > WORLD_MAX_STABLE_ENDPOINTS_PER_ROOT) {
      return bad(`root ${i}: too many stable endpoints (${epsJson.length}, at most ${WORLD_MAX_STABLE_ENDPOINTS_PER_ROOT})`);
    }
    const eps: InetAddress[] = [];
    for (const e of epsJson as unknown[]) {
      const a = typeof e === "string" ? inetAddressFromString(e) : null;
      if (a === null) return bad(`root ${i}: invalid stable endpoint ${JSON.stringify(e)} (expected "ip/port")`);
      eps.push(a);
    }
    if (opts.sortLikeGenmoon) eps.sort(compareInetAddressLikeReference);
    roots.push({ identity: parsed.identity.publicOnly(), stableEndpoints: eps });
  }
  if (opts.sortLikeGenmoon) roots.sort((a, b) => a.identity.compare(b.identity));

  return { ok: true, def: { type, id, timestamp, updatesMustBeSignedBy: next, roots }, signWith: signWith.pair };
}

function parseId(v: unknown): bigint | null {
  let id: bigint;
  if (typeof v === "string") {
    const s = v.startsWith("0x") || v.startsWith("0X") ? v.slice(2) : v;
    if (!/^[0-9a-fA-F]{1,16}$/.test(s)) return null;
    id = BigInt(`0x${s}`);
  } else if (typeof v === "number") {
    if (!Number.isSafeInteger(v) || v < 0) return null;
    id = BigInt(v);
  } else {
    return null;
  }
  return id === 0n ? null : id;
}

function parseTimestamp(v: unknown): bigint | null {
  if (typeof v === "number") return Number.isSafeInteger(v) && v >= 0 ? BigInt(v) : null;
  if (typeof v === "string" && /^[0-9]{1,20}$/.test(v)) {
    const t = BigInt(v);
    return t <= 0xffffffffffffffffn ? t : null;
  }
  return null;
}

function hexKey(v: unknown): Uint8Array | null {
  return typeof v === "string" ? fromHexExact(v, 64) : null;
}

function keyFile(v: unknown, baseDir: string, publicOnlyOk: boolean): { ok: true; data: Uint8Array } | Fail {
  if (typeof v !== "string" || v.length === 0) return bad("key file path must be a string");
  const path = isAbsolute(v) ? v : join(baseDir, v);
  let data: Uint8Array;
  try {
    data = new Uint8Array(readFileSync(path));
  } catch (e) {
    return bad(`cannot read key file ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (data.length !== 128 && !(publicOnlyOk && data.length === 64)) {
    return bad(`key file ${path} must be 128 bytes (public || private)${publicOnlyOk ? " or a 64-byte public key" : ""}, is ${data.length}`);
  }
  return { ok: true, data };
}

function signingKey(value: Record<string, unknown>, baseDir: string): { ok: true; pair: SigningKeyPair } | Fail {
  let pub: Uint8Array | null;
  let priv: Uint8Array | null;
  if (value["signingKeyFile"] !== undefined) {
    const f = keyFile(value["signingKeyFile"], baseDir, false);
    if (!f.ok) return f;
    pub = f.data.slice(0, 64);
    priv = f.data.slice(64, 128);
  } else {
    pub = hexKey(value["signingKey"]);
    if (pub === null) return bad('invalid or missing "signingKey" (128 hex digits)');
    priv = hexKey(value["signingKey_SECRET"]);
    if (priv === null) return bad('invalid or missing "signingKey_SECRET" (128 hex digits)');
  }
  // A mismatched pair would produce a world nobody accepts; say so now rather than at deployment.
  if (!bytesEqual(c25519PublicFromPrivate(priv), pub)) return bad("signing key's public half does not match its secret half");
  return { ok: true, pair: { pub, priv } };
}
