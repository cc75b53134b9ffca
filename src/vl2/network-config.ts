/**
 * NetworkConfig (spec 6.5): what a controller tells a member about a network, carried as a
 * Dictionary. `networkConfigToDictionary` writes the keys in the order and forms 1.14's
 * NetworkConfig::toDictionary does, so a stored `networks.d/<nwid>.conf` re-serializes byte for
 * byte; `parseNetworkConfig` takes exactly what 1.14's NetworkConfig::fromDictionary takes, but for
 * a few listed values we refuse on purpose (test/vl2/network-config-reference.test.ts), and
 * rejects anything else with a reason instead of half-applying it.
 */
import { ByteReader, ByteWriter, DecodeError } from "../util/bytes.ts";
import type { Address } from "../vl1/address.ts";
import type { InetAddress } from "../vl1/inet-address.ts";
import { type CertificateOfMembership, readCom, writeCom } from "./com.ts";
import { type Capability, readCapability, writeCapability } from "./credentials/capability.ts";
import { type CertificateOfOwnership, readCoo, writeCoo } from "./credentials/certificate-of-ownership.ts";
import { type Tag, readTag, writeTag } from "./credentials/tag.ts";
import { Dictionary, NETWORK_CONFIG_DICT_CAPACITY } from "./dictionary.ts";
import {
  type DnsConfig,
  EMPTY_DNS,
  MAX_ROUTES,
  MAX_SPECIALISTS,
  MAX_STATIC_IPS,
  type Route,
  SPECIALIST_ACTIVE_BRIDGE,
  SPECIALIST_ANCHOR,
  SPECIALIST_MULTICAST_REPLICATOR,
  encodeDns,
  encodeRoutes,
  encodeSpecialists,
  encodeStaticIps,
  readDns,
  readRoutes,
  readSpecialists,
  readStaticIps,
} from "./network-config-binary.ts";
import type { NetworkId } from "./network-id.ts";
import { type Decoded, RefusedValueError, fail, guard, ok } from "./result.ts";
import { MAX_NETWORK_RULES, type Rule, readRules, writeRules } from "./rules.ts";

export type { DnsConfig, Route };

export const NETWORK_CONFIG_VERSION = 7;
export const MAX_CAPABILITIES = 128;
export const MAX_TAGS = 128;
export const MAX_CERTIFICATES_OF_OWNERSHIP = 4;
export const MAX_NAME_LENGTH = 127;
export const DEFAULT_MTU = 2800;
export const MIN_MTU = 1280;
export const MAX_MTU = 10000;

export const NetworkConfigFlag = {
  ENABLE_BROADCAST: 0x2,
  ENABLE_IPV6_NDP_EMULATION: 0x4,
  RULES_RESULT_OF_UNSUPPORTED_MATCH: 0x8,
  DISABLE_COMPRESSION: 0x10,
} as const;

export const NetworkType = { PRIVATE: 0, PUBLIC: 1 } as const;

export interface SsoConfig {
  /** 0 = implicit flow (aurl/aexpt), 1 = full OIDC flow. */
  readonly version: number;
  readonly enabled: boolean;
  readonly authenticationUrl: string;
  readonly authenticationExpiryTime: number;
  readonly issuerUrl: string;
  readonly centralAuthUrl: string;
  readonly nonce: string;
  readonly state: string;
  readonly clientId: string;
  readonly provider: string;
}

export const NO_SSO: SsoConfig = {
  version: 0,
  enabled: false,
  authenticationUrl: "",
  authenticationExpiryTime: 0,
  issuerUrl: "",
  centralAuthUrl: "",
  nonce: "",
  state: "",
  clientId: "",
  provider: "",
};

