#!/usr/bin/env bun
/**
 * Two nodes in --tap mode, each in its own network namespace, on a public network of our
 * controller (our service is root and controller in a third namespace): ping RTT and iperf3 TCP
 * over the taps (MB/s of payload, frames/s through the receiving tap). Then the same with two real
 * zerotier-one 1.14.1 nodes as the leaves, if a build is present at ZT_ONE (default
 * /work/zt-build/zerotier-one; never part of the project), for the ratio. Needs root and iperf3;
 * prints "skipped" otherwise.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { idtool, waitFor } from "../test/e2e/helpers.ts";
import { NetnsLab, netnsPossible, sh, writeHome } from "../test/e2e/netns-lab.ts";

const SECONDS = Number(process.env.VL2_TAP_SECONDS ?? 8);
const ZT_ONE = process.env.ZT_ONE ?? "/work/zt-build/zerotier-one";

interface Result {
  mbps: number;
  framesPerSec: number;
  pingMs: number;
}

interface NetInfo {
  status: string;
  assignedAddresses: string[];
  portDeviceName: string;
}

async function run(kind: "ours" | "real"): Promise<Result> {
  const tmp = mkdtempSync(join(tmpdir(), `ztnc-bench-${kind}-`));
  const lab = await NetnsLab.create(2, "zb");
  try {
    const homes = { root: join(tmp, "root"), a: join(tmp, "a"), b: join(tmp, "b") };
    const settings = { portMappingEnabled: false, allowTcpFallbackRelay: false, allowSecondaryPort: false };
    for (const h of Object.values(homes)) writeHome(h, settings, null);
    for (const h of Object.values(homes)) {
      if ((await idtool("generate", join(h, "identity.secret"), join(h, "identity.public"))).code !== 0) throw new Error("idtool generate failed");
    }
    const rootAddr = readFileSync(join(homes.root, "identity.public"), "utf8").slice(0, 10);
    const worldJson = join(tmp, "world.json");
    await idtool("mkworld", "--new-signing-key", worldJson);
    const w = JSON.parse(readFileSync(worldJson, "utf8")) as Record<string, unknown>;
    w.roots = [{ identity: readFileSync(join(homes.root, "identity.public"), "utf8").trim(), stableEndpoints: [`${lab.hubIp()}/9993`] }];
    writeFileSync(worldJson, JSON.stringify(w));
    for (const h of Object.values(homes)) await idtool("mkworld", worldJson, join(h, "planet"));
    lab.startService(lab.hub, homes.root);
    await waitFor("root API", async () => ((await lab.api(lab.hub, homes.root, "GET", "/status")).status === 200 ? true : null));
    const created = await lab.api(lab.hub, homes.root, "POST", `/controller/network/${rootAddr}______`, {
      name: "bench",
      private: false,
      ipAssignmentPools: [{ ipRangeStart: "10.233.1.10", ipRangeEnd: "10.233.1.200" }],
      routes: [{ target: "10.233.1.0/24", via: null }],
      v4AssignMode: { zt: true },
    });
    const nwid = (created.json as { id: string }).id;
    const leaves = [
      { ns: lab.leaves[0]!, home: homes.a },
      { ns: lab.leaves[1]!, home: homes.b },
    ];
    const info: NetInfo[] = [];
    for (const l of leaves) {
      if (kind === "ours") {
        lab.startService(l.ns, l.home, ["--tap"]);
        await waitFor("leaf API", async () => ((await lab.api(l.ns, l.home, "GET", "/status")).status === 200 ? true : null));
        await lab.api(l.ns, l.home, "POST", `/network/${nwid}`, {});
      } else {
        lab.spawn(l.ns, [ZT_ONE, l.home], join(l.home, "zt.log"));
        await waitFor("real node", async () => ((await lab.exec(l.ns, [ZT_ONE, "-q", `-D${l.home}`, "info"], { allowFail: true })).code === 0 ? true : null));
        await lab.exec(l.ns, [ZT_ONE, "-q", `-D${l.home}`, "join", nwid]);
      }
    }
    for (const l of leaves) {
      info.push(
        await waitFor(
          "address",
          async () => {
            let n: NetInfo | null = null;
            if (kind === "ours") {
              const r = await lab.api(l.ns, l.home, "GET", `/network/${nwid}`);
              n = r.status === 200 ? (r.json as NetInfo) : null;
            } else {
              const r = await lab.exec(l.ns, [ZT_ONE, "-q", `-D${l.home}`, "-j", "listnetworks"], { allowFail: true });
              try {
                n = (JSON.parse(r.out) as NetInfo[])[0] ?? null;
              } catch {
                n = null;
              }
            }
            return n !== null && n.status === "OK" && n.assignedAddresses.some((a) => a.startsWith("10.233.")) && n.portDeviceName ? n : null;
          },
          60_000,
        ),
      );
    }
    const ipB = info[1]!.assignedAddresses.find((a) => a.startsWith("10.233."))!.split("/")[0]!;
    // warm up (ARP, paths), then RTT
    for (let i = 0; i < 20; i++) {
      if ((await lab.exec(leaves[0]!.ns, ["ping", "-c", "1", "-W", "1", ipB], { allowFail: true })).code === 0) break;
    }
    const ping = await lab.exec(leaves[0]!.ns, ["ping", "-c", "10", "-i", "0.2", "-W", "3", ipB], { allowFail: true });
    const rtt = /= [\d.]+\/([\d.]+)\//.exec(ping.out);
    const server = lab.spawn(leaves[1]!.ns, ["iperf3", "-s", "-1"]);
    await Bun.sleep(500);
    const dev = info[1]!.portDeviceName;
    const rxBefore = await rxPackets(lab, leaves[1]!.ns, dev);
    const t0 = performance.now();
    const client = await lab.exec(leaves[0]!.ns, ["iperf3", "-c", ipB, "-t", String(SECONDS), "-J"], { allowFail: true, timeoutMs: (SECONDS + 30) * 1000 });
    const elapsed = (performance.now() - t0) / 1000;
    const rxAfter = await rxPackets(lab, leaves[1]!.ns, dev);
    await server.exited;
    const j = JSON.parse(client.out) as { end?: { sum_received?: { bits_per_second?: number } } };
    const bps = j.end?.sum_received?.bits_per_second ?? 0;
    return { mbps: bps / 8 / 1e6, framesPerSec: (rxAfter - rxBefore) / elapsed, pingMs: rtt ? Number(rtt[1]) : -1 };
  } finally {
    await lab.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Frames the node wrote into the tap (the kernel counts them as received on the interface). */
async function rxPackets(lab: NetnsLab, ns: string, dev: string): Promise<number> {
  const r = await lab.exec(ns, ["cat", `/sys/class/net/${dev}/statistics/rx_packets`], { allowFail: true });
  return Number(r.out.trim() || 0);
}

if (!netnsPossible() || (await sh(["which", "iperf3"], { allowFail: true })).code !== 0) {
  console.log("vl2-tap: skipped (needs root, network namespaces and iperf3)");
  process.exit(0);
}
const ours = await run("ours");
console.log(`vl2-tap ours: iperf3 ${ours.mbps.toFixed(1)} MB/s, ${Math.round(ours.framesPerSec)} frames/s into the receiving tap, ping ${ours.pingMs} ms`);
if (existsSync(ZT_ONE)) {
  const real = await run("real");
  console.log(`vl2-tap zerotier-one 1.14.1: iperf3 ${real.mbps.toFixed(1)} MB/s, ${Math.round(real.framesPerSec)} frames/s, ping ${real.pingMs} ms`);
  console.log(`vl2-tap ratio ours/real: ${(ours.mbps / real.mbps).toFixed(2)} (throughput)`);
} else {
  console.log("vl2-tap zerotier-one 1.14.1: not available");
}
