/**
 * local.conf: optional JSON with "physical", "virtual" and "settings" sections (zerotier-one's format).
 * The raw object is kept (GET /config returns it as written); the settings this service applies are
 * validated into a typed view. A wrong type is an error naming the key, not a silent default.
 */

import { type Address, addressFromString } from "../vl1/address.ts";
import { cidrFromString, type InetAddress, inetAddressFromString } from "../vl1/inet-address.ts";
import { MAX_TRUSTED_PATH_CONFIGS } from "../vl1/trusted-path-ids.ts";
import { isJsonObject as isObject, type JsonObject, type JsonValue } from "../util/json.ts";
import { congestionByName, type CongestionName } from "../stack/tcp/congestion/index.ts";


export class LocalConfError extends Error {}

export interface PhysicalPathConf {
  /** The key as a network: its port field is the netmask bit count. */
  network: InetAddress;
  /** Never use a physical path inside this network (zerotier-one's global blacklist). */
  blacklist: boolean;
  mtu: number | null;
  /** Non-zero: packets to and from this network travel unencrypted under this ID (cipher suite 2). */
  trustedPathId: bigint | null;
}

/** "virtual" section: per-peer physical path hints and blacklists, keyed by ZeroTier address. */
export interface VirtualPeerConf {
  /** Physical networks never used as paths to this peer. */
  blacklist: InetAddress[];
  /** Addresses to try for this peer ("ip/port"); validated, not used by this service. */
  try: InetAddress[];
}

/**
 * The settings this service applies. zerotier-one settings it does not implement are still
 * type-checked, and `unsupportedSettings` names those set to something we do not do.
 */
export interface LocalSettings {
  primaryPort: number | null;
  /**
   * netcon extension: accept 127.0.0.0/8 and ::1 as peer paths, so several services on one host
   * can reach each other over loopback (zerotier-one never does).
   */
  allowLoopbackPaths: boolean;
  /** IP addresses to bind the UDP sockets to (first per family). */
  bind: string[];
  /**
   * netcon extension: the network containers' TCP congestion control ("bbr", "cubic" or "reno"),
   * or null for the host kernel's default (net.ipv4.tcp_congestion_control): what the programs
   * would have had without the container.
   */
  netconTcpCongestion: CongestionName | null;
  /** Interfaces whose name starts with one of these are never advertised as local addresses. */
  interfacePrefixBlacklist: string[];
  /** "physical" section keyed by CIDR. */
  physical: Map<string, PhysicalPathConf>;
  /** "virtual" section keyed by ZeroTier address. */
  virtual: Map<Address, VirtualPeerConf>;
}

export interface LocalConf {
  raw: JsonObject;
  settings: LocalSettings;
}

export function emptyLocalConf(): LocalConf {
  return parseLocalConfObject({});
}

