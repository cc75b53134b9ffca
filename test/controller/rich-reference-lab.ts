#!/usr/bin/env bun
/**
 * Makes the rich controller reference vectors in test/fixtures/controller/rich/ (root only; run
 * by hand, never by `bun test`): a real zerotier-one 1.14.1 acting as root and network controller
 * and four real zerotier-one members, each in its own network namespace, with a planet made by our
 * `mkworld` naming only that local root (nothing can reach the internet).
 *
 *   ZT_ONE=/path/to/zerotier-one bun test/controller/rich-reference-lab.ts [output dir]
 *
 * ZT_ONE (or `zerotier-one` on PATH) is a 1.14.1 binary the user built; it is not part of this
 * project. The script creates three networks through the controller's local JSON API, pre-creates
 * some members, lets the members join in a fixed order (one denied member is authorized
 * afterwards), then stores: every API call and join in order (events.json), the controller's
 * API views and its controller.d files, each member's networks.d/<nwid>.conf as the member wrote
 * it, the members' own /network views, and the identities. See rich/README.md.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { idtool, ROOT, waitFor } from "../e2e/helpers.ts";
import { NetnsLab, netnsPossible, sh, writeHome } from "../e2e/netns-lab.ts";

const zt = process.env.ZT_ONE ?? Bun.which("zerotier-one");
if (zt === null || zt === undefined || !existsSync(zt)) throw new Error("set ZT_ONE to a zerotier-one 1.14.1 binary (or put it on PATH)");
if (!netnsPossible()) throw new Error("needs root and `ip netns`");
const OUT = process.argv[2] ?? join(ROOT, "test/fixtures/controller/rich");

/** No UPnP, no secondary port, no TCP relay: a node only talks to the lab. */
const SETTINGS = { portMappingEnabled: false, allowTcpFallbackRelay: false, allowSecondaryPort: false };

type Event =
  | { kind: "api"; method: string; path: string; body: unknown; status: number; response: unknown }
  | { kind: "join"; member: string; nwid: string; status: string };
const events: Event[] = [];

