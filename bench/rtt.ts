#!/usr/bin/env bun
/**
 * Round-trip time side by side, interleaved: the RTT row measured so that the machine's
 * state (which moves RTT by 2× from one minute to the next here) is the same for both sides.
 *
 * Three subjects are up at once: two of our `--tap` services, two real zerotier-one 1.14.1 nodes
 * (ZT_ONE or on PATH; root and ip netns needed), and two network containers on loopback. After a
 * warm-up, RTT_ROUNDS rounds each measure, one subject after the other (the order alternates):
 *   - ping over the taps at 5 per second (`-i 0.2`, as `bench -- vl2-tap`'s warm ping; 20 pings)
 *     and at 100 per second (`-i 0.01`; 100 pings), each run's figure the median of its pings;
 *   - 64-byte TCP request/response (bench/support/tcp-bench.c `rr`) between the two ends: kernel
 *     TCP over the taps, or the program under the intercept library between the containers;
 *   - each node's CPU per transaction, user and kernel apart (from /proc/<pid>/stat).
 * A ratio is the median of the rounds' ratios (each from measurements a few seconds apart).
 *
 * Then the busy-host case, made repeatable: the same pings over both tap pairs with a
 * cache-pressure walker per core at nice 19 (support/cache-pressure.ts; RTT_PRESSURE=0 skips it),
 * and each tap node's page footprint: the distinct pages it touches per 200 ms with one ping in it,
 * against 200 ms without (support/page-footprint.ts). The footprint does not depend on the hour;
 * it says how much a busy host can slow each node's packet path.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureInterceptLibrary } from "../intercept/build.ts";
import { LoopbackDeployment } from "../src/tools/loopback-deployment.ts";
import { netnsPossible } from "../test/e2e/netns-lab.ts";
import { buildTcpBench, client, cpuSplit, median, server, untilAccepted } from "./netcon.ts";
import { nodePid, type TapPair, withTapPair, ZT_ONE } from "./support/tap-pair.ts";
import { buildCachePressure, withCachePressure } from "./support/cache-pressure.ts";
import { type Footprint, pagesPerWindow } from "./support/page-footprint.ts";

const ROUNDS = Number(process.env.RTT_ROUNDS ?? 5);
const RR_COUNT = 4000;
/** Pings per round at 5/s (each round's figure is their median). */
const SLOW_PINGS = 20;
/** Transactions before the first round: our JIT needs ≈16,000 to reach its steady CPU cost. */
const WARM_UP = 20_000;
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) {
  console.error("rtt: RTT_ROUNDS must be a positive integer");
  process.exit(2);
}
const PRESSURE = process.env.RTT_PRESSURE ?? "1";
if (PRESSURE !== "0" && PRESSURE !== "1") {
  console.error("rtt: RTT_PRESSURE must be 0 or 1");
  process.exit(2);
}
/** 200 ms windows (one ping each at 5/s) for the page footprint. */
const FOOTPRINT_WINDOWS = 20;
if (ZT_ONE === null || !netnsPossible()) {
  console.log("rtt: needs root, ip netns and a real zerotier-one (ZT_ONE or on PATH); not measured");
  process.exit(0);
}

interface RrResult {
  p50: number;
  /** Per node: µs of user and of kernel CPU per transaction. */
  cpu: [number, number][];
}

interface Subject {
  name: string;
  pids: number[];
  /** One request/response run of `count` transactions: "rr <count> <p50> <p90>". */
  rr(count: number): Promise<string>;
  /** The median of the pings' RTTs in ms at this interval, or null when the subject has no taps. */
  ping(interval: string, count: number): Promise<number | null>;
  /** Resolves once the path answers (ARP, the peers' direct path). */
  ready(): Promise<void>;
}

/** The median of the rounds' ratios (each round's two figures measured seconds apart). */
function ratio(xs: number[], ys: number[]): string {
  return median(xs.map((x, i) => x / ys[i]!)).toFixed(2);
}

/** Ping medians of both sides and their ratio, as the bench prints them. */
function pingFigures(ours: number[], real: number[]): string {
  return `ours ${median(ours).toFixed(3)} ms, real ${median(real).toFixed(3)} ms, ratio ${ratio(ours, real)}`;
}