/** Parse local.conf text. Throws LocalConfError with a message that names the offending key. */
export function parseLocalConf(text: string): LocalConf {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new LocalConfError(`local.conf is not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(v)) throw new LocalConfError("local.conf must be a JSON object");
  return parseLocalConfObject(v);
}

export function parseLocalConfObject(raw: JsonObject): LocalConf {
  const settingsRaw = optObject(raw, "settings", "local.conf");
  const s = settingsRaw ?? {};
  const where = "local.conf settings";
  const port = optNumber(s, "primaryPort", where);
  if (port !== null && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    throw new LocalConfError(`${where}.primaryPort must be an integer 0..65535`);
  }
  const physical = new Map<string, PhysicalPathConf>();
  const phys = optObject(raw, "physical", "local.conf") ?? {};
  for (const [cidr, entry] of Object.entries(phys)) {
    if (!isObject(entry)) throw new LocalConfError(`local.conf physical.${cidr} must be an object`);
    const w = `local.conf physical.${cidr}`;
    const mtu = optNumber(entry, "mtu", w);
    if (mtu !== null && (!Number.isInteger(mtu) || mtu < 1400 || mtu > 10000)) {
      throw new LocalConfError(`${w}.mtu must be an integer 1400..10000`);
    }
    const network = cidrFromString(cidr);
    // zerotier-one skips a key that is not a network; a typo here must not silently lose a blacklist.
    if (network === null) throw new LocalConfError(`local.conf physical: ${JSON.stringify(cidr)} is not an IP network (ip/bits)`);
    const tp = optU64(entry, "trustedPathId", w);
    physical.set(cidr, { network, blacklist: optBool(entry, "blacklist", w) ?? false, mtu, trustedPathId: tp === 0n ? null : tp });
  }
  const trusted = [...physical.values()].filter((p) => p.trustedPathId !== null).length;
  if (trusted > MAX_TRUSTED_PATH_CONFIGS) {
    throw new LocalConfError(`local.conf physical: at most ${MAX_TRUSTED_PATH_CONFIGS} networks may have a trustedPathId`);
  }
  const virtual = new Map<Address, VirtualPeerConf>();
  const virt = optObject(raw, "virtual", "local.conf") ?? {};
  for (const [key, entry] of Object.entries(virt)) {
    const w = `local.conf virtual.${key}`;
    const address = addressFromString(key);
    if (address === null) throw new LocalConfError(`local.conf virtual: ${JSON.stringify(key)} is not a ZeroTier address (10 hex digits)`);
    if (!isObject(entry)) throw new LocalConfError(`${w} must be an object`);
    const blacklist = optStringArray(entry, "blacklist", w).map((t) => {
      const n = cidrFromString(t);
      if (n === null) throw new LocalConfError(`${w}.blacklist: ${JSON.stringify(t)} is not an IP network (ip/bits)`);
      return n;
    });
    const tries = optStringArray(entry, "try", w).map((t) => {
      const a = inetAddressFromString(t);
      if (a === null || a.port === 0) throw new LocalConfError(`${w}.try: ${JSON.stringify(t)} is not an ip/port`);
      return a;
    });
    virtual.set(address, { blacklist, try: tries });
  }
  // Not implemented, but a wrong type is still an error (unsupportedSettings reports the values).
  for (const k of ["allowTcpFallbackRelay", "forceTcpRelay", "portMappingEnabled", "lowBandwidthMode", "allowSecondaryPort"]) {
    optBool(s, k, where);
  }
  for (const k of ["secondaryPort", "tertiaryPort"]) optNumber(s, k, where);
  for (const a of optStringArray(s, "allowManagementFrom", where)) {
    if (cidrFromString(a) === null) throw new LocalConfError(`${where}.allowManagementFrom: ${JSON.stringify(a)} is not an IP network`);
  }
  const ccRaw = s.netconTcpCongestion;
  let netconTcpCongestion: CongestionName | null = null;
  if (ccRaw !== undefined && ccRaw !== null) {
    netconTcpCongestion = typeof ccRaw === "string" ? congestionByName(ccRaw) : null;
    if (netconTcpCongestion === null) throw new LocalConfError(`${where}.netconTcpCongestion must be "bbr", "cubic" or "reno"`);
  }
  const bind = optStringArray(s, "bind", where);
  for (const a of bind) {
    const ip = inetAddressFromString(a);
    if (ip === null || a.includes("/")) throw new LocalConfError(`${where}.bind: ${JSON.stringify(a)} is not an IP address`);
  }
  return {
    raw,
    settings: {
      primaryPort: port,
      allowLoopbackPaths: optBool(s, "allowLoopbackPaths", where) ?? false,
      bind,
      netconTcpCongestion,
      interfacePrefixBlacklist: optStringArray(s, "interfacePrefixBlacklist", where),
      physical,
      virtual,
    },
  };
}

/** Settings keys this service applies, and those /status reports that mean nothing when written. */
const APPLIED_SETTINGS = new Set(["primaryPort", "allowLoopbackPaths", "bind", "interfacePrefixBlacklist", "netconTcpCongestion"]);
const STATUS_ONLY_SETTINGS = new Set(["homeDir", "listeningOn", "surfaceAddresses", "softwareUpdateChannel", "softwareUpdateDist"]);

/**
 * zerotier-one settings this service does not implement, each with the test "the value asks for
 * something": a key left at its "off" value (portMappingEnabled: false…) is no request, so no warning.
 * Where zerotier-one's default is on (allowTcpFallbackRelay, portMappingEnabled), only an explicit
 * true warns: a local.conf without the key asks for nothing in particular.
 */
const UNSUPPORTED_SETTINGS: Record<string, (v: JsonValue) => boolean> = {
  allowTcpFallbackRelay: (v) => v === true,
  forceTcpRelay: (v) => v === true,
  tcpFallbackRelay: (v) => v !== null,
  portMappingEnabled: (v) => v === true,
  lowBandwidthMode: (v) => v === true,
  allowManagementFrom: (v) => Array.isArray(v) && v.length > 0,
  allowSecondaryPort: (v) => v === true,
  secondaryPort: (v) => typeof v === "number" && v !== 0,
  tertiaryPort: (v) => typeof v === "number" && v !== 0,
  softwareUpdate: (v) => v !== null && v !== "disable",
  enableWebServer: (v) => v === true,
  multicoreEnabled: (v) => v === true,
  concurrency: (v) => typeof v === "number" && v > 1,
  cpuPinningEnabled: (v) => v === true,
  defaultBondingPolicy: (v) => v !== null && v !== "",
  policies: (v) => v !== null && (!isObject(v) || Object.keys(v).length > 0),
  peerSpecificBonds: (v) => v !== null && (!isObject(v) || Object.keys(v).length > 0),
  controllerDbPath: (v) => v !== null && v !== "",
  ssoRedirectURL: (v) => v !== null && v !== "",
};

/**
 * One line per setting of `raw` (a local.conf object) that asks for something this service does not
 * do, for a warning at start: "setting X is not supported by this service; ignored". `keys` limits
 * the check to those settings keys (a POST /config/settings patch).
 */
export function unsupportedSettings(raw: JsonObject, keys?: readonly string[]): string[] {
  const out: string[] = [];
  const settings = isObject(raw.settings) ? raw.settings : {};
  for (const key of keys ?? Object.keys(settings)) {
    const v = settings[key];
    if (v === undefined || APPLIED_SETTINGS.has(key) || STATUS_ONLY_SETTINGS.has(key)) continue;
    const asks = UNSUPPORTED_SETTINGS[key];
    if (asks === undefined) out.push(`setting ${key} is not known to this service; ignored`);
    else if (asks(v)) out.push(`setting ${key}=${JSON.stringify(v)} is not supported by this service; ignored`);
  }
  if (keys !== undefined) return out;
  const virt = isObject(raw.virtual) ? raw.virtual : {};
  for (const [addr, entry] of Object.entries(virt)) {
    if (isObject(entry) && Array.isArray(entry.try) && entry.try.length > 0) {
      out.push(`setting virtual.${addr}.try is not supported by this service; ignored`);
    }
  }
  return out;
}

function optObject(o: JsonObject, key: string, where: string): JsonObject | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (!isObject(v)) throw new LocalConfError(`${where}.${key} must be an object`);
  return v;
}

function optBool(o: JsonObject, key: string, where: string): boolean | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== "boolean") throw new LocalConfError(`${where}.${key} must be true or false`);
  return v;
}

function optNumber(o: JsonObject, key: string, where: string): number | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== "number" || !Number.isFinite(v)) throw new LocalConfError(`${where}.${key} must be a number`);
  return v;
}

/** A uint64 as zerotier-one's jsonInt reads it: a non-negative integer number, or a decimal string. */
function optU64(o: JsonObject, key: string, where: string): bigint | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  let n: bigint | null = null;
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) n = BigInt(v);
  else if (typeof v === "string" && /^[0-9]{1,20}$/.test(v)) n = BigInt(v);
  if (n === null || n > 0xffffffffffffffffn) {
    throw new LocalConfError(`${where}.${key} must be an unsigned 64-bit integer (a number or a decimal string)`);
  }
  return n;
}

function optStringArray(o: JsonObject, key: string, where: string): string[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) {
    throw new LocalConfError(`${where}.${key} must be an array of strings`);
  }
  return v as string[];
}
