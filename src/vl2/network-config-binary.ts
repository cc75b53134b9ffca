/**
 * Codecs for the small binary values of a network config (spec 6.5): routes (`RT`), static IPs
 * (`I`), specialists (`S`) and DNS (`DNS`). Readers take what 1.14's NetworkConfig::fromDictionary
 * takes; they throw DecodeError where 1.14 fails and RefusedValueError for what we refuse on
 * purpose, and network-config.ts turns either into a rejection reason.
 */
import { ByteReader, ByteWriter, bytesEqual, DecodeError } from "../util/bytes.ts";
import { type InetAddress, encodeInetAddress, inetAddressSerializedLength } from "../vl1/inet-address.ts";
import { RefusedValueError } from "./result.ts";

export const MAX_ROUTES = 128;
export const MAX_STATIC_IPS = 32;
export const MAX_SPECIALISTS = 256;
export const MAX_DNS_SERVERS = 4;
export const DNS_DOMAIN_LENGTH = 128;

export const SPECIALIST_ACTIVE_BRIDGE = 0x0000020000000000n;
export const SPECIALIST_ANCHOR = 0x0000040000000000n;
export const SPECIALIST_MULTICAST_REPLICATOR = 0x0000080000000000n;

export interface Route {
  /** Network address with the prefix length in `port`; null only if the wire said so. */
  readonly target: InetAddress | null;
  /** Gateway, or null for a route directly on the ZeroTier LAN. */
  readonly via: InetAddress | null;
  readonly flags: number;
  readonly metric: number;
}

export interface DnsConfig {
  /** Search domain (≤127 bytes). */
  readonly domain: string;
  /** Up to 4 servers (port 0 as 1.14 writes them). */
  readonly servers: readonly InetAddress[];
  /**
   * Set only by readDns for a value 1.14 would write back differently from domain + servers
   * (bytes after the domain's NUL, empty slots before used ones): those bytes, which encodeDns
   * then writes as long as they still describe this domain and these servers.
   */
  readonly wire?: Uint8Array;
}

export const EMPTY_DNS: DnsConfig = { domain: "", servers: [] };

/**
 * An InetAddress as 1.14's InetAddress::deserialize reads it: type 0 is null; the reserved types
 * 1 and 2 (7 bytes) and 3 (16-bit length, then that many bytes) read as null too, their length
 * skipped without a bounds check (a later read past the end then fails, as 1.14's does); 4 and 6
 * are IPv4/IPv6 with a 16-bit port; any other type is an error.
 */
function readInet(r: ByteReader, what: string): InetAddress | null {
  const type = r.u8(`${what} type`);
  switch (type) {
    case 0:
      return null;
    case 1:
    case 2:
      r.pos += 6;
      return null;
    case 3: {
      const len = r.u16(`${what} length`);
      r.pos += len;
      return null;
    }
    case 4:
      return { family: 4, ip: r.bytes(4, what), port: r.u16(what) };
    case 6:
      return { family: 6, ip: r.bytes(16, what), port: r.u16(what) };
    default:
      throw new DecodeError(`${what}: invalid InetAddress type 0x${type.toString(16).padStart(2, "0")}`);
  }
}

function writeInet(w: ByteWriter, a: InetAddress | null): void {
  const b = new Uint8Array(inetAddressSerializedLength(a));
  encodeInetAddress(a, b, 0);
  w.bytes(b);
}

/** 1.14's reading: routes while bytes remain, the first MAX_ROUTES kept and the rest ignored. */
export function readRoutes(buf: Uint8Array): Route[] {
  const r = new ByteReader(buf);
  const out: Route[] = [];
  while (r.pos < r.end && out.length < MAX_ROUTES) {
    const target = readInet(r, "route target");
    const via = readInet(r, "route via");
    out.push({ target, via, flags: r.u16("route flags"), metric: r.u16("route metric") });
  }
  return out;
}

export function encodeRoutes(routes: readonly Route[]): Uint8Array {
  const w = new ByteWriter(routes.length * 24);
  for (const rt of routes) {
    writeInet(w, rt.target);
    writeInet(w, rt.via);
    w.u16(rt.flags).u16(rt.metric);
  }
  return w.finish();
}

/**
 * 1.14's reading: addresses while bytes remain, the first MAX_STATIC_IPS kept and the rest
 * ignored. An entry without an address family (1.14 keeps an empty slot) is refused.
 */
