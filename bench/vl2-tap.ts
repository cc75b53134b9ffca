#!/usr/bin/env bun
/**
 * Two nodes in --tap mode, each in its own network namespace, on a public network of our
 * controller (our service is root and controller in a third namespace): ping RTT (cold: right
 * after the join; warm: after the transfer, when our JIT has compiled the datapath) and iperf3 TCP
 * over the taps (MB/s of payload, frames/s through the receiving tap), a→b and then b→a (`-R`). Then the same with two real
 * zerotier-one 1.14.1 nodes as the leaves, if a build is present (ZT_ONE, or zerotier-one on PATH;
 * never part of the project), for the ratio. Needs root and iperf3;
 * prints "skipped" otherwise.
 */
import { type NetnsLab, netnsPossible, sh } from "../test/e2e/netns-lab.ts";
import { readFileSync } from "node:fs";
import { cpuSeconds } from "./netcon.ts";
import { nodePid, withTapPair, ZT_ONE } from "./support/tap-pair.ts";

const SECONDS = Number(process.env.VL2_TAP_SECONDS ?? 8);

interface Result {
  mbps: number;
  /** The other direction (iperf3 -R: the node that received now sends). */
  mbpsReverse: number;
  framesPerSec: number;
  /** Frames the sending node read from its tap (a TSO train counts once). */
  sentFramesPerSec: number;
  /** Average ping RTT right after the join: our datapath still runs in the JIT's first tiers. */
  pingMs: number;
  /** Average ping RTT after the transfer ("warm", as the RTT target is stated). */
  warmPingMs: number;
  /** CPU seconds per GB of payload of the sending and the receiving node. */
  cpuPerGb: [number, number];
  /** Share of the machine's CPU time (all cores) that was busy during the transfer. */
  machineBusy: number;
}

/** [busy, total] jiffies of the whole machine, from /proc/stat. */
function machineJiffies(): [number, number] {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return [total - f[3]! - f[4]!, total];
}

async function run(kind: "ours" | "real"): Promise<Result> {
  return withTapPair(kind, async ({ lab, leaves, info, ipB }) => {
    // warm up (ARP, paths), then RTT
    for (let i = 0; i < 20; i++) {
      if ((await lab.exec(leaves[0]!.ns, ["ping", "-c", "1", "-W", "1", ipB], { allowFail: true })).code === 0) break;
    }
    const pingAverage = async (): Promise<number> => {
      const ping = await lab.exec(leaves[0]!.ns, ["ping", "-c", "10", "-i", "0.2", "-W", "3", ipB], { allowFail: true });
      const rtt = /= [\d.]+\/([\d.]+)\//.exec(ping.out);
      return rtt ? Number(rtt[1]) : -1;
    };
    const pingMs = await pingAverage();
    /** A one-shot iperf3 server in b, once its socket listens (at most 5 s): waits for the fact. */
    const iperf3Server = async () => {
      const server = lab.spawn(leaves[1]!.ns, ["iperf3", "-s", "-1"]);
      const listening = "for i in $(seq 100); do ss -Hltn 'sport = :5201' | grep -q . && exit 0; sleep 0.05; done; exit 1";
      await lab.exec(leaves[1]!.ns, ["sh", "-c", listening]);
      return server;
    };
    /** iperf3 from a to b (b to a with -R): its JSON. */
    const iperf3 = async (reverse: boolean): Promise<string> => {
      const args = ["iperf3", "-c", ipB, ...(reverse ? ["-R"] : []), "-t", String(SECONDS), "-J"];
      return (await lab.exec(leaves[0]!.ns, args, { allowFail: true, timeoutMs: (SECONDS + 30) * 1000 })).out;
    };
    const server = await iperf3Server();
    const dev = info[1]!.portDeviceName;
    const rxBefore = await rxPackets(lab, leaves[1]!.ns, dev);
    const txBefore = await rxPackets(lab, leaves[0]!.ns, info[0]!.portDeviceName, "tx");
    const pids = leaves.map((l) => nodePid(l.home));
    const c0 = pids.map(cpuSeconds);
    const m0 = machineJiffies();
    const t0 = performance.now();
    const forward = await iperf3(false);
    const elapsed = (performance.now() - t0) / 1000;
    const c1 = pids.map(cpuSeconds);
    const m1 = machineJiffies();
    const rxAfter = await rxPackets(lab, leaves[1]!.ns, dev);
    const txAfter = await rxPackets(lab, leaves[0]!.ns, info[0]!.portDeviceName, "tx");
    await server.exited;
    const reverseServer = await iperf3Server();
    const reverse = await iperf3(true);
    await reverseServer.exited;
    const warmPingMs = await pingAverage();
    const received = (out: string): number =>
      (JSON.parse(out) as { end?: { sum_received?: { bits_per_second?: number } } }).end?.sum_received?.bits_per_second ?? 0;
    const bps = received(forward);
    const gb = (bps / 8) * SECONDS / 1e9;
    return {
      mbps: bps / 8 / 1e6,
      mbpsReverse: received(reverse) / 8 / 1e6,
      framesPerSec: (rxAfter - rxBefore) / elapsed,
      sentFramesPerSec: (txAfter - txBefore) / elapsed,
      pingMs,
      warmPingMs,
      cpuPerGb: [(c1[0]! - c0[0]!) / gb, (c1[1]! - c0[1]!) / gb],
      machineBusy: (m1[0] - m0[0]) / (m1[1] - m0[1]),
    };
  });
}