/** Pings over both tap pairs, interleaved: ROUNDS rounds of SLOW_PINGS at 5/s and 100 at 100/s each. */
async function pingRounds(subjects: Subject[]): Promise<Map<string, { slow: number[]; fast: number[] }>> {
  const rows = new Map(subjects.map((s) => [s.name, { slow: [] as number[], fast: [] as number[] }]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of round % 2 === 0 ? subjects : [...subjects].reverse()) {
      const slow = await s.ping("0.2", SLOW_PINGS);
      const fast = await s.ping("0.01", 100);
      if (slow === null || fast === null) throw new Error(`${s.name}: no taps to ping over`);
      rows.get(s.name)!.slow.push(slow);
      rows.get(s.name)!.fast.push(fast);
    }
  }
  return rows;
}

/** Pages each node touches per 200 ms: without traffic, then with a ping every 200 ms. */
async function footprint(s: Subject): Promise<{ idle: Footprint[]; ping: Footprint[] }> {
  const idle = await pagesPerWindow(s.pids, FOOTPRINT_WINDOWS, 200);
  // the ping's period is the window's, so each window holds one request and its reply
  const [, ping] = await Promise.all([s.ping("0.2", FOOTPRINT_WINDOWS + 1), pagesPerWindow(s.pids, FOOTPRINT_WINDOWS, 200)]);
  return { idle, ping };
}

async function measureRr(s: Subject): Promise<RrResult> {
  const c0 = s.pids.map(cpuSplit);
  const out = (await s.rr(RR_COUNT)).trim().split(" ");
  const c1 = s.pids.map(cpuSplit);
  const p50 = Number(out[2]);
  if (out[0] !== "rr" || Number(out[1]) !== RR_COUNT || !(p50 > 0)) throw new Error(`${s.name}: unexpected rr output ${out.join(" ")}`);
  const per = (a: number, b: number): number => ((b - a) / RR_COUNT) * 1e6;
  return { p50, cpu: c0.map((c, i) => [per(c[0], c1[i]![0]), per(c[1], c1[i]![1])]) };
}