export interface NetworkConfig {
  readonly networkId: NetworkId;
  readonly timestamp: number;
  readonly credentialTimeMaxDelta: number;
  readonly revision: number;
  readonly issuedTo: Address;
  readonly remoteTraceTarget: Address;
  readonly remoteTraceLevel: number;
  readonly flags: number;
  readonly multicastLimit: number;
  readonly type: number;
  readonly name: string;
  readonly mtu: number;
  readonly com: CertificateOfMembership | null;
  /** Sorted by id (as 1.14 keeps them). */
  readonly capabilities: readonly Capability[];
  /** Sorted by id. */
  readonly tags: readonly Tag[];
  readonly certificatesOfOwnership: readonly CertificateOfOwnership[];
  /** Low 40 bits address, high bits SPECIALIST_* flags. */
  readonly specialists: readonly bigint[];
  readonly routes: readonly Route[];
  readonly staticIps: readonly InetAddress[];
  readonly rules: readonly Rule[];
  readonly dns: DnsConfig;
  readonly sso: SsoConfig;
}

/** A config with 1.14's defaults for everything not given (for controllers building one). */
export function makeNetworkConfig(c: Pick<NetworkConfig, "networkId" | "issuedTo"> & Partial<NetworkConfig>): NetworkConfig {
  return {
    timestamp: 0,
    credentialTimeMaxDelta: 0,
    revision: 0,
    remoteTraceTarget: 0,
    remoteTraceLevel: 0,
    flags: 0,
    multicastLimit: 0,
    type: NetworkType.PRIVATE,
    name: "",
    mtu: DEFAULT_MTU,
    com: null,
    capabilities: [],
    tags: [],
    certificatesOfOwnership: [],
    specialists: [],
    routes: [],
    staticIps: [],
    rules: [],
    dns: EMPTY_DNS,
    sso: NO_SSO,
    ...c,
  };
}

// ---- convenience views ----

export const isPrivateNetwork = (nc: NetworkConfig): boolean => nc.type === NetworkType.PRIVATE;
export const broadcastEnabled = (nc: NetworkConfig): boolean => (nc.flags & NetworkConfigFlag.ENABLE_BROADCAST) !== 0;
export const ndpEmulationEnabled = (nc: NetworkConfig): boolean => (nc.flags & NetworkConfigFlag.ENABLE_IPV6_NDP_EMULATION) !== 0;

function specialistsWith(nc: NetworkConfig, flag: bigint): Address[] {
  return nc.specialists.filter((s) => (s & flag) !== 0n).map((s) => Number(s & 0xffffffffffn));
}
export const activeBridges = (nc: NetworkConfig): Address[] => specialistsWith(nc, SPECIALIST_ACTIVE_BRIDGE);
export const anchors = (nc: NetworkConfig): Address[] => specialistsWith(nc, SPECIALIST_ANCHOR);
export const multicastReplicators = (nc: NetworkConfig): Address[] => specialistsWith(nc, SPECIALIST_MULTICAST_REPLICATOR);

// ---- to dictionary (1.14 key order) ----

/**
 * What 1.14's Dictionary::add(key, int64_t) writes: the magnitude in 16 hex digits; for a negative
 * value it means to prefix '-' but passes the digits without it, so the sign is lost.
 */
function int64As114Writes(v: number): bigint {
  const b = BigInt(v);
  return b < 0n ? -b : b;
}

function blob(write: (w: ByteWriter) => void): Uint8Array {
  const w = new ByteWriter(512);
  write(w);
  return w.finish();
}

