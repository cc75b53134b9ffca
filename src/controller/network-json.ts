/**
 * Network records: zerotier-one's defaults (DB::initNetwork), validation of POSTed changes, and a
 * typed view of a stored record for building configs. Stored records stay plain JSON so fields
 * we do not know (from a controller.d moved over from zerotier-one) survive untouched.
 */

import type { JsonObject, JsonValue } from "../util/json.ts";
import { type InetAddress, ipToString } from "../vl1/inet-address.ts";
import {
  FieldError,
  isJsonObject,
  readArray,
  readBool,
  readCidr,
  readInt,
  readIp,
  readObject,
  readOptionalAddress,
  readString,
  UINT32_MAX,
} from "./json-fields.ts";
import { credentialTimeMaxDelta } from "../vl2/config-issue.ts";
import type { Rule } from "../vl2/rules.ts";
import { parseRule, parseRules, type RuleSource, storedRulesJson } from "./rule-json.ts";

export const DEFAULT_MTU = 2800;
export const MIN_MTU = 1280;
export const MAX_MTU = 10000;
export const MAX_ROUTES = 128;
export const MAX_POOLS = 128;
export const MAX_RULES = 1024;
export const MAX_CAPABILITIES = 128;
export const MAX_CAPABILITY_RULES = 64;
export const MAX_TAGS = 128;
export const MAX_DNS_SERVERS = 4;
/** The NetworkConfig name field holds 127 characters plus a NUL. */
export const MAX_NAME = 127;
export const MAX_DNS_DOMAIN = 127;

/** Keys the API computes or the store owns; a POST never sets them. */
const COMPUTED = ["clock", "authorizedMemberCount", "activeMemberCount", "totalMemberCount", "lastModified"];

/** Fill in the reference defaults for any missing key (as DB::initNetwork does). */
export function initNetwork(record: JsonObject, now: number): JsonObject {
  const r: JsonObject = { ...record };
  const dflt = (k: string, v: JsonValue) => {
    if (!(k in r)) r[k] = v;
  };
  dflt("private", true);
  dflt("creationTime", now);
  dflt("name", "");
  dflt("multicastLimit", 32);
  dflt("enableBroadcast", true);
  dflt("v4AssignMode", { zt: false });
  dflt("v6AssignMode", { "6plane": false, rfc4193: false, zt: false });
  // The reference writes its empty authTokens as [null]; kept for byte-identical records.
  dflt("authTokens", [null]);
  dflt("capabilities", []);
  dflt("tags", []);
  dflt("routes", []);
  dflt("ipAssignmentPools", []);
  dflt("mtu", DEFAULT_MTU);
  dflt("remoteTraceTarget", null);
  // 1.14 tests a misspelled key ("removeTraceLevel") here, so it resets the level every time:
  // a level set by POST lasts until the next POST that does not set it
  r.remoteTraceLevel = 0;
  dflt("rulesSource", "");
  dflt("rules", [{ not: false, or: false, type: "ACTION_ACCEPT" }]);
  dflt("dns", []);
  dflt("ssoEnabled", false);
  dflt("clientId", "");
  dflt("authorizationEndpoint", "");
  dflt("revision", 0);
  r.objtype = "network";
  return r;
}

/**
 * Apply a POST body to a network record (or to a fresh one). Every known field present in the
 * body is validated; one bad field rejects the whole body (FieldError). Unknown fields are
 * ignored, as the reference does, so a GET-modify-POST round trip works.
 */
