/**
 * The controller CLI's operations over the local API. Each returns what to print and the exit
 * status (0 ok, 1 the API refused or failed, 2 bad usage) so it can be tested without a process.
 */

import { isJsonObject, type JsonObject, type JsonValue } from "../../util/json.ts";
import { type ApiTarget, apiRequest } from "../zerotier-cli/client.ts";
import { createBody, type CreateOptions } from "./network-body.ts";

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

const NWID_RE = /^[0-9a-fA-F]{16}$/;
const ADDR_RE = /^[0-9a-fA-F]{10}$/;

const done = (out: string): CliResult => ({ code: 0, out, err: "" });
const usage = (err: string): CliResult => ({ code: 2, out: "", err: `${err}\n` });

async function call(
  t: ApiTarget,
  method: string,
  path: string,
  body?: JsonValue,
): Promise<{ ok: true; json: JsonValue } | { ok: false; res: CliResult }> {
  const r = await apiRequest(t, method, path, body === undefined ? undefined : JSON.stringify(body));
  if (r.status === 0) return { ok: false, res: { code: 1, out: "", err: `cannot reach the service at ${t.host}:${t.port}: ${r.body}\n` } };
  let json: JsonValue = null;
  try {
    json = JSON.parse(r.body) as JsonValue;
  } catch {
    json = null;
  }
  if (r.status !== 200) {
    const apiError = isJsonObject(json) && typeof json.error === "string" ? json.error : null;
    const msg = apiError ?? (r.status === 404 ? "not found" : r.body);
    return { ok: false, res: { code: 1, out: "", err: `${r.status} ${msg}\n` } };
  }
  return { ok: true, json };
}

const pretty = (v: JsonValue) => `${JSON.stringify(v, null, 2)}\n`;
const obj = (v: JsonValue): JsonObject => (v !== null && typeof v === "object" && !Array.isArray(v) ? v : {});

export async function status(t: ApiTarget, json: boolean): Promise<CliResult> {
  const r = await call(t, "GET", "/controller");
  if (!r.ok) return r.res;
  const j = obj(r.json);
  const state = j.controller === true ? "enabled" : "disabled";
  return done(json ? pretty(r.json) : `controller ${state} apiVersion ${j.apiVersion} databaseReady ${j.databaseReady}\n`);
}

export async function create(t: ApiTarget, o: CreateOptions, json: boolean): Promise<CliResult> {
  const body = createBody(o);
  if ("error" in body) return usage(String(body.error));
  const r = await call(t, "POST", "/controller/network", body);
  if (!r.ok) return r.res;
  return done(json ? pretty(r.json) : `${obj(r.json).id}\n`);
}

export async function networks(t: ApiTarget, json: boolean): Promise<CliResult> {
  const ids = await call(t, "GET", "/controller/network");
  if (!ids.ok) return ids.res;
  const rows: JsonObject[] = [];
  for (const id of Array.isArray(ids.json) ? ids.json : []) {
    const n = await call(t, "GET", `/controller/network/${String(id)}`);
    const m = await call(t, "GET", `/unstable/controller/network/${String(id)}/member`);
    if (!n.ok) return n.res;
    const meta = m.ok ? obj(obj(m.json).meta) : {};
    rows.push({ ...obj(n.json), authorizedCount: meta.authorizedCount ?? null, totalCount: meta.totalCount ?? null });
  }
  if (json) return done(pretty(rows));
  const lines = rows.map((n) =>
    [
      n.id,
      JSON.stringify(n.name ?? ""),
      n.private === false ? "public" : "private",
      pools(n),
      `${n.authorizedCount ?? "?"}/${n.totalCount ?? "?"}`,
    ].join(" "),
  );
  return done(["<nwid> <name> <type> <pools> <authorized/members>", ...lines].join("\n") + "\n");
}

