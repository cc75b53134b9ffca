#!/usr/bin/env bun
/**
 * Network containers, program to program: two netcon services (a and b) and a root + controller on
 * loopback, one ordinary C program (bench/support/tcp-bench.c) run under libzerotierintercept.so
 * in each container. Prints, as medians of NETCON_RUNS runs:
 *   throughput a→b and b→a (MB/s of payload) with each service's CPU seconds per GB,
 *   64-byte request/response RTT, connections per second through the intercept, and the services'
 *   memory per idle connection.
 * Then, when a real zerotier-one is available (ZT_ONE or on PATH) and we are root, the same
 * program over two real zerotier-one nodes' taps, and the ratio.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { ensureInterceptLibrary } from "../intercept/build.ts";
import { congestionByName } from "../src/stack/tcp/congestion/index.ts";
import { LoopbackDeployment } from "../src/tools/loopback-deployment.ts";
import { netnsPossible } from "../test/e2e/netns-lab.ts";
import { nodePid, withTapPair, ZT_ONE } from "./support/tap-pair.ts";
import { buildCProgram } from "./support/c-program.ts";

const RUNS = Number(process.env.NETCON_RUNS ?? 3);
const BYTES = Number(process.env.NETCON_BYTES ?? 256 * 1024 * 1024);
const RR_COUNT = 2000;
const CONNECTS = 2000;
/**
 * Connecting processes for the concurrent connection rate (as `ab -c` or `wrk -c` would open).
 * Each run makes 3 * CONNECTS. Over the real pair all runs together (the sequential one and
 * RUNS = 3 parallel ones: 20,000) must stay well below the 28,232 ephemeral ports a client may
 * hold in TIME_WAIT within 60 s: with 26,000 the kernel's connect slowed to ≈900/s here. Our
 * stack reuses a TIME_WAIT port when the peer's timestamps allow it, so ours also gets a
 * first, unmeasured parallel run.
 */
const CONNECT_PROCS = 4;
const IDLE = 1000;

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

export async function buildTcpBench(dir: string): Promise<string> {
  return buildCProgram("tcp-bench", dir);
}

/**
 * A shell command line that runs a tcp-bench client until its connect is accepted (the server is
 * up when a connect stops being refused), at most 100 tries.
 */
export function untilAccepted(command: string): string[] {
  return ["sh", "-c", `for i in $(seq 100); do ${command} 2>/dev/null && exit 0; sleep 0.05; done; exit 1`];
}

/** User and kernel CPU seconds a process (all its threads) has used so far. */
export function cpuSplit(pid: number): [number, number] {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return [Number(rest[11]) / 100, Number(rest[12]) / 100];
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const [user, kernel] = cpuSplit(pid);
  return user + kernel;
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? 0) * 1024;
}

interface Server {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  /** The rest of its standard output, once it exits. */
  rest(): Promise<string>;
}

