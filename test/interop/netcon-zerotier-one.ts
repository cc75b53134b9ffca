#!/usr/bin/env bun
/**
 * Interop with a real ZeroTier One 1.14.1 node (root only; `ZT_ONE=/path/to/zerotier-one`, or
 * zerotier-one on PATH; none of ZeroTier One is part of this project):
 *
 *   our root + controller (hub namespace) — a real zerotier-one node with its tap (leaf 0)
 *                                         — our netcon service, no tap (leaf 1)
 *
 * The original project's test: the real node pings the container's address and fetches a page
 * from an intercepted `python3 -m http.server`; and the reverse: an intercepted curl fetches from
 * a server on the real node's tap address. Prints one line per check and exits non-zero on any
 * failure (or when no binary is available).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureInterceptLibrary } from "../../intercept/build.ts";
import { idtool, waitFor } from "../e2e/helpers.ts";
import { NetnsLab, netnsPossible, writeHome } from "../e2e/netns-lab.ts";

const ZT_ONE = process.env.ZT_ONE ?? Bun.which("zerotier-one");
if (ZT_ONE === null) {
  console.error("no zerotier-one binary: set ZT_ONE=/path/to/zerotier-one or put it on PATH");
  process.exit(2);
}
if (!netnsPossible()) {
  console.error("needs root and network namespaces");
  process.exit(2);
}
const PY = "/usr/bin/python3";
let failures = 0;
function check(name: string, ok: boolean, detail = ""): void {
  console.log(`${ok ? "ok" : "FAIL"} ${name}${detail ? `: ${detail}` : ""}`);
  if (!ok) failures++;
}

const tmp = mkdtempSync(join(tmpdir(), "ztnc-interop-"));
const lab = await NetnsLab.create(2, "zi");
try {
  const lib = await ensureInterceptLibrary({});
  const homes = { root: join(tmp, "root"), real: join(tmp, "real"), nc: join(tmp, "nc") };
  const settings = { portMappingEnabled: false, allowTcpFallbackRelay: false, allowSecondaryPort: false };
  for (const h of Object.values(homes)) writeHome(h, settings, null);
  for (const h of [homes.root, homes.nc]) await idtool("generate", join(h, "identity.secret"), join(h, "identity.public"));
  const worldJson = join(tmp, "world.json");
  await idtool("mkworld", "--new-signing-key", worldJson);
  const w = JSON.parse(readFileSync(worldJson, "utf8")) as Record<string, unknown>;
  w.roots = [{ identity: readFileSync(join(homes.root, "identity.public"), "utf8").trim(), stableEndpoints: [`${lab.hubIp()}/9993`] }];
  writeFileSync(worldJson, JSON.stringify(w));
  for (const h of Object.values(homes)) await idtool("mkworld", worldJson, join(h, "planet"));
  const [nsReal, nsNc] = [lab.leaves[0]!, lab.leaves[1]!];
  lab.startService(lab.hub, homes.root);
  lab.startService(nsNc, homes.nc);
  lab.spawn(nsReal, [ZT_ONE, homes.real], join(homes.real, "zt.log"));
  await waitFor("root API", async () => ((await lab.api(lab.hub, homes.root, "GET", "/status")).status === 200 ? true : null), 30_000);
  await waitFor("netcon API", async () => ((await lab.api(nsNc, homes.nc, "GET", "/status")).status === 200 ? true : null), 30_000);
  await waitFor("real node", async () => ((await lab.exec(nsReal, [ZT_ONE, "-q", `-D${homes.real}`, "info"], { allowFail: true })).code === 0 ? true : null), 30_000);
  const rootAddr = readFileSync(join(homes.root, "identity.public"), "utf8").slice(0, 10);
  const created = await lab.api(lab.hub, homes.root, "POST", `/controller/network/${rootAddr}______`, {
    name: "interop",
    private: false,
    ipAssignmentPools: [{ ipRangeStart: "10.234.5.10", ipRangeEnd: "10.234.5.200" }],
    routes: [{ target: "10.234.5.0/24", via: null }],
    v4AssignMode: { zt: true },
  });
  const nwid = (created.json as { id: string }).id;
  await lab.exec(nsReal, [ZT_ONE, "-q", `-D${homes.real}`, "join", nwid]);
  await lab.api(nsNc, homes.nc, "POST", `/network/${nwid}`, {});
  const realIp = await waitFor("real node's address", async () => {
    const r = await lab.exec(nsReal, [ZT_ONE, "-q", `-D${homes.real}`, "-j", "listnetworks"], { allowFail: true });
    try {
      const n = (JSON.parse(r.out) as { status: string; assignedAddresses: string[] }[])[0];
      return n?.status === "OK" && n.assignedAddresses.length > 0 ? n.assignedAddresses[0]!.split("/")[0]! : null;
    } catch {
      return null;
    }
  }, 60_000);
  const ncIp = await waitFor("netcon address", async () => {
    const n = (await lab.api(nsNc, homes.nc, "GET", `/network/${nwid}`)).json as { status: string; assignedAddresses: string[] };
    return n.status === "OK" && n.assignedAddresses.length > 0 ? n.assignedAddresses[0]!.split("/")[0]! : null;
  }, 60_000);
  console.log(`network ${nwid}: real zerotier-one ${realIp}, netcon container ${ncIp}`);
  const env = ["env", `LD_PRELOAD=${lib}`, `ZT_NC_NWID=${nwid}`, `ZT_NC_HOME=${homes.nc}`];

  let ping = await lab.exec(nsReal, ["ping", "-c", "5", "-W", "3", ncIp], { allowFail: true, timeoutMs: 30_000 });
  if (!/ 0% packet loss/.test(ping.out)) ping = await lab.exec(nsReal, ["ping", "-c", "5", "-W", "3", ncIp], { allowFail: true, timeoutMs: 30_000 });
  check("the real node pings the container", / 0% packet loss/.test(ping.out), /rtt.*/.exec(ping.out)?.[0] ?? ping.out.trim().split("\n").pop());

  const www = join(tmp, "www");
  await Bun.write(join(www, "index.html"), `served from a network container at ${ncIp}\n`);
  lab.spawn(nsNc, [...env, PY, "-m", "http.server", "8080", "--directory", www], join(tmp, "http.log"));
  const page = await waitFor("page", async () => {
    const r = await lab.exec(nsReal, ["curl", "-s", "--max-time", "3", `http://${ncIp}:8080/`], { allowFail: true });
    return r.code === 0 && r.out.length > 0 ? r.out : null;
  }, 30_000).catch(() => "");
  check("the real node's curl fetches the intercepted python http.server's page", page === `served from a network container at ${ncIp}\n`, page.trim());

  const kdir = join(tmp, "kernel");
  await Bun.write(join(kdir, "k.txt"), "served behind a real zerotier-one tap\n");
  lab.spawn(nsReal, [PY, "-m", "http.server", "8081", "--bind", realIp, "--directory", kdir]);
  const back = await waitFor("reverse page", async () => {
    const r = await lab.exec(nsNc, [...env, "curl", "-s", "--max-time", "3", `http://${realIp}:8081/k.txt`], { allowFail: true });
    return r.code === 0 && r.out.length > 0 ? r.out : null;
  }, 30_000).catch(() => "");
  check("an intercepted curl fetches from a server behind the real node's tap", back === "served behind a real zerotier-one tap\n", back.trim());

  const big = join(tmp, "big.bin");
  const payload = new Uint8Array(32 * 1024 * 1024).map((_, i) => (i * 7) % 256);
  await Bun.write(big, payload);
  const want = new Bun.CryptoHasher("sha256").update(payload).digest("hex");
  const recv = lab.exec(nsReal, ["sh", "-c", "nc -l 5001 | sha256sum"], { timeoutMs: 120_000 });
  const sent = await lab.exec(nsNc, [...env, "sh", "-c", `for i in $(seq 100); do nc -N ${realIp} 5001 < ${big} && exit 0; sleep 0.1; done; exit 1`], { allowFail: true, timeoutMs: 120_000 });
  const got = (await recv).out.split(" ")[0];
  check("32 MiB container → real node, sha256 intact", sent.code === 0 && got === want);
} finally {
  await lab.close();
  rmSync(tmp, { recursive: true, force: true });
}
console.log(failures === 0 ? "interop: all checks passed" : `interop: ${failures} check(s) failed`);
process.exit(failures === 0 ? 0 : 1);