export function applyNetworkPost(existing: JsonObject | null, body: JsonValue, nwid: string, now: number): JsonObject {
  if (body !== null && !isJsonObject(body)) throw new FieldError("body must be a JSON object");
  const b: JsonObject = body ?? {};
  const n = initNetwork(existing ?? {}, now);
  const has = (k: string) => b[k] !== undefined;

  if (has("name")) n.name = readString(b.name, "name", MAX_NAME);
  if (has("private")) n.private = readBool(b.private, "private");
  if (has("enableBroadcast")) n.enableBroadcast = readBool(b.enableBroadcast, "enableBroadcast");
  if (has("multicastLimit")) n.multicastLimit = readInt(b.multicastLimit, "multicastLimit", 0, UINT32_MAX);
  if (has("mtu")) n.mtu = readInt(b.mtu, "mtu", MIN_MTU, MAX_MTU);
  if (has("remoteTraceTarget")) n.remoteTraceTarget = readOptionalAddress(b.remoteTraceTarget, "remoteTraceTarget");
  if (has("remoteTraceLevel")) n.remoteTraceLevel = readInt(b.remoteTraceLevel, "remoteTraceLevel", 0, 255);
  if (has("v4AssignMode")) n.v4AssignMode = parseV4AssignMode(b.v4AssignMode);
  if (has("v6AssignMode")) n.v6AssignMode = parseV6AssignMode(b.v6AssignMode, n.v6AssignMode);
  if (has("routes")) n.routes = parseRoutes(b.routes).map((r) => r.json);
  if (has("ipAssignmentPools")) n.ipAssignmentPools = parsePools(b.ipAssignmentPools).map((p) => p.json);
  if (has("rules")) n.rules = storedRulesJson(parseRules(b.rules, "rules", MAX_RULES));
  if (has("authTokens")) n.authTokens = parseAuthTokens(b.authTokens);
  if (has("capabilities")) n.capabilities = parseCapabilities(b.capabilities, "post").map((c) => c.json);
  if (has("tags")) n.tags = parseTags(b.tags).map((t) => t.json);
  if (has("dns")) n.dns = parseDns(b.dns)?.json ?? [];

  for (const k of COMPUTED) delete n[k];
  n.id = nwid;
  n.nwid = nwid;
  return n;
}

function parseV4AssignMode(v: JsonValue): JsonObject {
  if (typeof v === "string") return { zt: v === "zt" }; // pre-1.2 string form
  const o = readObject(v, "v4AssignMode");
  return { zt: o.zt === undefined ? false : readBool(o.zt, "v4AssignMode.zt") };
}

function parseV6AssignMode(v: JsonValue, current: JsonValue | undefined): JsonObject {
  const modes = ["6plane", "rfc4193", "zt"];
  if (typeof v === "string") {
    const set = new Set(v.split(",").map((s) => s.trim()).filter((s) => s.length > 0));
    for (const s of set) if (!modes.includes(s)) throw new FieldError(`v6AssignMode: unknown mode "${s}"`);
    return Object.fromEntries(modes.map((m) => [m, set.has(m)]));
  }
  const o = readObject(v, "v6AssignMode");
  // Object form changes only the modes it names, as the reference does.
  const out: JsonObject = isJsonObject(current) ? { ...current } : { "6plane": false, rfc4193: false, zt: false };
  for (const m of modes) if (o[m] !== undefined) out[m] = readBool(o[m], `v6AssignMode.${m}`);
  return out;
}

export interface Route {
  target: InetAddress;
  via: InetAddress | null;
  json: JsonObject;
}

function parseRoutes(v: JsonValue): Route[] {
  return readArray(v, "routes", MAX_ROUTES).map((r, i) => parseRoute(r, `routes[${i}]`));
}

function parseRoute(v: JsonValue, field: string): Route {
  const o = readObject(v, field);
  const target = readCidr(o.target, `${field}.target`);
  const via = o.via === undefined || o.via === null || o.via === "" ? null : readIp(o.via, `${field}.via`);
  if (via !== null && via.family !== target.family) throw new FieldError(`${field}.via must be the same IP family as the target`);
  return { target, via, json: { target: cidrText(target), via: via === null ? null : ipText(via) } };
}

export interface Pool {
  start: InetAddress;
  end: InetAddress;
  json: JsonObject;
}

function parsePools(v: JsonValue): Pool[] {
  return readArray(v, "ipAssignmentPools", MAX_POOLS).map((p, i) => parsePool(p, `ipAssignmentPools[${i}]`));
}