/** Start a server and wait for its "ready" line. */
export async function server(argv: string[], env: Record<string, string>): Promise<Server> {
  const proc = Bun.spawn(argv, { env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const reader = proc.stdout.getReader();
  const dec = new TextDecoder();
  let text = "";
  while (!text.includes("ready\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${argv.join(" ")} exited before ready: ${await new Response(proc.stderr).text()}`);
    text += dec.decode(value);
  }
  text = text.slice(text.indexOf("ready\n") + 6);
  return {
    proc,
    rest: async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return text;
        text += dec.decode(value);
      }
    },
  };
}

/** Median RSS of each process over five samples 200 ms apart. */
async function sampleRss(pids: number[]): Promise<number[]> {
  const samples: number[][] = pids.map(() => []);
  for (let i = 0; i < 5; i++) {
    pids.forEach((p, j) => samples[j]!.push(rssBytes(p)));
    await Bun.sleep(200);
  }
  return samples.map(median);
}

export async function client(argv: string[], env: Record<string, string>): Promise<string> {
  const p = Bun.spawn(argv, { env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${argv.join(" ")} exited ${code}: ${err.trim()}`);
  return out.trim();
}

/** The same program over two real zerotier-one nodes' taps (root, netns and a binary needed). */
export async function measureRealTapPair(
  tb: string,
  bytes: number,
): Promise<{ mbps: number; rttUs: number; connSeq: number; connPar: number; cpuPerGb: [number, number] } | null> {
  if (ZT_ONE === null || !netnsPossible()) return null;
  return withTapPair("real", async ({ lab, leaves, ipB }) => {
    const [a, b] = [leaves[0]!.ns, leaves[1]!.ns];
    for (let i = 0; i < 20; i++) if ((await lab.exec(a, ["ping", "-c", "1", "-W", "1", ipB], { allowFail: true })).code === 0) break;
    const mbps: number[] = [];
    const pids = leaves.map((l) => nodePid(l.home));
    const cpu: [number[], number[]] = [[], []];
    for (let r = 0; r < RUNS; r++) {
      const sink = lab.spawn(b, [tb, "sink", String(6201 + r)]);
      // the sink is up when a connect stops being refused: source retries until then
      const c0 = pids.map(cpuSeconds);
      const out = await lab.exec(a, untilAccepted(`${tb} source ${ipB} ${6201 + r} ${bytes}`), { timeoutMs: 300_000 });
      const c1 = pids.map(cpuSeconds);
      await sink.exited;
      const [, n, secs] = out.out.trim().split(" ");
      mbps.push(Number(n) / Number(secs) / 1e6);
      for (const i of [0, 1]) cpu[i]!.push((c1[i]! - c0[i]!) / (bytes / 1e9));
    }
    const echo = lab.spawn(b, [tb, "echo", "7007"]);
    // RTT varies a lot from run to run on a shared machine: the median of RUNS runs' p50s
    const rtts: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const rr = await lab.exec(a, untilAccepted(`${tb} rr ${ipB} 7007 ${RR_COUNT}`), { timeoutMs: 120_000 });
      rtts.push(Number(rr.out.trim().split(" ")[2]));
    }
    echo.kill();
    const acc = lab.spawn(b, [tb, "acceptor", "7008"]);
    const rate = async (count: number, procs: number): Promise<number> => {
      const out = (await lab.exec(a, untilAccepted(`${tb} connects ${ipB} 7008 ${count} ${procs}`), { timeoutMs: 120_000 })).out.trim().split(" ");
      return Number(out[1]) / Number(out[2]);
    };
    // No first run outside the median here (the kernel has no JIT to warm), and no room for one:
    // see CONNECT_PROCS.
    const seq = await rate(CONNECTS, 1);
    const par: number[] = [];
    for (let r = 0; r < RUNS; r++) par.push(await rate(3 * CONNECTS, CONNECT_PROCS));
    acc.kill();
    return { mbps: median(mbps), rttUs: median(rtts), connSeq: seq, connPar: median(par), cpuPerGb: [median(cpu[0]), median(cpu[1])] };
  });
}

async function main(): Promise<void> {
  if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error("NETCON_RUNS must be a positive integer");
  const realConnects = CONNECTS * (1 + 3 * RUNS);
  if (realConnects > 20_000) console.warn(`netcon: NETCON_RUNS=${RUNS} makes ${realConnects} connections over the real pair within a minute; its kernel's connect slows down as TIME_WAIT fills the ephemeral ports (see CONNECT_PROCS)`);
  const dir = mkdtempSync(join(tmpdir(), "ztnc-bench-netcon-"));
  const lib = await ensureInterceptLibrary({});
  const tb = await buildTcpBench(dir);
  // 1432: ZeroTier's UDP payload on a 1500-byte link, as between the real nodes' namespaces
  // NETCON_CC picks the containers' congestion control (default: the host's, as the service does)
  const cc = process.env.NETCON_CC;
  if (cc !== undefined && congestionByName(cc) === null) throw new Error("NETCON_CC must be bbr, cubic or reno");
  const d = await LoopbackDeployment.start({ dir, members: ["a", "b"], basePort: 39993, physicalMtu: 1432, ...(cc !== undefined ? { settings: { netconTcpCongestion: cc } } : {}) });
  try {
    await d.createNetwork("10.147.19");
    const ips = await d.joinAll();
    const [sa, sb] = d.members as [typeof d.members[0], typeof d.members[0]];
    const env = { a: d.containerEnv("a", lib), b: d.containerEnv("b", lib) };
    const svcPids = [sa.proc.pid, sb.proc.pid];
    // idle memory first, while nothing else has grown the heaps
    const hold = await server([tb, "hold", "7009"], env.b);
    const before = await sampleRss(svcPids);
    const idle = Bun.spawn([tb, "idle", ips.get("b")!, "7009", String(IDLE)], { env: env.a, stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    const reader = idle.stdout.getReader();
    let seen = "";
    while (!seen.includes("idle")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`idle client died: ${await new Response(idle.stderr).text()}`);
      seen += new TextDecoder().decode(value);
    }
    // RSS moves with garbage collection: compare medians of a few samples taken once all are up
    const after = await sampleRss(svcPids);
    idle.stdin.end();
    await idle.exited;
    hold.proc.kill();
    console.log(`netcon idle connections: ${IDLE} held; RSS +${((after[0]! - before[0]!) / IDLE).toFixed(0)} B/connection (client side), +${((after[1]! - before[1]!) / IDLE).toFixed(0)} B/connection (server side)`);
    const thr: Record<string, number[]> = { "a→b": [], "b→a": [] };
    const cpu: Record<string, number[]> = { "a→b": [], "b→a": [] };
    /** CPU s/GB of the sending and of the receiving service, over all transfers. */
    const side = { send: [] as number[], recv: [] as number[] };
    let port = 5201;
    for (let r = 0; r < RUNS; r++) {
      for (const [from, to] of [["a", "b"], ["b", "a"]] as const) {
        const key = `${from}→${to}`;
        const sink = await server([tb, "sink", String(port)], env[to]);
        const c0 = svcPids.map(cpuSeconds);
        const out = await client([tb, "source", ips.get(to)!, String(port), String(BYTES)], env[from]);
        const c1 = svcPids.map(cpuSeconds);
        const sinkOut = (await sink.rest()).trim();
        await sink.proc.exited;
        const [, bytes, secs] = out.split(" ");
        if (!sinkOut.startsWith(`sink ${BYTES} `)) throw new Error(`sink got ${sinkOut}, expected ${BYTES} bytes`);
        thr[key]!.push(Number(bytes) / Number(secs) / 1e6);
        cpu[key]!.push(((c1[0]! - c0[0]!) + (c1[1]! - c0[1]!)) / (BYTES / 1e9));
        const [si, ri] = from === "a" ? [0, 1] : [1, 0];
        side.send.push((c1[si]! - c0[si]!) / (BYTES / 1e9));
        side.recv.push((c1[ri]! - c0[ri]!) / (BYTES / 1e9));
        port++;
      }
    }
    for (const k of Object.keys(thr)) {
      console.log(`netcon ${k}: ${median(thr[k]!).toFixed(1)} MB/s (runs: ${thr[k]!.map((x) => x.toFixed(0)).join(", ")}), both services ${median(cpu[k]!).toFixed(2)} CPU s/GB`);
    }
    console.log(`netcon CPU per GB: sending service ${median(side.send).toFixed(2)} s, receiving service ${median(side.recv).toFixed(2)} s (each includes the TCP stack the kernel runs for the real pair, inside the programs)`);
    // receive coalescing (ZT_RX_COALESCE_US) is for bulk batches: count its sleeps from here on,
    // where only small packets flow (request/response, connects)
    const coalesceSleeps = async (): Promise<number> => {
      let n = 0;
      for (const m of d.members) {
        const text = String((await m.api("GET", "/metrics")).json);
        const line = text.split("\n").find((l) => l.startsWith("zt_hot_loop_coalesce_sleeps"));
        n += Number(line?.split(" ").pop() ?? NaN);
      }
      return n;
    };
    const sleepsBefore = await coalesceSleeps();
    const echo = await server([tb, "echo", "7007"], env.b);
    const rrRuns: string[][] = [];
    for (let r = 0; r < RUNS; r++) rrRuns.push((await client([tb, "rr", ips.get("b")!, "7007", String(RR_COUNT)], env.a)).split(" "));
    echo.proc.kill();
    const rttP50 = median(rrRuns.map((x) => Number(x[2])));
    console.log(`netcon rtt (64 B request/response, warm): p50 ${rttP50.toFixed(1)} µs (median of ${RUNS} runs: ${rrRuns.map((x) => x[2]).join(", ")}), p90 ${median(rrRuns.map((x) => Number(x[3]))).toFixed(1)} µs`);
    const acc = await server([tb, "acceptor", "7008"], env.b);
    const cn = (await client([tb, "connects", ips.get("b")!, "7008", String(CONNECTS)], env.a)).split(" ");
    console.log(`netcon connections: ${(Number(cn[1]) / Number(cn[2])).toFixed(0)} connect+close per second (${CONNECTS} sequential)`);
    // sequential connects wait one network round trip each; a server sees many clients at once
    // One run first, not in the median: the connection path (RPCs, adoption, handshake) runs once
    // per connection, so it reaches the JIT's top tier (FTL) late; the rate rose over the first
    // ≈18,000 connections (measured), and this run takes the worst of it.
    const parRate = async (): Promise<number> => {
      const out = (await client([tb, "connects", ips.get("b")!, "7008", String(3 * CONNECTS), String(CONNECT_PROCS)], env.a)).split(" ");
      return Number(out[1]) / Number(out[2]);
    };
    const firstPar = await parRate();
    const par: number[] = [];
    for (let r = 0; r < RUNS; r++) par.push(await parRate());
    acc.proc.kill();
    console.log(`netcon connections, ${CONNECT_PROCS} processes at once: ${median(par).toFixed(0)} connect+close per second (runs: ${par.map((x) => x.toFixed(0)).join(", ")}; the first run before them, the JIT still compiling: ${firstPar.toFixed(0)})`);
    // the same inside one container over its loopback: the intercept's own cost, without the
    // network round trips a connect and a close need between two services
    const local = await server([tb, "acceptor", "7010"], env.a);
    const lc = (await client([tb, "connects", "127.0.0.1", "7010", String(CONNECTS)], env.a)).split(" ");
    local.proc.kill();
    console.log(`netcon connections inside one container (127.0.0.1): ${(Number(lc[1]) / Number(lc[2])).toFixed(0)} connect+close per second`);
    console.log(`netcon receive-coalescing sleeps during the request/response and connection runs, both services: ${(await coalesceSleeps()) - sleepsBefore}`);
    const ours = median(thr["a→b"]!.concat(thr["b→a"]!));
    const real = await measureRealTapPair(tb, BYTES);
    if (real === null) console.log("netcon vs zerotier-one: no real zerotier-one (set ZT_ONE) or not root: ratio not measured");
    else {
      console.log(`zerotier-one 1.14.1 tap↔tap, same program: ${real.mbps.toFixed(1)} MB/s, rtt p50 ${real.rttUs.toFixed(0)} µs (median of ${RUNS} runs)`);
      console.log(`zerotier-one 1.14.1 tap↔tap connections: ${real.connSeq.toFixed(0)} per second sequential, ${real.connPar.toFixed(0)} with ${CONNECT_PROCS} processes`);
      console.log(`zerotier-one 1.14.1 CPU per GB: sending node ${real.cpuPerGb[0].toFixed(2)} s, receiving node ${real.cpuPerGb[1].toFixed(2)} s`);
      console.log(`ratio ours/real: ${(ours / real.mbps).toFixed(2)} (throughput), rtt ${(rttP50 / real.rttUs).toFixed(2)}, connections ${(Number(cn[1]) / Number(cn[2]) / real.connSeq).toFixed(2)} sequential, ${(median(par) / real.connPar).toFixed(2)} with ${CONNECT_PROCS} processes`);
    }
  } finally {
    await d.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) await main();