function pools(n: JsonObject): string {
  const p = Array.isArray(n.ipAssignmentPools) ? n.ipAssignmentPools.map((x) => `${obj(x).ipRangeStart}-${obj(x).ipRangeEnd}`) : [];
  return p.length > 0 ? p.join(",") : "-";
}

export async function show(t: ApiTarget, nwid: string, address: string | undefined): Promise<CliResult> {
  const bad = checkIds(nwid, address);
  if (bad) return bad;
  const r = await call(t, "GET", address === undefined ? `/controller/network/${nwid}` : `/controller/network/${nwid}/member/${address}`);
  return r.ok ? done(pretty(r.json)) : r.res;
}

export async function members(t: ApiTarget, nwid: string, json: boolean): Promise<CliResult> {
  const bad = checkIds(nwid, undefined);
  if (bad) return bad;
  const r = await call(t, "GET", `/unstable/controller/network/${nwid}/member`);
  if (!r.ok) return r.res;
  const data = Array.isArray(obj(r.json).data) ? (obj(r.json).data as JsonValue[]).map(obj) : [];
  if (json) return done(pretty(data));
  const lines = data.map((m) => {
    const ips = Array.isArray(m.ipAssignments) && m.ipAssignments.length > 0 ? m.ipAssignments.join(",") : "-";
    return [m.id, m.authorized === true ? "authorized" : "unauthorized", ips, JSON.stringify(m.name ?? "")].join(" ");
  });
  return done(["<address> <status> <ips> <name>", ...lines].join("\n") + "\n");
}

export async function updateMember(
  t: ApiTarget,
  nwid: string,
  address: string,
  body: JsonObject,
  what: string,
  json: boolean,
): Promise<CliResult> {
  const bad = checkIds(nwid, address);
  if (bad) return bad;
  const r = await call(t, "POST", `/controller/network/${nwid}/member/${address}`, body);
  if (!r.ok) return r.res;
  return done(json ? pretty(r.json) : `${address} ${what} on ${nwid}\n`);
}

export function setIpBody(ips: string[]): { body: JsonObject } | { fail: CliResult } {
  const none = ips.length === 1 && ips[0] === "none";
  const list = none ? [] : ips.flatMap((s) => s.split(",")).filter((s) => s.length > 0);
  if (list.length === 0 && !none) return { fail: usage("set-ip needs one or more IP addresses (or 'none')") };
  return { body: { ipAssignments: list } };
}

export async function update(t: ApiTarget, nwid: string, address: string | undefined, jsonText: string, json: boolean): Promise<CliResult> {
  const bad = checkIds(nwid, address);
  if (bad) return bad;
  let body: JsonValue;
  try {
    body = JSON.parse(jsonText) as JsonValue;
  } catch (e) {
    return usage(`invalid JSON: ${(e as Error).message}`);
  }
  const path = address === undefined ? `/controller/network/${nwid}` : `/controller/network/${nwid}/member/${address}`;
  const r = await call(t, "POST", path, body);
  if (!r.ok) return r.res;
  return done(json ? pretty(r.json) : `updated ${address ?? nwid} (revision ${obj(r.json).revision})\n`);
}

export async function remove(t: ApiTarget, nwid: string, address: string | undefined): Promise<CliResult> {
  const bad = checkIds(nwid, address);
  if (bad) return bad;
  const path = address === undefined ? `/controller/network/${nwid}` : `/controller/network/${nwid}/member/${address}`;
  const r = await call(t, "DELETE", path);
  return r.ok ? done(`deleted ${address === undefined ? `network ${nwid}` : `member ${address} of ${nwid}`}\n`) : r.res;
}

function checkIds(nwid: string, address: string | undefined): CliResult | null {
  if (!NWID_RE.test(nwid)) return usage(`network ID must be 16 hex digits: ${nwid}`);
  if (address !== undefined && !ADDR_RE.test(address)) return usage(`member address must be 10 hex digits: ${address}`);
  return null;
}