export function networkConfigToDictionary(nc: NetworkConfig): Dictionary {
  const d = new Dictionary();
  d.addUint("v", NETWORK_CONFIG_VERSION)
    .addUint("nwid", nc.networkId)
    .addUint("ts", int64As114Writes(nc.timestamp))
    .addUint("ctmd", int64As114Writes(nc.credentialTimeMaxDelta))
    .addUint("r", nc.revision)
    .addAddress("id", nc.issuedTo)
    .addAddress("tt", nc.remoteTraceTarget)
    .addUint("tl", nc.remoteTraceLevel)
    .addUint("f", nc.flags)
    .addUint("ml", nc.multicastLimit)
    .addUint("t", nc.type)
    .add("n", nc.name)
    .addUint("mtu", nc.mtu);
  if (nc.com !== null && nc.com.qualifiers.length > 0) d.add("C", blob((w) => writeCom(w, nc.com!)));
  if (nc.capabilities.length > 0) d.add("CAP", blob((w) => nc.capabilities.forEach((c) => writeCapability(w, c))));
  if (nc.tags.length > 0) d.add("TAG", blob((w) => nc.tags.forEach((t) => writeTag(w, t))));
  if (nc.certificatesOfOwnership.length > 0) d.add("COO", blob((w) => nc.certificatesOfOwnership.forEach((c) => writeCoo(w, c))));
  if (nc.specialists.length > 0) d.add("S", encodeSpecialists(nc.specialists));
  if (nc.routes.length > 0) d.add("RT", encodeRoutes(nc.routes));
  if (nc.staticIps.length > 0) d.add("I", encodeStaticIps(nc.staticIps));
  if (nc.rules.length > 0) d.add("R", blob((w) => writeRules(w, nc.rules)));
  d.add("DNS", encodeDns(nc.dns));
  const s = nc.sso;
  // 1.14 writes no SSO key at all for another version
  if (s.version !== 0 && s.version !== 1) return d;
  d.addUint("ssov", s.version).addBool("ssoe", s.enabled);
  if (s.version === 0 && s.enabled) {
    if (s.authenticationUrl.length > 0) d.add("aurl", s.authenticationUrl);
    // a uint64 field in 1.14: a negative time is written as its two's complement
    d.addUint("aexpt", BigInt.asUintN(64, BigInt(s.authenticationExpiryTime)));
  } else if (s.version === 1) {
    d.add("iurl", s.issuerUrl).add("ssoce", s.centralAuthUrl).add("sson", s.nonce).add("ssos", s.state).add("ssocid", s.clientId).add("ssop", s.provider);
  }
  return d;
}

/** What a 1.14 member can hold; more would be cut off silently on its side. */
function overLimit(nc: NetworkConfig): string | null {
  const limits: [string, number, number][] = [
    ["rules", nc.rules.length, MAX_NETWORK_RULES],
    ["capabilities", nc.capabilities.length, MAX_CAPABILITIES],
    ["tags", nc.tags.length, MAX_TAGS],
    ["certificates of ownership", nc.certificatesOfOwnership.length, MAX_CERTIFICATES_OF_OWNERSHIP],
    ["specialists", nc.specialists.length, MAX_SPECIALISTS],
    ["routes", nc.routes.length, MAX_ROUTES],
    ["static IPs", nc.staticIps.length, MAX_STATIC_IPS],
  ];
  for (const [what, n, max] of limits) if (n > max) return `${n} ${what}, at most ${max}`;
  return null;
}

/** The dictionary text a controller signs and chunks (and a member stores). Refused if too large. */
export function encodeNetworkConfig(nc: NetworkConfig): Decoded<Uint8Array> {
  const over = overLimit(nc);
  if (over !== null) return fail(`network config: ${over}`);
  return guard("network config", () => networkConfigToDictionary(nc).serialize(NETWORK_CONFIG_DICT_CAPACITY));
}

// ---- from dictionary ----

/**
 * Parses dictionary text (e.g. an assembled config or a networks.d file) into a config, taking
 * what 1.14's NetworkConfig::fromDictionary takes (see parseNetworkConfig).
 */
export function networkConfigFromBytes(bytes: Uint8Array): Decoded<NetworkConfig> {
  const d = Dictionary.parseAsReference(bytes, NETWORK_CONFIG_DICT_CAPACITY);
  return d.ok ? parseNetworkConfig(d.value) : fail(`network config: ${d.error}`);
}

/** Fatal: a name that is not UTF-8 could not be shown in the JSON API nor written back unchanged. */
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