function parsePool(v: JsonValue, field: string): Pool {
  const o = readObject(v, field);
  const start = readIp(o.ipRangeStart, `${field}.ipRangeStart`);
  const end = readIp(o.ipRangeEnd, `${field}.ipRangeEnd`);
  if (start.family !== end.family) throw new FieldError(`${field}: ipRangeStart and ipRangeEnd must be the same IP family`);
  if (compareIp(start.ip, end.ip) > 0) throw new FieldError(`${field}: ipRangeEnd must not be below ipRangeStart`);
  return { start, end, json: { ipRangeEnd: ipText(end), ipRangeStart: ipText(start) } };
}

function parseAuthTokens(v: JsonValue): JsonValue {
  if (v === null || (Array.isArray(v) && v.every((x) => x === null))) return [null];
  const o = readObject(v, "authTokens");
  const out: JsonObject = {};
  for (const [token, expires] of Object.entries(o)) {
    out[token] = readInt(expires, `authTokens.${token}`, 0, Number.MAX_SAFE_INTEGER);
  }
  return out;
}

export interface CapabilityDef {
  id: number;
  default: boolean;
  rules: Rule[];
  json: JsonObject;
}

function parseCapabilities(v: JsonValue, source: RuleSource): CapabilityDef[] {
  const byId = new Map<number, CapabilityDef>();
  readArray(v, "capabilities", MAX_CAPABILITIES).forEach((c, i) => {
    const f = `capabilities[${i}]`;
    const o = readObject(c, f);
    const id = readInt(o.id, `${f}.id`, 0, UINT32_MAX);
    const dflt = o.default === undefined || o.default === null ? false : readBool(o.default, `${f}.default`);
    const rules = o.rules === undefined || o.rules === null ? [] : parseRules(o.rules, `${f}.rules`, MAX_CAPABILITY_RULES, source);
    byId.set(id, { id, default: dflt, rules, json: { default: dflt, id, rules: storedRulesJson(rules) } });
  });
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

export interface TagDef {
  id: number;
  default: number | null;
  json: JsonObject;
}

function parseTags(v: JsonValue): TagDef[] {
  const byId = new Map<number, TagDef>();
  readArray(v, "tags", MAX_TAGS).forEach((t, i) => {
    const f = `tags[${i}]`;
    const o = readObject(t, f);
    const id = readInt(o.id, `${f}.id`, 0, UINT32_MAX);
    const dflt = o.default === undefined || o.default === null ? null : readInt(o.default, `${f}.default`, 0, UINT32_MAX);
    byId.set(id, { id, default: dflt, json: { default: dflt, id } });
  });
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

export interface DnsDef {
  domain: string;
  servers: InetAddress[];
  json: JsonObject;
}

/** "stored": as 1.14 reads a record when it builds a config, which sends only the first 4 servers. */
function parseDns(v: JsonValue, source: "post" | "stored" = "post"): DnsDef | null {
  if (v === null || (Array.isArray(v) && v.length === 0)) return null;
  const o = readObject(v, "dns");
  const domain = o.domain === undefined || o.domain === null ? "" : readString(o.domain, "dns.domain", MAX_DNS_DOMAIN);
  let list: JsonValue[] = [];
  if (o.servers !== undefined && o.servers !== null) {
    // Stored records are trimmed to the limit; a POST over the limit is an error.
    list =
      source === "stored"
        ? readArray(o.servers, "dns.servers", Infinity).slice(0, MAX_DNS_SERVERS)
        : readArray(o.servers, "dns.servers", MAX_DNS_SERVERS);
  }
  const servers = list.map((s, i) => readIp(s, `dns.servers[${i}]`));
  return { domain, servers, json: { domain, servers: servers.map(ipText) } };
}

// ---- typed view of a stored record ----

export interface NetworkSettings {
  id: string;
  name: string;
  private: boolean;
  enableBroadcast: boolean;
  mtu: number;
  multicastLimit: number;
  revision: number;
  remoteTraceTarget: string | null;
  remoteTraceLevel: number;
  v4AssignZt: boolean;
  v6AssignZt: boolean;
  v6AssignRfc4193: boolean;
  v6Assign6plane: boolean;
  pools: Pool[];
  routes: Route[];
  rules: Rule[];
  capabilities: CapabilityDef[];
  tags: TagDef[];
  /** token -> expiry (ms, 0 = never). */
  authTokens: Map<string, number>;
  dns: DnsDef | null;
  credentialTimeMaxDelta: number;
}

/**
 * Typed view of a stored network record. Tolerant: a record written by another controller with
 * an odd value gets that value's default (or loses that one array entry), never an exception.
 */
export function networkSettings(r: JsonObject): NetworkSettings {
  const v4 = isJsonObject(r.v4AssignMode) ? r.v4AssignMode : {};
  const v6 = isJsonObject(r.v6AssignMode) ? r.v6AssignMode : {};
  const tokens = new Map<string, number>();
  if (isJsonObject(r.authTokens)) for (const [k, x] of Object.entries(r.authTokens)) if (typeof x === "number" && x >= 0) tokens.set(k, x);
  return {
    id: typeof r.id === "string" ? r.id : "",
    name: lenient(() => readString(r.name, "", MAX_NAME), ""),
    private: r.private !== false,
    enableBroadcast: r.enableBroadcast !== false,
    mtu: Math.max(MIN_MTU, Math.min(MAX_MTU, lenient(() => readInt(r.mtu, "", 0, UINT32_MAX), DEFAULT_MTU))),
    multicastLimit: lenient(() => readInt(r.multicastLimit, "", 0, UINT32_MAX), 32),
    revision: lenient(() => readInt(r.revision, "", 0, Number.MAX_SAFE_INTEGER), 0),
    remoteTraceTarget: lenient(() => readOptionalAddress(r.remoteTraceTarget ?? null, ""), null),
    remoteTraceLevel: lenient(() => readInt(r.remoteTraceLevel, "", 0, 255), 0),
    v4AssignZt: v4.zt === true,
    v6AssignZt: v6.zt === true,
    v6AssignRfc4193: v6.rfc4193 === true,
    v6Assign6plane: v6["6plane"] === true,
    pools: eachValid(r.ipAssignmentPools, (p, i) => parsePool(p, `ipAssignmentPools[${i}]`)),
    routes: eachValid(r.routes, (x, i) => parseRoute(x, `routes[${i}]`)).slice(0, MAX_ROUTES),
    rules: eachValid(r.rules, (x, i) => parseRule(x, `rules[${i}]`, "stored")).slice(0, MAX_RULES),
    capabilities: lenient(() => parseCapabilities(Array.isArray(r.capabilities) ? r.capabilities.filter(isJsonObject) : [], "stored"), []),
    tags: lenient(() => parseTags(Array.isArray(r.tags) ? r.tags.filter(isJsonObject) : []), []),
    authTokens: tokens,
    dns: lenient(() => parseDns(r.dns ?? null, "stored"), null),
    credentialTimeMaxDelta: credentialTimeMaxDelta(
      typeof r.certificateTimeoutWindowSize === "number" ? r.certificateTimeoutWindowSize : undefined,
    ),
  };
}

function lenient<T>(f: () => T, dflt: T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof FieldError) return dflt;
    throw e;
  }
}

function eachValid<T>(v: JsonValue | undefined, f: (x: JsonValue, i: number) => T): T[] {
  if (!Array.isArray(v)) return [];
  const out: T[] = [];
  v.forEach((x, i) => {
    try {
      out.push(f(x, i));
    } catch (e) {
      if (!(e instanceof FieldError)) throw e;
    }
  });
  return out;
}

// ---- small IP helpers ----


export function ipText(a: InetAddress): string {
  return ipToString(a);
}

export function cidrText(a: InetAddress): string {
  return `${ipToString(a)}/${a.port}`;
}

export function compareIp(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}
