#!/usr/bin/env bun
/**
 * Where the datapath's time goes: two network containers (netcon services a and b) and a root on
 * loopback, as `bench -- netcon`, moving DATAPATH_BYTES from a program in a to one in b.
 *
 *   1. end to end, services as shipped: MB/s and CPU seconds per GB of each service;
 *   2. the same with ZT_NC_STAGE_TIMING=1: a cost table per service (sender a, receiver b): each
 *      instrumented stage's calls, ns per call, and its share of the service's CPU time. "outside
 *      the stages" is the service's CPU time not inside any top-level stage: the runtime's own work
 *      (event loop, socket callbacks into JS, syscalls, garbage collection);
 *   3. with a real zerotier-one (ZT_ONE or on PATH, root): the same program over two real nodes'
 *      taps, and the ratio;
 *   4. (root, iperf3) two `--tap` services: iperf3 over their taps with stage timing, a cost table
 *      per frame for the sending and the receiving service (tap_read, tap_write: the tap hand-off).
 * Stages nest: udp_receive includes dearmor, vl2_frame, stack_input (and the ACKs or segments it
 * sends); program_read includes the segments it sends; each frame the stack sends is frame_out,
 * which includes vl1_send, which includes armor.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureInterceptLibrary } from "../intercept/build.ts";
import { LoopbackDeployment } from "../src/tools/loopback-deployment.ts";
import { STAGES } from "../src/util/stage-timing.ts";
import { readFileSync } from "node:fs";
import { buildTcpBench, client, cpuSeconds, measureRealTapPair, median, server } from "./netcon.ts";
import { netnsPossible, sh } from "../test/e2e/netns-lab.ts";
import { withTapPair } from "./support/tap-pair.ts";

/** System (kernel) CPU seconds of a process so far. */
function systemSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(f.slice(f.lastIndexOf(")") + 2).split(" ")[12]) / 100;
}

const BYTES = Number(process.env.DATAPATH_BYTES ?? 256 * 1024 * 1024);
const RUNS = Number(process.env.DATAPATH_RUNS ?? 3);
if (!Number.isInteger(BYTES) || BYTES <= 0 || !Number.isInteger(RUNS) || RUNS <= 0) {
  console.error("datapath: DATAPATH_BYTES and DATAPATH_RUNS must be positive integers");
  process.exit(2);
}
/** Stages not nested in another one: their sum against the process's CPU time. */
const TOP_LEVEL = new Set(["udp_receive", "program_read", "program_write", "udp_send", "node_timer", "stack_timer"]);

type Totals = Map<string, { ns: number; calls: number }>;

function parseStages(text: string): Totals {
  const t: Totals = new Map();
  for (const s of STAGES) t.set(s, { ns: 0, calls: 0 });
  for (const m of text.matchAll(/^zt_datapath_stage_(nanoseconds|calls)\{stage="(\w+)"\} ([\d.e+]+)$/gm)) {
    const e = t.get(m[2]!);
    if (e === undefined) continue;
    if (m[1] === "nanoseconds") e.ns = Number(m[3]);
    else e.calls = Number(m[3]);
  }
  return t;
}

const RR_COUNT = 2000;

interface RrRun {
  /** p50 µs of the 64-byte request/response. */
  p50: number;
  stages: [Totals, Totals] | null;
}

interface Run {
  mbps: number;
  /** CPU seconds per GB of payload: sender's, receiver's. */
  cpu: [number, number];
  stages: [Totals, Totals] | null;
}

/** What each stage did between two snapshots. */
function diffTotals(before: Totals, after: Totals): Totals {
  return new Map([...after].map(([k, v]) => [k, { ns: v.ns - before.get(k)!.ns, calls: v.calls - before.get(k)!.calls }]));
}

type Service = LoopbackDeployment["members"][number];

/**
 * Run `body` and measure the two services meanwhile: CPU seconds of each, and with stage timing
 * on, each one's stage totals over the window with its CPU (_cpu) and kernel (_sys) nanoseconds.
 */