/** 1.14's char[size] text fields: at most size − 1 bytes, up to a NUL; must be UTF-8 (a refusal of ours). */
function text(d: Dictionary, key: string, size: number): string {
  try {
    return utf8Decoder.decode(d.getCStringAsReference(key, size));
  } catch {
    throw new RefusedValueError(`${key}: not valid UTF-8`);
  }
}

/** A 64-bit value we hold as a JS number: refused beyond 2^53 (1.14 keeps all 64 bits). */
function exactNumber(key: string, v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) throw new RefusedValueError(`${key}: ${v} is beyond 2^53`);
  return Number(v);
}

const U32 = 0xffffffffn;
const ADDRESS_MASK = 0xffffffffffn;

/**
 * Credentials in a list (CAP, TAG) as 1.14 reads them: one after another until the bytes end or
 * one fails to deserialize, keeping those read before it (1.14 swallows that exception).
 */
function readCredentialList<T>(buf: Uint8Array, max: number, what: string, read: (r: ByteReader) => T): T[] {
  const r = new ByteReader(buf);
  const out: T[] = [];
  while (r.pos < r.end) {
    let c: T;
    try {
      c = read(r);
    } catch (e) {
      if (e instanceof DecodeError) break;
      throw e;
    }
    // 1.14 has no bound here and writes past its array
    if (out.length >= max) throw new RefusedValueError(`more than ${max} ${what}`);
    out.push(c);
  }
  return out;
}

/** CoOs as 1.14 reads them: any that fails rejects the config; beyond the 4th they are read and dropped. */
function readCoos(buf: Uint8Array): CertificateOfOwnership[] {
  const r = new ByteReader(buf);
  const out: CertificateOfOwnership[] = [];
  while (r.pos < r.end) {
    const c = readCoo(r);
    if (out.length < MAX_CERTIFICATES_OF_OWNERSHIP) out.push(c);
  }
  return out;
}

/**
 * Reads a config as 1.14's NetworkConfig::fromDictionary does (the dictionary should come from
 * Dictionary.parseAsReference): integers as its getUI/getI read them and cut to the width of its
 * fields, texts cut to its buffers, binary values with its tolerance (trailing bytes after a COM
 * or the DNS servers, a partial specialist, routes/IPs/rules past its maxima, a tag or capability
 * list cut where one fails to deserialize). Rejected: what 1.14 rejects (no nwid, no issued-to
 * address, version < 6, a COM/CoO/route/IP/rule/DNS value it fails to deserialize) and, on
 * purpose, what we cannot hold faithfully or 1.14 handles with undefined behaviour
 * (RefusedValueError: non-UTF-8 text, numbers beyond 2^53, rule prefixes longer than the address,
 * static IPs without an address, more credentials than 1.14's arrays hold).
 */
