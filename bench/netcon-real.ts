#!/usr/bin/env bun
/**
 * A network container next to a real zerotier-one 1.14.1 node (root, ZT_ONE or zerotier-one on
 * PATH): our root + controller in the hub namespace, the real node with its kernel tap in one leaf,
 * our netcon service (no tap) in the other; the bench's own program (bench/support/tcp-bench.c)
 * runs under the library in the container and on the real node's tap address. Prints, as medians
 * of NETCON_RUNS runs, throughput each way and the 64 B request/response RTT, then the same program
 * over two real nodes' taps (the reference) and the ratios: the issue's "network container ↔ real
 * zerotier-one node" row.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureInterceptLibrary } from "../intercept/build.ts";
import { NetnsLab, netnsPossible } from "../test/e2e/netns-lab.ts";
import { createNetwork, makePlanet, ZtNode } from "../test/interop/support.ts";
import { buildTcpBench, measureRealTapPair, median, untilAccepted } from "./netcon.ts";
import { ZT_ONE } from "./support/tap-pair.ts";

const RUNS = Number(process.env.NETCON_RUNS ?? 3);
const BYTES = Number(process.env.NETCON_BYTES ?? 256 * 1024 * 1024);
const RR_COUNT = 2000;
const SUBNET = "10.234.9";

if (!Number.isInteger(RUNS) || RUNS <= 0 || !Number.isInteger(BYTES) || BYTES <= 0) {
  console.error("netcon-real: NETCON_RUNS and NETCON_BYTES must be positive integers");
  process.exit(2);
}
if (ZT_ONE === null || !netnsPossible()) {
  console.log("netcon-real: needs root, ip netns and a real zerotier-one (ZT_ONE or on PATH); not measured");
  process.exit(0);
}

const tmp = mkdtempSync(join(tmpdir(), "ztnc-bench-netcon-real-"));
const lab = await NetnsLab.create(2, "zr");
let closed = false;
try {
  const lib = await ensureInterceptLibrary({});
  const tb = await buildTcpBench(tmp);
  const P = await ZtNode.prepare("ours", lab, lab.hub, join(tmp, "P"), ZT_ONE);
  const R = await ZtNode.prepare("real", lab, lab.leaves[0]!, join(tmp, "R"), ZT_ONE);
  const N = await ZtNode.prepare("ours", lab, lab.leaves[1]!, join(tmp, "N"), ZT_ONE);
  const planet = await makePlanet(tmp, "planet", [{ identity: P.identity, endpoint: `${lab.hubIp()}/9993` }]);
  for (const n of [P, R, N]) n.usePlanet(planet);
  await P.start();
  await R.start();
  await N.start();
  const nwid = await createNetwork(P, "bench-netcon-real", false, SUBNET);
  await R.join(nwid);
  await N.join(nwid);
  const realIp = await R.waitAddress(nwid, `${SUBNET}.`);
  const ncIp = await N.waitAddress(nwid, `${SUBNET}.`, { onTap: false });
  const env = ["env", `LD_PRELOAD=${lib}`, `ZT_NC_NWID=${nwid}`, `ZT_NC_HOME=${N.home}`];
  const tput: Record<string, number[]> = { "container → real node": [], "real node → container": [] };
  let port = 6301;
  for (let r = 0; r < RUNS; r++) {
    for (const [key, fromNs, fromWrap, toNs, toWrap, toIp] of [
      ["container → real node", N.ns, env, R.ns, [], realIp],
      ["real node → container", R.ns, [], N.ns, env, ncIp],
    ] as const) {
      const sink = lab.spawn(toNs, [...toWrap, tb, "sink", String(port)]);
      const out = await lab.exec(fromNs, [...fromWrap, ...untilAccepted(`${tb} source ${toIp} ${port} ${BYTES}`)], { timeoutMs: 300_000 });
      await sink.exited;
      const [, n, secs] = out.out.trim().split(" ");
      tput[key]!.push(Number(n) / Number(secs) / 1e6);
      port++;
    }
  }
  const echo = lab.spawn(N.ns, [...env, tb, "echo", "7107"]);
  const rtts: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const rr = await lab.exec(R.ns, untilAccepted(`${tb} rr ${ncIp} 7107 ${RR_COUNT}`), { timeoutMs: 120_000 });
    rtts.push(Number(rr.out.trim().split(" ")[2]));
  }
  echo.kill();
  const rtt = median(rtts); // as the real pair's: the median of RUNS runs' p50s
  for (const [k, v] of Object.entries(tput)) console.log(`netcon ↔ real zerotier-one, ${k}: ${median(v).toFixed(1)} MB/s (runs: ${v.map((x) => x.toFixed(0)).join(", ")})`);
  console.log(`netcon ↔ real zerotier-one rtt (64 B request/response from the real node, warm): p50 ${rtt.toFixed(0)} µs`);
  // free the machine before the reference pair runs
  await lab.close();
  closed = true;
  const real = await measureRealTapPair(tb, BYTES);
  if (real !== null) {
    const ours = median([...tput["container → real node"]!, ...tput["real node → container"]!]);
    console.log(`zerotier-one 1.14.1 tap↔tap, same program: ${real.mbps.toFixed(1)} MB/s, rtt p50 ${real.rttUs.toFixed(0)} µs (median of ${RUNS} runs)`);
    console.log(`ratio (container ↔ real node)/(real ↔ real): ${(ours / real.mbps).toFixed(2)} (throughput), rtt ${(rtt / real.rttUs).toFixed(2)}`);
  }
} finally {
  if (!closed) await lab.close();
  rmSync(tmp, { recursive: true, force: true });
}
