/**
 * Turns `create` options into a POST /controller/network body. `--subnet 10.147.17.0/24` is the
 * one-step form (route + pool of the usable host addresses + v4AssignMode.zt); `--pool` and
 * `--route` give full control. Bad options are reported before anything is sent.
 */

import type { JsonObject } from "../../util/json.ts";
import { inetAddressFromString, ipToString, type InetAddress } from "../../vl1/inet-address.ts";

export interface CreateOptions {
  name?: string;
  /** "cidr" (comma-separated for several). */
  subnet?: string;
  /** "start-end" (comma-separated for several). */
  pool?: string;
  /** "cidr" or "cidr via gw" (comma-separated). */
  route?: string;
  private: boolean;
}

export function createBody(o: CreateOptions): JsonObject | { error: string } {
  const body: JsonObject = { private: o.private };
  if (o.name !== undefined) body.name = o.name;
  const routes: JsonObject[] = [];
  const pools: JsonObject[] = [];
  for (const s of list(o.subnet)) {
    const c = inetAddressFromString(s);
    if (c === null || !s.includes("/") || c.port > (c.family === 4 ? 32 : 128)) {
      return { error: `--subnet ${s}: expected a CIDR like 10.147.17.0/24` };
    }
    const net = networkOf(c);
    routes.push({ target: `${ipToString(net)}/${c.port}`, via: null });
    const range = hostRange(net, c.port);
    if (range === null) return { error: `--subnet ${s}: too small to assign addresses from` };
    pools.push({ ipRangeStart: ipToString(range[0]), ipRangeEnd: ipToString(range[1]) });
  }
  for (const p of list(o.pool)) {
    const [a, b] = p.split("-");
    if (a === undefined || b === undefined || inetAddressFromString(a) === null || inetAddressFromString(b) === null) {
      return { error: `--pool ${p}: expected START-END, e.g. 10.147.17.10-10.147.17.250` };
    }
    pools.push({ ipRangeStart: a, ipRangeEnd: b });
  }
  for (const r of list(o.route)) {
    const [target, via] = r.split(/\s+via\s+/);
    routes.push({ target: target!, via: via ?? null });
  }
  if (routes.length > 0) body.routes = routes;
  if (pools.length > 0) {
    body.ipAssignmentPools = pools;
    const fams = new Set(pools.map((p) => (String(p.ipRangeStart).includes(":") ? 6 : 4)));
    if (fams.has(4)) body.v4AssignMode = { zt: true };
    if (fams.has(6)) body.v6AssignMode = { zt: true };
  }
  return body;
}

function list(s: string | undefined): string[] {
  return s === undefined ? [] : s.split(",").map((x) => x.trim()).filter((x) => x.length > 0);
}

function networkOf(c: InetAddress): InetAddress {
  const ip = c.ip.slice();
  for (let i = 0; i < ip.length; i++) {
    const keep = Math.min(8, Math.max(0, c.port - 8 * i));
    ip[i] = ip[i]! & ((0xff << (8 - keep)) & 0xff);
  }
  return c.family === 4 ? { family: 4, ip, port: 0 } : { family: 6, ip, port: 0 };
}

/** First and last usable host of a subnet: IPv4 skips the network and broadcast addresses. */
function hostRange(net: InetAddress, bits: number): [InetAddress, InetAddress] | null {
  const width = net.ip.length * 8;
  let base = 0n;
  for (const b of net.ip) base = (base << 8n) | BigInt(b);
  const size = 1n << BigInt(width - bits);
  const first = net.family === 4 && size > 2n ? base + 1n : base + (size > 1n ? 1n : 0n);
  const last = net.family === 4 && size > 2n ? base + size - 2n : base + size - 1n;
  if (last < first || size < 2n) return null;
  return [fromBig(first, net), fromBig(last, net)];
}

function fromBig(x: bigint, like: InetAddress): InetAddress {
  const ip = new Uint8Array(like.ip.length);
  for (let i = ip.length - 1; i >= 0; i--) {
    ip[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return like.family === 4 ? { family: 4, ip, port: 0 } : { family: 6, ip, port: 0 };
}