export function readStaticIps(buf: Uint8Array): InetAddress[] {
  const r = new ByteReader(buf);
  const out: InetAddress[] = [];
  while (r.pos < r.end && out.length < MAX_STATIC_IPS) {
    const a = readInet(r, "static IP");
    if (a === null) throw new RefusedValueError(`static IP ${out.length}: static IP without an address`);
    out.push(a);
  }
  return out;
}

export function encodeStaticIps(ips: readonly InetAddress[]): Uint8Array {
  const w = new ByteWriter(ips.length * 19);
  for (const a of ips) writeInet(w, a);
  return w.finish();
}

/** 1.14's reading: whole 8-byte entries (a partial one at the end is ignored), the first MAX_SPECIALISTS kept. */
export function readSpecialists(buf: Uint8Array): bigint[] {
  const r = new ByteReader(buf);
  const out: bigint[] = [];
  while (r.remaining >= 8 && out.length < MAX_SPECIALISTS) out.push(r.u64("specialist"));
  return out;
}

export function encodeSpecialists(s: readonly bigint[]): Uint8Array {
  const w = new ByteWriter(s.length * 8);
  for (const v of s) w.u64(v);
  return w.finish();
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * 1.14's reading: a 128-byte domain field (its last byte forced to NUL; the domain is the C string
 * at its start), then four server slots; bytes after them are ignored. A value too short for the
 * first slot's type byte fails. When what 1.14 would write back is not what `encodeDns` makes of
 * the domain and servers alone (bytes after the domain's NUL, an empty slot before a used one, a
 * reserved address type), the result carries it as `wire`.
 */
export function readDns(buf: Uint8Array): DnsConfig {
  if (buf.length <= DNS_DOMAIN_LENGTH) throw new DecodeError(`DNS: truncated: ${buf.length} bytes, the first server starts at ${DNS_DOMAIN_LENGTH}`);
  const field = buf.slice(0, DNS_DOMAIN_LENGTH);
  field[DNS_DOMAIN_LENGTH - 1] = 0;
  const domain = domainOf(field);
  const r = new ByteReader(buf, DNS_DOMAIN_LENGTH);
  const slots: (InetAddress | null)[] = [];
  for (let i = 0; i < MAX_DNS_SERVERS; i++) slots.push(readInet(r, `DNS server ${i}`));
  const servers = slots.filter((a): a is InetAddress => a !== null);
  const w = new ByteWriter(DNS_DOMAIN_LENGTH + MAX_DNS_SERVERS * 19);
  w.bytes(field);
  for (const a of slots) writeInet(w, a);
  const wire = w.finish();
  return bytesEqual(wire, encodeDns({ domain, servers })) ? { domain, servers } : { domain, servers, wire };
}

function domainOf(field: Uint8Array): string {
  const nul = field.indexOf(0);
  try {
    return utf8Decoder.decode(field.subarray(0, nul));
  } catch {
    throw new RefusedValueError("DNS domain: not valid UTF-8");
  }
}

function sameAddress(a: InetAddress, b: InetAddress): boolean {
  return a.family === b.family && a.port === b.port && bytesEqual(a.ip, b.ip);
}

/** Is `wire` (as readDns keeps it) still the DNS value of this domain and these servers? */
function wireDescribes(wire: Uint8Array, dns: DnsConfig): boolean {
  try {
    const again = readDns(wire);
    return again.domain === dns.domain && again.servers.length === dns.servers.length && again.servers.every((a, i) => sameAddress(a, dns.servers[i]!));
  } catch {
    return false;
  }
}

/** The DNS value: `wire` if it still describes this domain and these servers, else the canonical form. */
export function encodeDns(dns: DnsConfig): Uint8Array {
  if (dns.servers.length > MAX_DNS_SERVERS) throw new RangeError(`at most ${MAX_DNS_SERVERS} DNS servers`);
  if (dns.wire !== undefined && wireDescribes(dns.wire, dns)) return dns.wire.slice();
  const domain = utf8.encode(dns.domain);
  if (domain.length > DNS_DOMAIN_LENGTH - 1) throw new RangeError("DNS domain longer than 127 bytes");
  const w = new ByteWriter(DNS_DOMAIN_LENGTH + 4 * 19);
  const d = new Uint8Array(DNS_DOMAIN_LENGTH);
  d.set(domain);
  w.bytes(d);
  for (let i = 0; i < MAX_DNS_SERVERS; i++) writeInet(w, dns.servers[i] ?? null);
  return w.finish();
}
