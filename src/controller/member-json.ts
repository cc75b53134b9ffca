/**
 * Member records: zerotier-one's defaults (DB::initMember), validation of POSTed changes, and a
 * typed view for config building. Records stay plain JSON (unknown fields survive).
 */

import type { JsonObject, JsonValue } from "../util/json.ts";
import { type InetAddress, ipToString } from "../vl1/inet-address.ts";
import {
  FieldError,
  isJsonObject,
  readArray,
  readBool,
  readInt,
  readIp,
  readOptionalAddress,
  readString,
  UINT32_MAX,
} from "./json-fields.ts";

/** A member can be handed at most this many managed addresses (ZT_MAX_ZT_ASSIGNED_ADDRESSES). */
export const MAX_IP_ASSIGNMENTS = 32;
export const MAX_MEMBER_TAGS = 128;
export const MAX_MEMBER_CAPABILITIES = 128;

const COMPUTED = [
  "clock",
  "physicalAddr",
  "recentLog",
  "lastModified",
  "lastRequestMetaData",
  "authenticationURL",
  "authenticationClientID",
];

/** Fill in the reference defaults for any missing key (as DB::initMember does). */
export function initMember(record: JsonObject, now: number): JsonObject {
  const r: JsonObject = { ...record };
  const dflt = (k: string, v: JsonValue) => {
    if (!(k in r)) r[k] = v;
  };
  dflt("authorized", false);
  dflt("ssoExempt", false);
  dflt("ipAssignments", []);
  dflt("activeBridge", false);
  dflt("tags", []);
  dflt("capabilities", []);
  dflt("creationTime", now);
  dflt("noAutoAssignIps", false);
  dflt("revision", 0);
  dflt("lastDeauthorizedTime", 0);
  dflt("lastAuthorizedTime", 0);
  dflt("lastAuthorizedCredentialType", null);
  dflt("lastAuthorizedCredential", null);
  dflt("authenticationExpiryTime", 0);
  dflt("vMajor", -1);
  dflt("vMinor", -1);
  dflt("vRev", -1);
  dflt("vProto", -1);
  dflt("remoteTraceTarget", null);
  // 1.14 tests a misspelled key ("removeTraceLevel") here, so it resets the level every time:
  // a level set by POST lasts until the record is next initialized (for a member: its next request)
  r.remoteTraceLevel = 0;
  r.objtype = "member";
  return r;
}

/**
 * Apply a POST body to a member record (or a fresh one). Validates every known field present;
 * one bad field rejects the whole body (FieldError). Unknown fields are ignored.
 */
export function applyMemberPost(existing: JsonObject | null, body: JsonValue, nwid: string, address: string, now: number): JsonObject {
  if (body !== null && !isJsonObject(body)) throw new FieldError("body must be a JSON object");
  const b: JsonObject = body ?? {};
  const m = initMember(existing ?? {}, now);
  const has = (k: string) => b[k] !== undefined;

  if (has("activeBridge")) m.activeBridge = readBool(b.activeBridge, "activeBridge");
  if (has("noAutoAssignIps")) m.noAutoAssignIps = readBool(b.noAutoAssignIps, "noAutoAssignIps");
  if (has("authenticationExpiryTime")) {
    m.authenticationExpiryTime = readInt(b.authenticationExpiryTime, "authenticationExpiryTime", 0, Number.MAX_SAFE_INTEGER);
  }
  if (has("name")) m.name = readString(b.name, "name", 255);
  if (has("remoteTraceTarget")) m.remoteTraceTarget = readOptionalAddress(b.remoteTraceTarget, "remoteTraceTarget");
  if (has("remoteTraceLevel")) m.remoteTraceLevel = readInt(b.remoteTraceLevel, "remoteTraceLevel", 0, 255);
  if (has("ipAssignments")) m.ipAssignments = parseIpAssignments(b.ipAssignments).map(ipToString);
  if (has("tags")) m.tags = parseMemberTags(b.tags).map(([id, v]) => [id, v]);
  if (has("capabilities")) m.capabilities = parseMemberCapabilities(b.capabilities);
  if (has("authorized")) {
    const auth = readBool(b.authorized, "authorized");
    if (auth !== (m.authorized === true)) {
      m.authorized = auth;
      m[auth ? "lastAuthorizedTime" : "lastDeauthorizedTime"] = now;
      if (auth) {
        m.lastAuthorizedCredentialType = "api";
        m.lastAuthorizedCredential = null;
      }
    }
  }

  for (const k of COMPUTED) delete m[k];
  m.id = address;
  m.address = address;
  m.nwid = nwid;
  return m;
}

