/**
 * Codecs for the small binary values of a network config (spec 6.5): routes (`RT`), static IPs
 * (`I`), specialists (`S`) and DNS (`DNS`). Readers throw DecodeError; network-config.ts turns that
 * into a rejection reason.
 */
import { ByteReader, ByteWriter, DecodeError } from "../util/bytes.ts";
import { type InetAddress, decodeInetAddress, encodeInetAddress, inetAddressSerializedLength } from "../vl1/inet-address.ts";

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
}

export const EMPTY_DNS: DnsConfig = { domain: "", servers: [] };

function readInet(r: ByteReader, what: string): InetAddress | null {
  const d = decodeInetAddress(r.buf, r.pos, r.end);
  if (!d.ok) throw new DecodeError(`${what}: ${d.error}`);
  r.pos += d.length;
  return d.addr;
}

function writeInet(w: ByteWriter, a: InetAddress | null): void {
  const b = new Uint8Array(inetAddressSerializedLength(a));
  encodeInetAddress(a, b, 0);
  w.bytes(b);
}

export function readRoutes(buf: Uint8Array): Route[] {
  const r = new ByteReader(buf);
  const out: Route[] = [];
  while (r.remaining > 0) {
    if (out.length >= MAX_ROUTES) throw new DecodeError(`more than ${MAX_ROUTES} routes`);
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

export function readStaticIps(buf: Uint8Array): InetAddress[] {
  const r = new ByteReader(buf);
  const out: InetAddress[] = [];
  while (r.remaining > 0) {
    if (out.length >= MAX_STATIC_IPS) throw new DecodeError(`more than ${MAX_STATIC_IPS} static IPs`);
    const a = readInet(r, "static IP");
    if (a === null) throw new DecodeError("null static IP");
    out.push(a);
  }
  return out;
}

export function encodeStaticIps(ips: readonly InetAddress[]): Uint8Array {
  const w = new ByteWriter(ips.length * 19);
  for (const a of ips) writeInet(w, a);
  return w.finish();
}

export function readSpecialists(buf: Uint8Array): bigint[] {
  if (buf.length % 8 !== 0) throw new DecodeError(`specialists: ${buf.length} bytes is not a multiple of 8`);
  if (buf.length / 8 > MAX_SPECIALISTS) throw new DecodeError(`more than ${MAX_SPECIALISTS} specialists`);
  const r = new ByteReader(buf);
  const out: bigint[] = [];
  while (r.remaining > 0) out.push(r.u64("specialist"));
  return out;
}

export function encodeSpecialists(s: readonly bigint[]): Uint8Array {
  const w = new ByteWriter(s.length * 8);
  for (const v of s) w.u64(v);
  return w.finish();
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

export function readDns(buf: Uint8Array): DnsConfig {
  const r = new ByteReader(buf);
  const domainBytes = r.bytes(DNS_DOMAIN_LENGTH, "DNS domain");
  let n = 0;
  // the reference forces byte 127 to NUL, so at most 127 bytes count
  while (n < DNS_DOMAIN_LENGTH - 1 && domainBytes[n] !== 0) n++;
  // 1.14 keeps (and writes back) bytes after the terminator; controllers never put any there
  for (let i = n; i < DNS_DOMAIN_LENGTH - 1; i++) if (domainBytes[i] !== 0) throw new DecodeError("DNS: bytes after the domain's terminator");
  let domain: string;
  try {
    domain = utf8Decoder.decode(domainBytes.subarray(0, n));
  } catch {
    throw new DecodeError("DNS: domain is not valid UTF-8");
  }
  const servers: InetAddress[] = [];
  for (let i = 0; i < MAX_DNS_SERVERS; i++) {
    const a = readInet(r, `DNS server ${i}`);
    if (a !== null) servers.push(a);
  }
  if (r.remaining !== 0) throw new DecodeError(`DNS: ${r.remaining} trailing bytes`);
  return { domain, servers };
}

export function encodeDns(dns: DnsConfig): Uint8Array {
  if (dns.servers.length > MAX_DNS_SERVERS) throw new RangeError(`at most ${MAX_DNS_SERVERS} DNS servers`);
  const domain = utf8.encode(dns.domain);
  if (domain.length > DNS_DOMAIN_LENGTH - 1) throw new RangeError("DNS domain longer than 127 bytes");
  const w = new ByteWriter(DNS_DOMAIN_LENGTH + 4 * 19);
  const d = new Uint8Array(DNS_DOMAIN_LENGTH);
  d.set(domain);
  w.bytes(d);
  for (let i = 0; i < MAX_DNS_SERVERS; i++) writeInet(w, dns.servers[i] ?? null);
  return w.finish();
}
