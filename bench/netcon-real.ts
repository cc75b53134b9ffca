#!/usr/bin/env bun
/**
 * A network container next to a real zerotier-one 1.14.1 node (root, ZT_ONE or zerotier-one on
 * PATH): our root + controller in the hub namespace, the real node with its kernel tap in one leaf,
 * our netcon service (no tap) in the other; the bench's own program (bench/support/tcp-bench.c)
 * runs under the library in the container and on the real node's tap address. The reference, two
 * real nodes' taps with the same program, is up at the same time, and each round measures the
 * three transfers (container → real node, real node → container, real → real) one after the
 * other, the order turning each round: this machine's throughput moves by 20-30% from one minute
 * to the next, so a ratio is taken within a round, seconds apart, and the medians of those are
 * printed (as bench/rtt.ts does for latency). Then the 64 B request/response RTT, interleaved the
 * same way, and the CPU seconds per GB of each sending and receiving node. The issue's "network
 * container ↔ real zerotier-one node" row.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureInterceptLibrary } from "../intercept/build.ts";
import { NetnsLab, netnsPossible } from "../test/e2e/netns-lab.ts";
import { containerBesideRealNode } from "../test/interop/support.ts";
import { buildTcpBench, cpuSeconds, median, untilAccepted } from "./netcon.ts";
import { nodePid, withTapPair, ZT_ONE } from "./support/tap-pair.ts";

const RUNS = Number(process.env.NETCON_RUNS ?? 5);
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
const zt: string = ZT_ONE;

type Direction = "container → real node" | "real node → container" | "real ↔ real";
const DIRECTIONS: readonly Direction[] = ["container → real node", "real node → container", "real ↔ real"];

const fmt = (xs: number[], digits = 0): string => xs.map((x) => x.toFixed(digits)).join(", ");

const tmp = mkdtempSync(join(tmpdir(), "ztnc-bench-netcon-real-"));
try {
  const lib = await ensureInterceptLibrary({});
  const tb = await buildTcpBench(tmp);
  await withTapPair("real", async (real) => {
    const [refA, refB] = [real.leaves[0]!.ns, real.leaves[1]!.ns];
    for (let i = 0; i < 20; i++) if ((await real.lab.exec(refA, ["ping", "-c", "1", "-W", "1", real.ipB], { allowFail: true })).code === 0) break;
    const lab = await NetnsLab.create(2, "zr");
    try {
      const { R, N, realIp, ncIp, env } = await containerBesideRealNode(lab, tmp, zt, "bench-netcon-real", SUBNET, lib);

      // CPU seconds per GB of the node that sends and of the node that receives, each transfer
      const nPid = nodePid(N.home);
      const [aPid, bPid] = real.leaves.map((l) => nodePid(l.home));
      const cpu: Record<"ours sending" | "ours receiving" | "real sending" | "real receiving", number[]> = {
        "ours sending": [],
        "ours receiving": [],
        "real sending": [],
        "real receiving": [],
      };
      let port = 6301;
      /** One transfer of BYTES, MB/s. */
      const transfer = async (d: Direction): Promise<number> => {
        const p = port++;
        const [l, fromNs, fromWrap, toNs, toWrap, toIp] =
          d === "container → real node" ? [lab, N.ns, env, R.ns, [], realIp]
          : d === "real node → container" ? [lab, R.ns, [], N.ns, env, ncIp]
          : [real.lab, refA, [], refB, [], real.ipB];
        const watched = d === "real ↔ real" ? [aPid!, bPid!] : [nPid];
        const sink = l.spawn(toNs, [...toWrap, tb, "sink", String(p)]);
        const c0 = watched.map(cpuSeconds);
        const out = await l.exec(fromNs, [...fromWrap, ...untilAccepted(`${tb} source ${toIp} ${p} ${BYTES}`)], { timeoutMs: 300_000 });
        const c1 = watched.map(cpuSeconds);
        await sink.exited;
        const perGb = (i: number): number => (c1[i]! - c0[i]!) / (BYTES / 1e9);
        if (d === "real ↔ real") {
          cpu["real sending"].push(perGb(0));
          cpu["real receiving"].push(perGb(1));
        } else cpu[d === "container → real node" ? "ours sending" : "ours receiving"].push(perGb(0));
        const [, n, secs] = out.out.trim().split(" ");
        const mbps = Number(n) / Number(secs) / 1e6;
        if (!(mbps > 0)) throw new Error(`netcon-real: ${d}: no figure from "${out.out.trim()}"`);
        return mbps;
      };
      const tput: Record<Direction, number[]> = { "container → real node": [], "real node → container": [], "real ↔ real": [] };
      for (let r = 0; r < RUNS; r++) {
        // the order turns each round, so that no direction always runs first after a pause
        for (let k = 0; k < DIRECTIONS.length; k++) {
          const d = DIRECTIONS[(k + r) % DIRECTIONS.length]!;
          tput[d].push(await transfer(d));
        }
      }

      const echoOurs = lab.spawn(N.ns, [...env, tb, "echo", "7107"]);
      const echoRef = real.lab.spawn(refB, [tb, "echo", "7007"]);
      const rr = async (l: NetnsLab, ns: string, ip: string, p: number): Promise<number> => {
        const out = await l.exec(ns, untilAccepted(`${tb} rr ${ip} ${p} ${RR_COUNT}`), { timeoutMs: 120_000 });
        const us = Number(out.out.trim().split(" ")[2]);
        if (!(us > 0)) throw new Error(`netcon-real: rr: no figure from "${out.out.trim()}"`);
        return us;
      };
      const rtt: { ours: number[]; ref: number[] } = { ours: [], ref: [] };
      for (let r = 0; r < RUNS; r++) {
        const ours = (): Promise<number> => rr(lab, R.ns, ncIp, 7107);
        const ref = (): Promise<number> => rr(real.lab, refA, real.ipB, 7007);
        if (r % 2 === 0) {
          rtt.ours.push(await ours());
          rtt.ref.push(await ref());
        } else {
          rtt.ref.push(await ref());
          rtt.ours.push(await ours());
        }
      }
      echoOurs.kill();
      echoRef.kill();

      const ref = tput["real ↔ real"];
      const ratios = (d: Direction): number[] => tput[d].map((x, i) => x / ref[i]!);
      const c2r = ratios("container → real node");
      const r2c = ratios("real node → container");
      for (const d of DIRECTIONS.slice(0, 2)) console.log(`netcon ↔ real zerotier-one, ${d}: ${median(tput[d]).toFixed(1)} MB/s (runs: ${fmt(tput[d])})`);
      console.log(`netcon ↔ real zerotier-one rtt (64 B request/response from the real node, warm): p50 ${median(rtt.ours).toFixed(0)} µs (runs: ${fmt(rtt.ours)})`);
      console.log(`zerotier-one 1.14.1 tap↔tap, same program, in the same rounds: ${median(ref).toFixed(1)} MB/s (runs: ${fmt(ref)}), rtt p50 ${median(rtt.ref).toFixed(0)} µs (runs: ${fmt(rtt.ref)})`);
      const c = (k: keyof typeof cpu): string => median(cpu[k]).toFixed(2);
      console.log(`CPU s/GB, medians: our service sending ${c("ours sending")}, receiving ${c("ours receiving")}; real node sending ${c("real sending")}, receiving ${c("real receiving")}`);
      console.log(`ratio per round, container → real node: ${fmt(c2r, 2)}; real node → container: ${fmt(r2c, 2)}`);
      console.log(
        `ratio (container ↔ real node)/(real ↔ real): ${median([...c2r, ...r2c]).toFixed(2)} (throughput; container → real node ${median(c2r).toFixed(2)}, real node → container ${median(r2c).toFixed(2)}), rtt ${median(rtt.ours.map((x, i) => x / rtt.ref[i]!)).toFixed(2)}`,
      );
    } finally {
      await lab.close();
    }
  });
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