async function measured<T>(services: [Service, Service], timing: boolean, body: () => Promise<T>): Promise<{ result: T; cpu: [number, number]; stages: [Totals, Totals] | null }> {
  const pids = services.map((s) => s.proc.pid);
  const snap = async (): Promise<Totals[] | null> => (timing ? await Promise.all(services.map(async (s) => parseStages(String((await s.api("GET", "/metrics")).json)))) : null);
  const m0 = await snap();
  const c0 = pids.map(cpuSeconds);
  const k0 = pids.map(systemSeconds);
  const result = await body();
  const c1 = pids.map(cpuSeconds);
  const k1 = pids.map(systemSeconds);
  const m1 = await snap();
  const cpu: [number, number] = [c1[0]! - c0[0]!, c1[1]! - c0[1]!];
  let stages: [Totals, Totals] | null = null;
  if (m0 !== null && m1 !== null) {
    stages = [diffTotals(m0[0]!, m1[0]!), diffTotals(m0[1]!, m1[1]!)];
    for (const i of [0, 1] as const) {
      stages[i].set("_cpu", { ns: cpu[i] * 1e9, calls: 0 });
      stages[i].set("_sys", { ns: (k1[i]! - k0[i]!) * 1e9, calls: 0 });
    }
  }
  return { result, cpu, stages };
}

async function transfers(timing: boolean, dir: string, lib: string, tb: string): Promise<{ runs: Run[]; rr: RrRun }> {
  if (timing) process.env.ZT_NC_STAGE_TIMING = "1";
  else delete process.env.ZT_NC_STAGE_TIMING;
  const d = await LoopbackDeployment.start({ dir: join(dir, timing ? "timed" : "plain"), members: ["a", "b"], basePort: timing ? 41993 : 40993, physicalMtu: 1432 });
  try {
    await d.createNetwork("10.147.21");
    const ips = await d.joinAll();
    const services = d.members as [Service, Service];
    const env = { a: d.containerEnv("a", lib), b: d.containerEnv("b", lib) };
    const runs: Run[] = [];
    for (let r = 0; r < RUNS; r++) {
      const port = 5301 + r;
      const sink = await server([tb, "sink", String(port)], env.b);
      const m = await measured(services, timing, () => client([tb, "source", ips.get("b")!, String(port), String(BYTES)], env.a));
      const sinkOut = (await sink.rest()).trim();
      await sink.proc.exited;
      if (!sinkOut.startsWith(`sink ${BYTES} `)) throw new Error(`sink got ${sinkOut}, expected ${BYTES} bytes`);
      const [, bytes, secs] = m.result.split(" ");
      const gb = BYTES / 1e9;
      runs.push({ mbps: Number(bytes) / Number(secs) / 1e6, cpu: [m.cpu[0] / gb, m.cpu[1] / gb], stages: m.stages });
    }
    // and back: 64-byte request/response, warm (a's program asks, b's echoes)
    const echo = await server([tb, "echo", "7107"], env.b);
    await client([tb, "rr", ips.get("b")!, "7107", "200"], env.a);
    const m = await measured(services, timing, () => client([tb, "rr", ips.get("b")!, "7107", String(RR_COUNT)], env.a));
    echo.proc.kill();
    return { runs, rr: { p50: Number(m.result.split(" ")[2]), stages: m.stages } };
  } finally {
    await d.stop();
  }
}

function table(label: string, t: Totals, frames: number, unit = "data segment"): void {
  const cpuNs = t.get("_cpu")!.ns;
  const sysNs = t.get("_sys")!.ns;
  console.log(`\n${label}: ${(cpuNs / 1e9).toFixed(2)} CPU s measured (${((100 * sysNs) / cpuNs).toFixed(0)}% of it in the kernel: syscalls), ${frames.toLocaleString("en")} ${unit}s`);
  console.log(`| stage | calls | ns/call | ns per ${unit} | share of CPU |`);
  console.log("|---|---:|---:|---:|---:|");
  let top = 0;
  for (const s of STAGES) {
    const e = t.get(s)!;
    if (e.calls === 0) continue;
    if (TOP_LEVEL.has(s)) top += e.ns;
    const name = TOP_LEVEL.has(s) ? s : `  ↳ ${s}`;
    console.log(`| ${name} | ${e.calls.toLocaleString("en")} | ${(e.ns / e.calls).toFixed(0)} | ${(e.ns / frames).toFixed(0)} | ${((100 * e.ns) / cpuNs).toFixed(1)}% |`);
  }
  const rest = cpuNs - top;
  console.log(`| outside the stages (runtime: event loop, callbacks, syscalls, GC) | | | ${(rest / frames).toFixed(0)} | ${((100 * rest) / cpuNs).toFixed(1)}% |`);
}