function parseIpAssignments(v: JsonValue): InetAddress[] {
  const seen = new Set<string>();
  const out: InetAddress[] = [];
  readArray(v, "ipAssignments", MAX_IP_ASSIGNMENTS).forEach((x, i) => {
    const ip = readIp(x, `ipAssignments[${i}]`);
    const key = ipToString(ip);
    if (!seen.has(key)) {
      seen.add(key);
      out.push(ip);
    }
  });
  return out;
}

function parseMemberTags(v: JsonValue): [number, number][] {
  const byId = new Map<number, number>();
  readArray(v, "tags", MAX_MEMBER_TAGS).forEach((t, i) => {
    if (!Array.isArray(t) || t.length !== 2) throw new FieldError(`tags[${i}] must be a [id, value] pair`);
    byId.set(readInt(t[0], `tags[${i}][0]`, 0, UINT32_MAX), readInt(t[1], `tags[${i}][1]`, 0, UINT32_MAX));
  });
  return [...byId.entries()].sort((a, b) => a[0] - b[0]);
}

function parseMemberCapabilities(v: JsonValue): number[] {
  const ids = readArray(v, "capabilities", MAX_MEMBER_CAPABILITIES).map((c, i) => readInt(c, `capabilities[${i}]`, 0, UINT32_MAX));
  return [...new Set(ids)].sort((a, b) => a - b);
}

// ---- typed view ----

export interface MemberSettings {
  address: string;
  authorized: boolean;
  activeBridge: boolean;
  noAutoAssignIps: boolean;
  /** Stored identity string, or null until the member's first request. */
  identity: string | null;
  /** Manual/previous assignments (bare IPs), in record order; unparsable entries skipped. */
  ipAssignments: InetAddress[];
  tags: [number, number][];
  capabilities: number[];
  remoteTraceTarget: string | null;
  remoteTraceLevel: number;
}

/** Typed, tolerant view of a stored member record. */
export function memberSettings(r: JsonObject): MemberSettings {
  const ips: InetAddress[] = [];
  if (Array.isArray(r.ipAssignments)) {
    for (const x of r.ipAssignments) {
      try {
        ips.push(readIp(x, "ip"));
      } catch (e) {
        if (!(e instanceof FieldError)) throw e;
      }
    }
  }
  const tags: [number, number][] = [];
  if (Array.isArray(r.tags)) {
    for (const t of r.tags) {
      if (Array.isArray(t) && t.length === 2 && isU32(t[0]) && isU32(t[1])) tags.push([t[0], t[1]]);
    }
  }
  const caps = Array.isArray(r.capabilities) ? r.capabilities.filter(isU32) : [];
  let rtt: string | null = null;
  try {
    rtt = readOptionalAddress(r.remoteTraceTarget ?? null, "");
  } catch {
    rtt = null;
  }
  return {
    address: typeof r.address === "string" ? r.address : typeof r.id === "string" ? r.id : "",
    authorized: r.authorized === true,
    activeBridge: r.activeBridge === true,
    noAutoAssignIps: r.noAutoAssignIps === true,
    identity: typeof r.identity === "string" && r.identity.length > 0 ? r.identity : null,
    ipAssignments: ips,
    tags,
    capabilities: caps,
    remoteTraceTarget: rtt,
    remoteTraceLevel: typeof r.remoteTraceLevel === "number" ? r.remoteTraceLevel : 0,
  };
}

function isU32(v: JsonValue | undefined): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= UINT32_MAX;
}
