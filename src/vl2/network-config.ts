/**
 * NetworkConfig (spec 6.5): what a controller tells a member about a network, carried as a
 * Dictionary. `networkConfigToDictionary` writes the keys in the order and forms 1.14's
 * NetworkConfig::toDictionary does, so a stored `networks.d/<nwid>.conf` re-serializes byte for
 * byte; `parseNetworkConfig` reads them strictly (a malformed key rejects the whole config with a
 * reason instead of being half-applied).
 */
import { ByteReader, ByteWriter } from "../util/bytes.ts";
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
import { type Decoded, fail, guard, ok } from "./result.ts";
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

function blob(write: (w: ByteWriter) => void): Uint8Array {
  const w = new ByteWriter(512);
  write(w);
  return w.finish();
}

export function networkConfigToDictionary(nc: NetworkConfig): Dictionary {
  const d = new Dictionary();
  d.addUint("v", NETWORK_CONFIG_VERSION)
    .addUint("nwid", nc.networkId)
    .addUint("ts", nc.timestamp)
    .addUint("ctmd", nc.credentialTimeMaxDelta)
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
  if (s.version !== 0 && s.version !== 1) throw new RangeError(`unsupported SSO version ${s.version}`);
  d.addUint("ssov", s.version).addBool("ssoe", s.enabled);
  if (s.version === 0 && s.enabled) {
    if (s.authenticationUrl.length > 0) d.add("aurl", s.authenticationUrl);
    d.addInt("aexpt", s.authenticationExpiryTime);
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

/** Parses dictionary text (e.g. an assembled config or a networks.d file) into a config. */
export function networkConfigFromBytes(bytes: Uint8Array): Decoded<NetworkConfig> {
  const d = Dictionary.parse(bytes, NETWORK_CONFIG_DICT_CAPACITY);
  return d.ok ? parseNetworkConfig(d.value) : fail(`network config: ${d.error}`);
}

function readAll<T>(buf: Uint8Array, max: number, what: string, read: (r: ByteReader) => T): T[] {
  const r = new ByteReader(buf);
  const out: T[] = [];
  while (r.remaining > 0) {
    if (out.length >= max) throw new RangeError(`more than ${max} ${what}`);
    out.push(read(r));
  }
  return out;
}

/** Fatal: a name that is not UTF-8 could not be shown in the JSON API nor written back unchanged. */
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

function text(d: Dictionary, key: string, max = Infinity): string {
  const v = d.get(key);
  if (v === undefined) return "";
  if (v.length > max) throw new RangeError(`${key}: ${v.length} bytes, max ${max}`);
  try {
    return utf8Decoder.decode(v);
  } catch {
    throw new RangeError(`${key}: not valid UTF-8`);
  }
}

export function parseNetworkConfig(d: Dictionary): Decoded<NetworkConfig> {
  return guard("network config", () => {
    const version = d.getUint("v", 0n);
    if (version < 6n) return fail(`network config: legacy format version ${version} not supported`);
    const networkId = d.getUint("nwid", 0n);
    if (networkId === 0n) return fail("network config: missing nwid");
    const issuedToBig = d.getUint("id", 0n);
    if (issuedToBig === 0n || issuedToBig > 0xffffffffffn) return fail("network config: missing or invalid id (issued-to)");
    // 1.14 reads these into 32-bit fields before using them
    const rawMtu = Number(d.getUint("mtu", BigInt(DEFAULT_MTU)) & 0xffffffffn);
    const type = d.getNumber("t", NetworkType.PRIVATE);
    if (type !== NetworkType.PRIVATE && type !== NetworkType.PUBLIC) return fail(`network config: unknown network type ${type}`);
    const bin = (key: string): Uint8Array | undefined => d.get(key);
    const C = bin("C");
    const CAP = bin("CAP");
    const TAG = bin("TAG");
    const COO = bin("COO");
    const S = bin("S");
    const RT = bin("RT");
    const I = bin("I");
    const R = bin("R");
    const DNS = bin("DNS");
    let com: CertificateOfMembership | null = null;
    if (C !== undefined && C.length > 0) {
      const r = new ByteReader(C);
      com = readCom(r);
      if (r.remaining !== 0) return fail(`network config: ${r.remaining} bytes after the COM`);
    }
    const byId = <T extends { id: number }>(a: T, b: T): number => a.id - b.id;
    const remoteTrace = d.getUint("tt", 0n);
    return ok<NetworkConfig>({
      networkId,
      timestamp: d.getNumber("ts", 0),
      credentialTimeMaxDelta: d.getNumber("ctmd", 0),
      revision: d.getNumber("r", 0),
      issuedTo: Number(issuedToBig),
      remoteTraceTarget: Number(remoteTrace & 0xffffffffffn),
      remoteTraceLevel: Number(d.getUint("tl", 0n) & 0xffffffffn),
      flags: d.getNumber("f", 0),
      multicastLimit: Number(d.getUint("ml", 0n) & 0xffffffffn),
      type,
      name: text(d, "n", MAX_NAME_LENGTH),
      mtu: Math.min(MAX_MTU, Math.max(MIN_MTU, rawMtu)),
      com,
      capabilities: CAP === undefined ? [] : readAll(CAP, MAX_CAPABILITIES, "capabilities", readCapability).sort(byId),
      tags: TAG === undefined ? [] : readAll(TAG, MAX_TAGS, "tags", readTag).sort(byId),
      certificatesOfOwnership: COO === undefined ? [] : readAll(COO, MAX_CERTIFICATES_OF_OWNERSHIP, "certificates of ownership", readCoo),
      specialists: S === undefined ? [] : readSpecialists(S),
      routes: RT === undefined ? [] : readRoutes(RT),
      staticIps: I === undefined ? [] : readStaticIps(I),
      rules: R === undefined ? [] : readRules(new ByteReader(R), undefined, MAX_NETWORK_RULES),
      dns: DNS === undefined ? EMPTY_DNS : readDns(DNS),
      sso: parseSso(d),
    });
  });
}

function parseSso(d: Dictionary): SsoConfig {
  const version = d.getNumber("ssov", 0);
  // 1.14 accepts other versions but then writes no SSO keys at all; nothing sends them
  if (version !== 0 && version !== 1) throw new RangeError(`unsupported SSO version ${version}`);
  const enabled = d.getBool("ssoe", false);
  if (!enabled) return { ...NO_SSO, version, enabled };
  if (version === 0) {
    return { ...NO_SSO, version, enabled, authenticationUrl: text(d, "aurl"), authenticationExpiryTime: Number(d.getInt("aexpt", 0n)) };
  }
  return {
    ...NO_SSO,
    version,
    enabled,
    authenticationUrl: text(d, "aurl"),
    issuerUrl: text(d, "iurl"),
    centralAuthUrl: text(d, "ssoce"),
    nonce: text(d, "sson"),
    state: text(d, "ssos"),
    clientId: text(d, "ssocid"),
    provider: d.has("ssop") && text(d, "ssop").length > 0 ? text(d, "ssop") : "default",
  };
}