/**
 * Frames the node wrote into the tap (the kernel counts them as received on the interface), or
 * with "tx" the frames it read from it.
 */
async function rxPackets(lab: NetnsLab, ns: string, dev: string, dir: "rx" | "tx" = "rx"): Promise<number> {
  const r = await lab.exec(ns, ["cat", `/sys/class/net/${dev}/statistics/${dir}_packets`], { allowFail: true });
  return Number(r.out.trim() || 0);
}

if (!netnsPossible() || (await sh(["which", "iperf3"], { allowFail: true })).code !== 0) {
  console.log("vl2-tap: skipped (needs root, network namespaces and iperf3)");
  process.exit(0);
}
const ours = await run("ours");
const cpu = (r: Result): string =>
  `CPU ${r.cpuPerGb[0].toFixed(2)} / ${r.cpuPerGb[1].toFixed(2)} s/GB (sender / receiver), machine ${(100 * r.machineBusy).toFixed(0)}% busy`;
console.log(`vl2-tap ours: iperf3 ${ours.mbps.toFixed(1)} MB/s (b→a ${ours.mbpsReverse.toFixed(1)}), ${Math.round(ours.sentFramesPerSec)} frames/s out of the sending tap, ${Math.round(ours.framesPerSec)} into the receiving tap, ping ${ours.pingMs} ms cold, ${ours.warmPingMs} ms warm; ${cpu(ours)}`);
if (ZT_ONE !== null) {
  const real = await run("real");
  console.log(`vl2-tap zerotier-one 1.14.1: iperf3 ${real.mbps.toFixed(1)} MB/s (b→a ${real.mbpsReverse.toFixed(1)}), ${Math.round(real.sentFramesPerSec)} / ${Math.round(real.framesPerSec)} frames/s, ping ${real.pingMs} ms cold, ${real.warmPingMs} ms warm; ${cpu(real)}`);
  const ratioText = (a: number, b: number): string => (a > 0 && b > 0 ? (a / b).toFixed(2) : "n/a");
  console.log(
    `vl2-tap ratio ours/real: ${(ours.mbps / real.mbps).toFixed(2)} (throughput), ping ${ratioText(ours.warmPingMs, real.warmPingMs)} warm, ${ratioText(ours.pingMs, real.pingMs)} cold`,
  );
  console.log(`vl2-tap ratio ours/real b→a: ${ratioText(ours.mbpsReverse, real.mbpsReverse)} (throughput)`);
} else {
  console.log("vl2-tap zerotier-one 1.14.1: not available");
}
