/**
 * local.conf: optional JSON with "physical", "virtual" and "settings" sections (zerotier-one's format).
 * The raw object is kept (GET /config returns it as written); the settings this service applies are
 * validated into a typed view. A wrong type is an error naming the key, not a silent default.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };
export type JsonObject = { [k: string]: JsonValue };

export class LocalConfError extends Error {}

export interface PhysicalPathConf {
  blacklist: boolean;
  mtu: number | null;
  trustedPathId: number | null;
}

export interface LocalSettings {
  primaryPort: number | null;
  allowTcpFallbackRelay: boolean;
  forceTcpRelay: boolean;
  portMappingEnabled: boolean;
  lowBandwidthMode: boolean;
  /**
   * netcon extension: accept 127.0.0.0/8 and ::1 as peer paths, so several services on one host
   * can reach each other over loopback (zerotier-one never does).
   */
  allowLoopbackPaths: boolean;
  allowManagementFrom: string[];
  bind: string[];
  interfacePrefixBlacklist: string[];
  /** "physical" section keyed by CIDR. */
  physical: Map<string, PhysicalPathConf>;
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
    const tp = optNumber(entry, "trustedPathId", w);
    if (tp !== null && (!Number.isInteger(tp) || tp < 0)) throw new LocalConfError(`${w}.trustedPathId must be a non-negative integer`);
    physical.set(cidr, { blacklist: optBool(entry, "blacklist", w) ?? false, mtu, trustedPathId: tp });
  }
  return {
    raw,
    settings: {
      primaryPort: port,
      allowTcpFallbackRelay: optBool(s, "allowTcpFallbackRelay", where) ?? true,
      forceTcpRelay: optBool(s, "forceTcpRelay", where) ?? false,
      portMappingEnabled: optBool(s, "portMappingEnabled", where) ?? true,
      lowBandwidthMode: optBool(s, "lowBandwidthMode", where) ?? false,
      allowLoopbackPaths: optBool(s, "allowLoopbackPaths", where) ?? false,
      allowManagementFrom: optStringArray(s, "allowManagementFrom", where),
      bind: optStringArray(s, "bind", where),
      interfacePrefixBlacklist: optStringArray(s, "interfacePrefixBlacklist", where),
      physical,
    },
  };
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
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

function optStringArray(o: JsonObject, key: string, where: string): string[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) {
    throw new LocalConfError(`${where}.${key} must be an array of strings`);
  }
  return v as string[];
}