/** Two --tap services with stage timing: iperf3 for 5 s, then each side's cost per frame. */
async function tapStages(): Promise<void> {
  if (!netnsPossible() || (await sh(["which", "iperf3"], { allowFail: true })).code !== 0) {
    console.log("\ntap path: needs root and iperf3; not measured");
    return;
  }
  process.env.ZT_NC_STAGE_TIMING = "1";
  await withTapPair("ours", async ({ lab, leaves, ipB }) => {
    for (let i = 0; i < 20; i++) if ((await lab.exec(leaves[0]!.ns, ["ping", "-c", "1", "-W", "1", ipB], { allowFail: true })).code === 0) break;
    const iperf = lab.spawn(leaves[1]!.ns, ["iperf3", "-s", "-1"]);
    // the server is up when a connect stops being refused: the client retries until then
    const snap = async (): Promise<Totals[]> => Promise.all(leaves.map(async (l) => parseStages(String((await lab.api(l.ns, l.home, "GET", "/metrics")).json))));
    const m0 = await snap();
    const c = await lab.exec(leaves[0]!.ns, ["sh", "-c", `for i in $(seq 50); do iperf3 -c ${ipB} -t 5 -J && exit 0; sleep 0.1; done; exit 1`], { allowFail: true, timeoutMs: 120_000 });
    const m1 = await snap();
    await iperf.exited;
    const bps = (JSON.parse(c.out.slice(c.out.indexOf("{"))) as { end?: { sum_received?: { bits_per_second?: number } } }).end?.sum_received?.bits_per_second ?? 0;
    const frames = m1[1]!.get("tap_write")!.calls - m0[1]!.get("tap_write")!.calls;
    console.log(`\ntap path (two --tap services, iperf3 5 s, stage timing on): ${(bps / 8e6).toFixed(1)} MB/s, ${frames.toLocaleString("en")} network frames to the receiving tap (the receive offload writes them as fewer, larger frames)`);
    for (const [i, label] of [[0, "sending service (tap → UDP)"], [1, "receiving service (UDP → tap)"]] as const) {
      console.log(`\n${label}, per network frame (main thread; the tap reader thread is not in these)`);
      console.log("| stage | calls | ns/call | ns per frame |");
      console.log("|---|---:|---:|---:|");
      const d = diffTotals(m0[i]!, m1[i]!);
      for (const st of STAGES) {
        const { ns, calls: n } = d.get(st)!;
        if (n <= 0) continue;
        console.log(`| ${st} | ${n.toLocaleString("en")} | ${(ns / n).toFixed(0)} | ${(ns / frames).toFixed(0)} |`);
      }
    }
  });
  delete process.env.ZT_NC_STAGE_TIMING;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "ztnc-bench-datapath-"));
  try {
    const lib = await ensureInterceptLibrary({});
    const tb = await buildTcpBench(dir);
    const { runs: plain, rr: rrPlain } = await transfers(false, dir, lib, tb);
    const { runs: timed, rr: rrTimed } = await transfers(true, dir, lib, tb);
    const mb = median(plain.map((r) => r.mbps));
    console.log(`datapath a→b (netcon ↔ netcon, ${BYTES / 1048576} MiB × ${RUNS}, physical MTU 1432): ${mb.toFixed(1)} MB/s (runs: ${plain.map((r) => r.mbps.toFixed(0)).join(", ")}); CPU s/GB sender ${median(plain.map((r) => r.cpu[0])).toFixed(2)}, receiver ${median(plain.map((r) => r.cpu[1])).toFixed(2)}`);
    console.log(`with stage timing on: ${median(timed.map((r) => r.mbps)).toFixed(1)} MB/s; CPU s/GB sender ${median(timed.map((r) => r.cpu[0])).toFixed(2)}, receiver ${median(timed.map((r) => r.cpu[1])).toFixed(2)}`);
    // the run with the median throughput gives the tables
    const pick = [...timed].sort((x, y) => x.mbps - y.mbps)[Math.floor(timed.length / 2)]!;
    const [sender, receiver] = pick.stages!;
    const segments = receiver.get("stack_input")!.calls;
    table("sender (a): program → TCP → VL2 → VL1 → UDP, ACKs in", sender, segments);
    table("receiver (b): UDP → VL1 → VL2 → TCP → program, ACKs out", receiver, segments);
    console.log(`\nand back: 64 B request/response p50 ${rrPlain.p50.toFixed(0)} µs (with stage timing on: ${rrTimed.p50.toFixed(0)} µs)`);
    const [rrA, rrB] = rrTimed.stages!;
    table("requester (a), per transaction", rrA, RR_COUNT, "transaction");
    table("echoer (b), per transaction", rrB, RR_COUNT, "transaction");
    await tapStages();
    const real = await measureRealTapPair(tb, BYTES);
    if (real === null) console.log("\nno real zerotier-one (set ZT_ONE) or not root: ratio not measured");
    else console.log(`\nzerotier-one 1.14.1 tap↔tap, same program: ${real.mbps.toFixed(1)} MB/s; ratio ours/real ${(mb / real.mbps).toFixed(2)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) await main();