export function parseNetworkConfig(d: Dictionary): Decoded<NetworkConfig> {
  return guard("network config", () => {
    const networkId = d.getUintAsReference("nwid", 0n);
    if (networkId === 0n) return fail("network config: missing nwid");
    const issuedTo = Number(d.getUintAsReference("id", 0n) & ADDRESS_MASK);
    if (issuedTo === 0) return fail("network config: missing or invalid id (issued-to)");
    const version = d.getUintAsReference("v", 0n);
    if (version < 6n) return fail(`network config: legacy format version ${version} not supported`);
    // unsigned int in 1.14, then clamped
    const rawMtu = Number(d.getUintAsReference("mtu", BigInt(DEFAULT_MTU)) & U32);
    const C = d.get("C");
    const CAP = d.get("CAP");
    const TAG = d.get("TAG");
    const COO = d.get("COO");
    const S = d.get("S");
    const RT = d.get("RT");
    const I = d.get("I");
    const R = d.get("R");
    const DNS = d.get("DNS");
    // present but empty fails too (1.14 reads its format byte); bytes after the COM are ignored;
    // one without qualifiers is no COM to 1.14 (it neither writes nor pushes it)
    const readC = C === undefined ? null : readCom(new ByteReader(C));
    const com = readC !== null && readC.qualifiers.length > 0 ? readC : null;
    const byId = <T extends { id: number }>(a: T, b: T): number => a.id - b.id;
    return ok<NetworkConfig>({
      networkId,
      // int64 in 1.14
      timestamp: exactNumber("ts", BigInt.asIntN(64, d.getUintAsReference("ts", 0n))),
      credentialTimeMaxDelta: exactNumber("ctmd", BigInt.asIntN(64, d.getUintAsReference("ctmd", 0n))),
      revision: exactNumber("r", d.getUintAsReference("r", 0n)),
      issuedTo,
      remoteTraceTarget: Number(d.getUintAsReference("tt", 0n) & ADDRESS_MASK),
      remoteTraceLevel: Number(d.getUintAsReference("tl", 0n) & U32),
      flags: exactNumber("f", d.getUintAsReference("f", 0n)),
      multicastLimit: Number(d.getUintAsReference("ml", 0n) & U32),
      // any value, as 1.14 (which only ever tests for PRIVATE and PUBLIC)
      type: Number(d.getUintAsReference("t", BigInt(NetworkType.PRIVATE)) & U32),
      name: text(d, "n", MAX_NAME_LENGTH + 1),
      mtu: Math.min(MAX_MTU, Math.max(MIN_MTU, rawMtu)),
      com,
      capabilities: CAP === undefined ? [] : readCredentialList(CAP, MAX_CAPABILITIES, "capabilities", readCapability).sort(byId),
      tags: TAG === undefined ? [] : readCredentialList(TAG, MAX_TAGS, "tags", readTag).sort(byId),
      certificatesOfOwnership: COO === undefined ? [] : readCoos(COO),
      specialists: S === undefined ? [] : readSpecialists(S),
      routes: RT === undefined ? [] : readRoutes(RT),
      staticIps: I === undefined ? [] : readStaticIps(I),
      rules: R === undefined ? [] : readRules(new ByteReader(R), undefined, MAX_NETWORK_RULES),
      dns: DNS === undefined ? EMPTY_DNS : readDns(DNS),
      sso: parseSso(d),
    });
  });
}

/** 1.14's buffer sizes for the SSO texts. */
const SSO_URL_SIZE = 2048;
const SSO_NONCE_SIZE = 128;
const SSO_STATE_SIZE = 256;
const SSO_CLIENT_ID_SIZE = 256;
const SSO_PROVIDER_SIZE = 64;

function parseSso(d: Dictionary): SsoConfig {
  const rawVersion = d.getUintAsReference("ssov", 0n);
  // only 0 and 1 mean anything: for any other version 1.14 reads and writes no SSO key
  const version = rawVersion <= 1n ? Number(rawVersion) : Math.min(Number(rawVersion), Number.MAX_SAFE_INTEGER);
  const enabled = d.getBool("ssoe", false);
  if (!enabled || version > 1) return { ...NO_SSO, version, enabled };
  if (version === 0) {
    return {
      ...NO_SSO,
      version,
      enabled,
      authenticationUrl: text(d, "aurl", SSO_URL_SIZE),
      // read as int64 into a uint64 field, which 1.14 writes back unsigned
      authenticationExpiryTime: exactNumber("aexpt", d.getIntAsReference("aexpt", 0n)),
    };
  }
  const provider = d.get("ssop");
  return {
    ...NO_SSO,
    version,
    enabled,
    authenticationUrl: text(d, "aurl", SSO_URL_SIZE),
    issuerUrl: text(d, "iurl", SSO_URL_SIZE),
    centralAuthUrl: text(d, "ssoce", SSO_URL_SIZE),
    nonce: text(d, "sson", SSO_NONCE_SIZE),
    state: text(d, "ssos", SSO_STATE_SIZE),
    clientId: text(d, "ssocid", SSO_CLIENT_ID_SIZE),
    // "default" only when the value is absent or empty (a value starting with \0 reads as "")
    provider: provider !== undefined && provider.length > 0 ? text(d, "ssop", SSO_PROVIDER_SIZE) : "default",
  };
}