function tapSubject(name: string, p: TapPair, tb: string, echoPort: number): Subject {
  const [a, b] = [p.leaves[0]!.ns, p.leaves[1]!.ns];
  p.lab.spawn(b, [tb, "echo", String(echoPort)]);
  return {
    name,
    pids: p.leaves.map((l) => nodePid(l.home)),
    rr: async (count) => (await p.lab.exec(a, untilAccepted(`${tb} rr ${p.ipB} ${echoPort} ${count}`), { timeoutMs: 120_000 })).out,
    ping: async (interval, count) => {
      const r = await p.lab.exec(a, ["ping", "-c", String(count), "-i", interval, "-W", "3", p.ipB], { allowFail: true, timeoutMs: 60_000 });
      // the median, not ping's average: one late answer (the host's scheduling) moves a mean of
      // 20 pings by 10%, and it landed on either side
      const times = [...r.out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
      if (times.length < count / 2) throw new Error(`${name}: ping answered ${times.length} of ${count}: ${r.out.trim().slice(-300)} ${r.err.trim()}`);
      return median(times);
    },
    ready: async () => {
      for (let i = 0; i < 20; i++) {
        if ((await p.lab.exec(a, ["ping", "-c", "1", "-W", "1", p.ipB], { allowFail: true })).code === 0) return;
      }
      throw new Error(`${name}: ${p.ipB} does not answer ping`);
    },
  };
}

const tmp = mkdtempSync(join(tmpdir(), "ztnc-bench-rtt-"));
try {
  const lib = await ensureInterceptLibrary({});
  const tb = await buildTcpBench(tmp);
  await withTapPair("ours", (ours) =>
    withTapPair("real", async (real) => {
      const d = await LoopbackDeployment.start({ dir: join(tmp, "netcon"), members: ["a", "b"], basePort: 46993, physicalMtu: 1432 });
      try {
        await d.createNetwork("10.147.41");
        const ips = await d.joinAll();
        const env = { a: d.containerEnv("a", lib), b: d.containerEnv("b", lib) };
        const echo = await server([tb, "echo", "7017"], env.b);
        const containers: Subject = {
          name: "containers",
          pids: d.members.map((m) => m.proc.pid),
          rr: (count) => client([tb, "rr", ips.get("b")!, "7017", String(count)], env.a),
          ping: async () => null,
          ready: async () => {}, // the echo server said "ready"; TCP retransmits cover the first path set-up
        };
        const subjects = [tapSubject("our taps", ours, tb, 7007), tapSubject("real taps", real, tb, 7007), containers];
        for (const s of subjects) {
          await s.ready();
          await s.rr(WARM_UP);
        }
        const rows = new Map<string, { pingSlow: number[]; pingFast: number[]; rr: RrResult[] }>();
        for (const s of subjects) rows.set(s.name, { pingSlow: [], pingFast: [], rr: [] });
        for (let round = 0; round < ROUNDS; round++) {
          const order = round % 2 === 0 ? subjects : [...subjects].reverse();
          for (const s of order) {
            const row = rows.get(s.name)!;
            const slow = await s.ping("0.2", SLOW_PINGS);
            const fast = await s.ping("0.01", 100);
            if (slow !== null && fast !== null) {
              row.pingSlow.push(slow);
              row.pingFast.push(fast);
            }
            row.rr.push(await measureRr(s));
          }
          const line = subjects.map((s) => {
            const row = rows.get(s.name)!;
            const rr = row.rr[round]!;
            const cpu = rr.cpu.map(([u, k]) => `${u.toFixed(0)}/${k.toFixed(0)}`).join(", ");
            const ping = row.pingSlow.length > round ? `ping ${row.pingSlow[round]!.toFixed(3)} / ${row.pingFast[round]!.toFixed(3)} ms, ` : "";
            return `${s.name}: ${ping}rr p50 ${rr.p50.toFixed(1)} µs, CPU user/kernel µs per transaction ${cpu}`;
          });
          console.log(`rtt round ${round + 1}: ${line.join("; ")}`);
        }
        echo.proc.kill();
        const taps = subjects.slice(0, 2);
        for (const s of taps) {
          const f = await footprint(s);
          const text = f.ping.map((p, n) => {
            const i = f.idle[n]!;
            return `${(p.code + p.data).toFixed(0)} (code ${p.code.toFixed(0)}, data ${p.data.toFixed(0)}) against ${(i.code + i.data).toFixed(0)} without`;
          });
          console.log(`rtt page footprint, ${s.name}: pages touched per 200 ms with one ping, per node: ${text.join("; ")}`);
        }
        if (PRESSURE === "1") {
          const walker = await buildCachePressure(tmp);
          const p = await withCachePressure(walker, () => pingRounds(taps));
          const po = p.get("our taps")!;
          const pr = p.get("real taps")!;
          console.log(`rtt under cache pressure, ping over the taps, 5/s: ${pingFigures(po.slow, pr.slow)}`);
          console.log(`rtt under cache pressure, ping over the taps, 100/s: ${pingFigures(po.fast, pr.fast)}`);
        }
        const o = rows.get("our taps")!;
        const r = rows.get("real taps")!;
        const c = rows.get("containers")!;
        const p50s = (rs: RrResult[]): number[] => rs.map((x) => x.p50);
        const cpuMedian = (rs: RrResult[]): string =>
          rs[0]!.cpu.map((_, n) => `${median(rs.map((x) => x.cpu[n]![0])).toFixed(0)}/${median(rs.map((x) => x.cpu[n]![1])).toFixed(0)}`).join(", ");
        console.log(`rtt ping over the taps, 5/s: ${pingFigures(o.pingSlow, r.pingSlow)}`);
        console.log(`rtt ping over the taps, 100/s: ${pingFigures(o.pingFast, r.pingFast)}`);
        console.log(`rtt TCP request/response over the taps, p50: ours ${median(p50s(o.rr)).toFixed(1)} µs, real ${median(p50s(r.rr)).toFixed(1)} µs, ratio ${ratio(p50s(o.rr), p50s(r.rr))}`);
        console.log(`rtt request/response container ↔ container, p50: ${median(p50s(c.rr)).toFixed(1)} µs, ratio to the real taps ${ratio(p50s(c.rr), p50s(r.rr))}`);
        console.log(`rtt CPU per transaction, user/kernel µs per node (medians): our taps ${cpuMedian(o.rr)}; real taps ${cpuMedian(r.rr)}; containers' services ${cpuMedian(c.rr)}`);
      } finally {
        await d.stop();
      }
    }),
  );
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
