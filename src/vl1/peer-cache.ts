/**
 * The peer cache, `peers.d/<10 hex>.peer` (spec 9): format byte 2, the public identity, the remote
 * protocol/major/minor/revision as 16-bit values, then a 16-bit count of InetAddresses. On load the
 * addresses are only contacted (HELLO), never trusted as paths.
 */

import { Identity } from "./identity.ts";
import { type InetAddress, decodeInetAddress, encodeInetAddress, inetAddressSerializedLength } from "./inet-address.ts";

export const PEER_CACHE_FORMAT = 2;
/** Files older than this are ignored and should be deleted by the store. */
export const PEER_CACHE_MAX_AGE_MS = 30 * 24 * 3600 * 1000;
/** Upper bound on addresses we write or read back. */
export const PEER_CACHE_MAX_PATHS = 64;

export interface CachedPeer {
  readonly identity: Identity;
  readonly protocol: number;
  readonly major: number;
  readonly minor: number;
  readonly revision: number;
  readonly addresses: readonly InetAddress[];
}

export type PeerCacheDecode = { readonly ok: true; readonly peer: CachedPeer } | { readonly ok: false; readonly error: string };

export function encodePeerCache(p: CachedPeer): Uint8Array {
  const addrs = p.addresses.slice(0, PEER_CACHE_MAX_PATHS);
  let size = 1 + p.identity.serializedLength(false) + 10;
  for (const a of addrs) size += inetAddressSerializedLength(a);
  const out = new Uint8Array(size);
  out[0] = PEER_CACHE_FORMAT;
  let o = 1 + p.identity.serializeInto(out, 1, false);
  for (const v of [p.protocol, p.major, p.minor, p.revision, addrs.length]) {
    const u = v < 0 ? 0xffff : v & 0xffff;
    out[o++] = u >>> 8;
    out[o++] = u & 0xff;
  }
  for (const a of addrs) o += encodeInetAddress(a, out, o);
  return out;
}

export function decodePeerCache(buf: Uint8Array): PeerCacheDecode {
  if (buf.length < 1) return { ok: false, error: "empty peer cache entry" };
  if (buf[0] !== PEER_CACHE_FORMAT) return { ok: false, error: `unsupported peer cache format ${buf[0]}` };
  const id = Identity.deserialize(buf, 1, buf.length);
  if (!id.ok) return { ok: false, error: `identity: ${id.error}` };
  if (id.identity.hasPrivate) return { ok: false, error: "peer cache entry holds a private key" };
  let o = 1 + id.length;
  if (buf.length - o < 10) return { ok: false, error: "truncated peer cache entry" };
  const u16 = (): number => {
    const v = (buf[o]! << 8) | buf[o + 1]!;
    o += 2;
    return v;
  };
  const signed = (v: number): number => (v === 0xffff ? -1 : v);
  const protocol = u16();
  const major = signed(u16());
  const minor = signed(u16());
  const revision = signed(u16());
  const count = u16();
  const addresses: InetAddress[] = [];
  for (let i = 0; i < count; i++) {
    const a = decodeInetAddress(buf, o, buf.length);
    if (!a.ok) return { ok: false, error: `address ${i}: ${a.error}` };
    o += a.length;
    if (a.addr !== null && addresses.length < PEER_CACHE_MAX_PATHS) addresses.push(a.addr);
  }
  return { ok: true, peer: { identity: id.identity, protocol: protocol === 0xffff ? 0 : protocol, major, minor, revision, addresses } };
}
