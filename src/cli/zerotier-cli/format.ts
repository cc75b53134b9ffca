/** Text output of zerotier-cli's commands, line for line as the original prints them. */
import type { JsonValue } from "../../util/json.ts";

type Obj = { [k: string]: JsonValue };

const isObj = (v: JsonValue | undefined): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: JsonValue | undefined, dfl = "-"): string => (typeof v === "string" ? v : dfl);
const int = (v: JsonValue | undefined, dfl = 0): number => (typeof v === "number" ? Math.trunc(v) : dfl);

/** nlohmann::json dump(1): keys sorted, one-space indent. */
export function jsonDump(v: JsonValue): string {
  return JSON.stringify(sortKeys(v), null, 1);
}

function sortKeys(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isObj(v)) {
    const out: Obj = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys(v[k]!);
    return out;
  }
  return v;
}

export function formatInfo(j: JsonValue): string {
  if (!isObj(j)) return "";
  const state = j.tcpFallbackActive ? "TUNNELED" : j.online ? "ONLINE" : "OFFLINE";
  return `200 info ${str(j.address)} ${str(j.version)} ${state}\n`;
}

function version(p: Obj): string {
  const maj = int(p.versionMajor, -1);
  return maj >= 0 ? `${maj}.${int(p.versionMinor)}.${int(p.versionRev)}` : "-";
}

function preferredPath(p: Obj): Obj | null {
  if (!Array.isArray(p.paths)) return null;
  for (const path of p.paths) if (isObj(path) && path.preferred) return path;
  return null;
}

function since(now: number, t: JsonValue | undefined): number {
  const v = int(t, 0);
  return v ? now - v : -1;
}

export function formatListPeers(j: JsonValue, now: number): string {
  let out = "200 listpeers <ztaddr> <path> <latency> <version> <role>\n";
  if (!Array.isArray(j)) return out;
  for (const p of j) {
    if (!isObj(p)) continue;
    const path = preferredPath(p);
    const best = path ? `${str(path.address, "")};${since(now, path.lastSend)};${since(now, path.lastReceive)}` : "-";
    out += `200 listpeers ${str(p.address)} ${best} ${int(p.latency)} ${version(p)} ${str(p.role)}\n`;
  }
  return out;
}

export function formatPeers(j: JsonValue, now: number): string {
  let out = "200 peers\n<ztaddr>   <ver>  <role> <lat> <link>   <lastTX> <lastRX> <path>\n";
  if (!Array.isArray(j)) return out;
  let anyTunneled = false;
  for (const p of j) {
    if (!isObj(p)) continue;
    if (p.tunneled) anyTunneled = true;
    const path = preferredPath(p);
    let best = "RELAY";
    if (path) {
      const sent = String(since(now, path.lastSend)).padEnd(8);
      const received = String(since(now, path.lastReceive)).padEnd(8);
      const tail = `${sent} ${received} ${str(path.address, "")}`;
      best = p.tunneled ? `RELAY ${tail}` : `DIRECT   ${tail}`;
    }
    out += `${str(p.address)} ${version(p).padEnd(6)} ${str(p.role).padEnd(6)} ${String(int(p.latency)).padStart(5)} ${best}\n`;
  }
  if (anyTunneled) out += "NOTE: Currently tunneling through a TCP relay. Ensure that UDP is not blocked.\n";
  return out;
}

export function formatListNetworks(j: JsonValue): string {
  let out = "200 listnetworks <nwid> <name> <mac> <status> <type> <dev> <ZT assigned ips>\n";
  if (!Array.isArray(j)) return out;
  for (const n of j) {
    if (!isObj(n)) continue;
    const ips = Array.isArray(n.assignedAddresses) ? n.assignedAddresses.filter((a): a is string => typeof a === "string") : [];
    const fields = [n.nwid, n.name, n.mac, n.status, n.type, n.portDeviceName].map((v) => str(v));
    out += `200 listnetworks ${fields.join(" ")} ${ips.length ? ips.join(",") : "-"}\n`;
  }
  return out;
}