const lab = await NetnsLab.create(4, "zr");
const tmp = mkdtempSync(join(tmpdir(), "zt-rich-"));
try {
  // ---- homes, identities (made by the real idtool), planet (made by our mkworld) ----
  const homes = { ctrl: join(tmp, "ctrl"), m: [0, 1, 2, 3].map((i) => join(tmp, `m${i}`)) };
  for (const h of [homes.ctrl, ...homes.m]) {
    writeHome(h, SETTINGS, null);
    const r = await sh([zt, "-i", "generate", join(h, "identity.secret"), join(h, "identity.public")]);
    if (r.code !== 0) throw new Error(`idtool generate: ${r.err}`);
  }
  const pub = (h: string) => readFileSync(join(h, "identity.public"), "utf8").trim();
  const ctrlId = pub(homes.ctrl);
  const C = ctrlId.slice(0, 10);
  const [A, B, Cm, D] = homes.m.map((h) => pub(h).slice(0, 10)) as [string, string, string, string];

  const worldJson = join(tmp, "world.json");
  if ((await idtool("mkworld", "--new-signing-key", worldJson)).code !== 0) throw new Error("mkworld --new-signing-key");
  const w = JSON.parse(readFileSync(worldJson, "utf8")) as Record<string, unknown>;
  w.roots = [{ identity: ctrlId, stableEndpoints: [`${lab.hubIp()}/9993`] }];
  writeFileSync(worldJson, JSON.stringify(w));
  const planet = join(tmp, "planet");
  const mk = await idtool("mkworld", worldJson, planet);
  if (mk.code !== 0) throw new Error(`mkworld: ${mk.err}`);
  for (const h of [homes.ctrl, ...homes.m]) copyFileSync(planet, join(h, "planet"));

  // ---- controller ----
  lab.spawn(lab.hub, [zt, "-p9993", homes.ctrl], join(tmp, "ctrl.log"));
  const capi = (method: string, path: string, body?: unknown) => lab.api(lab.hub, homes.ctrl, method, path, body);
  await waitFor("controller API", async () => (existsSync(join(homes.ctrl, "zerotier-one.port")) && (await capi("GET", "/status")).status === 200 ? true : null), 30_000);
  const api = async (method: string, path: string, body?: unknown) => {
    const r = await capi(method, path, body);
    events.push({ kind: "api", method, path, body: body ?? null, status: r.status, response: r.json });
    if (r.status !== 200) throw new Error(`${method} ${path} -> ${r.status} ${JSON.stringify(r.json)}`);
    return r.json;
  };

  const N1 = `${C}0000a1`;
  const N2 = `${C}0000b2`;
  const N3 = `${C}0000c3`;

  // N1: private; long rule table (most match/action types, tags and capabilities referenced by
  // rules), tags with and without defaults, three capabilities (one default), v4 pool, v6 "zt" pool
  // (deterministic: the range spans a /64) + rfc4193, routes with IPv4 and IPv6 gateways, DNS.
  await api("POST", `/controller/network/${N1}`, {
    name: "rich-rules",
    private: true,
    enableBroadcast: true,
    mtu: 2600,
    multicastLimit: 64,
    v4AssignMode: { zt: true },
    v6AssignMode: { zt: true, rfc4193: true, "6plane": false },
    ipAssignmentPools: [
      { ipRangeStart: "10.121.0.10", ipRangeEnd: "10.121.0.200" },
      { ipRangeStart: "fd12:3456:789a:1::", ipRangeEnd: "fd12:3456:789a:1:ffff:ffff:ffff:ffff" },
    ],
    routes: [
      { target: "10.121.0.0/24", via: null },
      { target: "10.122.0.0/16", via: "10.121.0.1" },
      { target: "192.168.77.0/24", via: "10.121.0.2" },
      { target: "fd12:3456:789a:1::/64", via: null },
      { target: "fd12:3456:9999::/48", via: "fd12:3456:789a:1::1" },
    ],
    dns: { domain: "rich.lab", servers: ["10.121.0.1", "fd12:3456:789a:1::1", "10.121.0.2"] },
    tags: [
      { id: 100, default: 1 },
      { id: 101, default: null },
      { id: 200 },
    ],
    capabilities: [
      { id: 1, default: false, rules: [{ type: "MATCH_IP_PROTOCOL", ipProtocol: 6 }, { type: "MATCH_IP_DEST_PORT_RANGE", start: 22, end: 22 }, { type: "ACTION_ACCEPT" }] },
      { id: 2, default: true, rules: [{ type: "MATCH_ETHERTYPE", etherType: 34525 }, { type: "ACTION_ACCEPT" }] },
      {
        id: 3,
        default: false,
        rules: [
          { type: "MATCH_TAGS_EQUAL", id: 100, value: 2 },
          { type: "ACTION_TEE", address: Cm, flags: 0, length: 64 },
          { type: "MATCH_IP_SOURCE_PORT_RANGE", start: 1024, end: 65535 },
          { type: "ACTION_ACCEPT" },
        ],
      },
    ],
    rules: [
      { type: "MATCH_ETHERTYPE", etherType: 2048, not: true },
      { type: "MATCH_ETHERTYPE", etherType: 2054, not: true },
      { type: "MATCH_ETHERTYPE", etherType: 34525, not: true },
      { type: "ACTION_DROP" },
      { type: "MATCH_TAGS_DIFFERENCE", id: 100, value: 1, not: true },
      { type: "ACTION_DROP" },
      { type: "MATCH_TAG_SENDER", id: 101, value: 5 },
      { type: "ACTION_TEE", address: A, flags: 0, length: 128 },
      { type: "MATCH_TAG_RECEIVER", id: 200, value: 1 },
      { type: "ACTION_WATCH", address: B, flags: 1, length: 0 },
      { type: "MATCH_TAGS_BITWISE_AND", id: 100, value: 2 },
      { type: "MATCH_TAGS_BITWISE_OR", id: 100, value: 4, or: true },
      { type: "MATCH_TAGS_BITWISE_XOR", id: 200, value: 1 },
      { type: "ACTION_BREAK" },
      { type: "MATCH_IP_PROTOCOL", ipProtocol: 6 },
      { type: "MATCH_CHARACTERISTICS", mask: "0000000000000002" },
      { type: "MATCH_IP_DEST_PORT_RANGE", start: 8000, end: 8999 },
      { type: "ACTION_REDIRECT", address: Cm, flags: 0 },
      { type: "MATCH_IPV4_SOURCE", ip: "10.121.0.0/24" },
      { type: "MATCH_IPV4_DEST", ip: "192.168.77.7/32", not: true },
      { type: "MATCH_IP_TOS", mask: 252, start: 0, end: 8 },
      { type: "MATCH_FRAME_SIZE_RANGE", start: 64, end: 1500 },
      { type: "ACTION_ACCEPT" },
      { type: "MATCH_IPV6_SOURCE", ip: "fd12:3456:789a:1::/64" },
      { type: "MATCH_IPV6_DEST", ip: "fd12:3456:9999::/48" },
      { type: "MATCH_ICMP", icmpType: 128, icmpCode: 0 },
      { type: "ACTION_ACCEPT" },
      { type: "MATCH_ICMP", icmpType: 8, icmpCode: null },
      { type: "MATCH_RANDOM", probability: 2147483648 },
      { type: "ACTION_DROP" },
      { type: "MATCH_MAC_SOURCE", mac: "02:11:22:33:44:55" },
      { type: "MATCH_MAC_DEST", mac: "ff:ff:ff:ff:ff:ff" },
      { type: "MATCH_SOURCE_ZEROTIER_ADDRESS", zt: A },
      { type: "MATCH_DEST_ZEROTIER_ADDRESS", zt: B, not: true },
      { type: "MATCH_VLAN_ID", vlanId: 42 },
      { type: "MATCH_VLAN_PCP", vlanPcp: 3, or: true },
      { type: "MATCH_VLAN_DEI", vlanDei: 1 },
      { type: "ACTION_DROP" },
      { type: "INTEGER_RANGE", start: "10", end: "20", idx: 14, little: false, bits: 16 },
      { type: "ACTION_DROP" },
      { type: "ACTION_ACCEPT" },
    ],
  });
  // N2: public (members authorized on first request, default tags and capability granted), no
  // IPv4, 6plane + rfc4193, routes with gateways (one whose gateway is of the other family), DNS
  // with a domain and no servers, broadcast off.
  await api("POST", `/controller/network/${N2}`, {
    name: "six-plane",
    private: false,
    enableBroadcast: false,
    mtu: 1400,
    multicastLimit: 8,
    v4AssignMode: { zt: false },
    v6AssignMode: { zt: false, rfc4193: true, "6plane": true },
    routes: [
      { target: "2001:db8:100::/48", via: "fd00:feed::1" },
      { target: "10.130.0.0/16", via: "10.130.0.1" },
      { target: "10.131.0.0/16", via: "fd00:feed::2" },
    ],
    dns: { domain: "six.lab", servers: [] },
    tags: [
      { id: 7, default: 70 },
      { id: 8, default: null },
    ],
    capabilities: [
      { id: 9, default: true, rules: [{ type: "MATCH_IP_PROTOCOL", ipProtocol: 58 }, { type: "ACTION_ACCEPT" }] },
      { id: 10, default: false, rules: [{ type: "ACTION_DROP" }] },
    ],
    rules: [{ type: "MATCH_TAGS_EQUAL", id: 7, value: 70, not: true }, { type: "ACTION_DROP" }, { type: "ACTION_ACCEPT" }],
  });
  // N3: private, default rules, two v4 pools (the first has no route, the second wraps past .255),
  // rfc4193 only, default routes with gateways, five DNS servers (4 are sent), a tag with default 0,
  // a network-wide remote trace target.
  await api("POST", `/controller/network/${N3}`, {
    name: "v4-pools",
    private: true,
    v4AssignMode: { zt: true },
    v6AssignMode: { zt: false, rfc4193: true, "6plane": false },
    ipAssignmentPools: [
      { ipRangeStart: "10.150.0.1", ipRangeEnd: "10.150.0.254" },
      { ipRangeStart: "10.140.1.250", ipRangeEnd: "10.140.2.10" },
    ],
    routes: [
      { target: "10.140.0.0/16", via: null },
      { target: "0.0.0.0/0", via: "10.140.0.1" },
      { target: "::/0", via: "fd00:1::1" },
    ],
    dns: { domain: "pools.lab", servers: ["10.140.0.1", "10.140.0.2", "10.140.0.3", "10.140.0.4", "10.140.0.5"] },
    tags: [{ id: 0, default: 0 }],
    remoteTraceTarget: C,
    remoteTraceLevel: 0,
  });

  // pre-created members
  await api("POST", `/controller/network/${N1}/member/${A}`, { authorized: true, name: "alpha", tags: [[101, 5], [100, 2]], capabilities: [3, 1], ipAssignments: ["10.121.0.5"] });
  await api("POST", `/controller/network/${N1}/member/${B}`, { authorized: true, name: "bravo", tags: [[200, 1]], activeBridge: true });
  await api("POST", `/controller/network/${N1}/member/${Cm}`, {
    authorized: true,
    name: "charlie",
    noAutoAssignIps: true,
    ipAssignments: ["10.122.5.5", "172.31.9.9", "fd12:3456:789a:1::abcd"],
    capabilities: [2],
    remoteTraceTarget: C,
    remoteTraceLevel: 1,
  });
  await api("POST", `/controller/network/${N3}/member/${A}`, { authorized: true, tags: [[999, 3]], capabilities: [77] });
  await api("POST", `/controller/network/${N3}/member/${B}`, { authorized: true });
  await api("POST", `/controller/network/${N3}/member/${Cm}`, { authorized: true, ipAssignments: ["192.0.2.7"] });
  await api("POST", `/controller/network/${N3}/member/${D}`, { authorized: false, name: "delta" });

  // ---- members ----
  homes.m.forEach((h, i) => lab.spawn(lab.leaves[i]!, [zt, "-p9993", h], join(tmp, `m${i}.log`)));
  const mapi = (i: number, method: string, path: string, body?: unknown) => lab.api(lab.leaves[i]!, homes.m[i]!, method, path, body);
  for (let i = 0; i < 4; i++) {
    await waitFor(`member ${i} ONLINE`, async () => {
      const r = existsSync(join(homes.m[i]!, "zerotier-one.port")) ? await mapi(i, "GET", "/status") : null;
      return r !== null && r.status === 200 && (r.json as { online?: boolean }).online === true ? true : null;
    }, 60_000);
  }
  const joinNet = async (i: number, nwid: string, want: string) => {
    const r = await mapi(i, "POST", `/network/${nwid}`, {});
    if (r.status !== 200) throw new Error(`join ${nwid}: ${r.status}`);
    const status = await waitFor(`member ${i} ${want} on ${nwid}`, async () => {
      const n = (await mapi(i, "GET", `/network/${nwid}`)).json as { status?: string; assignedAddresses?: string[] } | null;
      return n?.status === want ? want : null;
    }, 60_000);
    events.push({ kind: "join", member: [A, B, Cm, D][i]!, nwid, status });
  };
  for (const [i, nwid, want] of [
    [0, N1, "OK"], [0, N2, "OK"], [0, N3, "OK"],
    [1, N1, "OK"], [1, N2, "OK"], [1, N3, "OK"],
    [2, N1, "OK"], [2, N2, "OK"], [2, N3, "OK"],
    [3, N2, "OK"], [3, N1, "ACCESS_DENIED"], [3, N3, "ACCESS_DENIED"],
  ] as const) {
    await joinNet(i, nwid, want);
  }
  // D was unknown on N1 (recorded by its denied request): authorize it now, with a tag.
  await api("POST", `/controller/network/${N1}/member/${D}`, { authorized: true, tags: [[100, 3]] });
  await waitFor("member 3 OK on N1", async () => (((await mapi(3, "GET", `/network/${N1}`)).json as { status?: string }).status === "OK" ? true : null), 90_000);
  events.push({ kind: "join", member: D, nwid: N1, status: "OK" });
  // the member has stored the config it is running (its networks.d file is more than a stub)
  await waitFor("member 3's stored N1 config", async () => {
    const f = join(homes.m[3]!, "networks.d", `${N1}.conf`);
    return existsSync(f) && statSync(f).size > 1 ? true : null;
  }, 30_000);

  // ---- capture ----
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const put = (name: string, v: unknown) => writeFileSync(join(OUT, name), `${JSON.stringify(v, null, 2)}\n`);
  const get = async (path: string) => {
    const r = await capi("GET", path);
    if (r.status !== 200) throw new Error(`GET ${path} -> ${r.status}`);
    return r.json;
  };
  // stop the members first so no refresh rewrites a conf between reads
  const nets = [N1, N2, N3];
  const memberViews: Record<string, unknown> = {};
  for (let i = 0; i < 4; i++) for (const n of nets) memberViews[`${[A, B, Cm, D][i]}/${n}`] = (await mapi(i, "GET", `/network/${n}`)).json;
  const stopped: number[] = [];
  for (let i = 0; i < 4; i++) {
    const pids = await sh(["ip", "netns", "pids", lab.leaves[i]!], { allowFail: true });
    for (const pid of pids.out.split("\n").filter((x) => /^\d+$/.test(x))) {
      process.kill(Number(pid), "SIGTERM");
      stopped.push(Number(pid));
    }
  }
  await waitFor("members stopped", async () => (stopped.every((pid) => !existsSync(`/proc/${pid}`)) ? true : null), 30_000);
  const controller: Record<string, unknown> = { status: await get("/controller"), networks: await get("/controller/network") };
  for (const n of nets) {
    controller[`network/${n}`] = await get(`/controller/network/${n}`);
    const list = (await get(`/controller/network/${n}/member`)) as Record<string, number>;
    controller[`network/${n}/member`] = list;
    for (const m of Object.keys(list).sort()) controller[`network/${n}/member/${m}`] = await get(`/controller/network/${n}/member/${m}`);
  }
  put("controller-api.json", controller);
  const stored: Record<string, unknown> = {};
  const walk = (dir: string, rel: string) => {
    for (const f of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (f.isDirectory()) walk(join(dir, f.name), `${rel}${f.name}/`);
      else if (f.name.endsWith(".json")) stored[`${rel}${f.name}`] = JSON.parse(readFileSync(join(dir, f.name), "utf8"));
    }
  };
  walk(join(homes.ctrl, "controller.d"), "");
  put("controller-d.json", stored);
  put("member-network-views.json", memberViews);
  put("events.json", events);
  const ids: Record<string, string> = { controller: readFileSync(join(homes.ctrl, "identity.secret"), "utf8").trim() };
  homes.m.forEach((h, i) => (ids[["alpha", "bravo", "charlie", "delta"][i]!] = pub(h)));
  put("identities.json", ids);
  put("planet.json", { ...w, signingKey_SECRET: undefined }); // the planet it made (its one-off signing secret left out)
  mkdirSync(join(OUT, "confs"), { recursive: true });
  for (let i = 0; i < 4; i++) {
    for (const n of nets) {
      const f = join(homes.m[i]!, "networks.d", `${n}.conf`);
      // a member denied a network writes a 1-byte file: there is no config to compare
      if (existsSync(f) && statSync(f).size > 1) copyFileSync(f, join(OUT, "confs", `${[A, B, Cm, D][i]}-${n}.conf`));
    }
  }
  console.log(`controller ${C}; members alpha ${A} bravo ${B} charlie ${Cm} delta ${D}; written to ${OUT}`);
} finally {
  await lab.close();
  if (process.env.KEEP_TMP === undefined) rmSync(tmp, { recursive: true, force: true });
  else console.log(`kept ${tmp}`);
}
