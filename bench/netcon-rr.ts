#!/usr/bin/env bun
/**
 * Request/response between two network containers in three conditions, to study why the netcon
 * bench's RTT (measured right after its bulk transfers) is higher than RTT on services that did
 * no bulk transfer. Prints, for each condition, the p50 of NETCON_RR_RUNS runs of 2,000
 * transactions of 64 bytes, and each service's CPU per transaction:
 *   fresh:      services that have moved no bulk data (only the handshake warm-up);
 *   after bulk: right after 4 × 256 MiB a→b;
 *   idle:       the same services after NETCON_RR_IDLE_S seconds (default 20) of no traffic,
 *               with the services' CPU over that pause.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureInterceptLibrary } from "../intercept/build.ts";
import { LoopbackDeployment } from "../src/tools/loopback-deployment.ts";
import { buildTcpBench, client, cpuSeconds, median, server } from "./netcon.ts";

const RUNS = Number(process.env.NETCON_RR_RUNS ?? 3);
const IDLE_S = Number(process.env.NETCON_RR_IDLE_S ?? 20);
const COUNT = 2000;
const BULK_RUNS = 4;
const BULK_BYTES = 256 * 1024 * 1024;
if (!Number.isInteger(RUNS) || RUNS < 1 || !Number.isFinite(IDLE_S) || IDLE_S < 0) {
  console.error("NETCON_RR_RUNS must be a positive integer and NETCON_RR_IDLE_S a number of seconds ≥ 0");
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), "netcon-rr-"));
const lib = await ensureInterceptLibrary({});
const tb = await buildTcpBench(dir);
const d = await LoopbackDeployment.start({ dir, members: ["a", "b"], basePort: 47993, physicalMtu: 1432 });
try {
  await d.createNetwork("10.147.27");
  const ips = await d.joinAll();
  const [sa, sb] = d.members;
  const env = { a: d.containerEnv("a", lib), b: d.containerEnv("b", lib) };
  const ipB = ips.get("b")!;
  const pids = [sa!.proc.pid, sb!.proc.pid];
  let port = 7100;

  const rr = async (label: string): Promise<void> => {
    const echo = await server([tb, "echo", String(++port)], env.b);
    const p50s: number[] = [];
    const cpu: number[][] = [];
    for (let r = 0; r < RUNS; r++) {
      const c0 = pids.map(cpuSeconds);
      const out = (await client([tb, "rr", ipB, String(port), String(COUNT)], env.a)).split(" ");
      const c1 = pids.map(cpuSeconds);
      p50s.push(Number(out[2]));
      cpu.push(c1.map((c, i) => ((c - c0[i]!) / COUNT) * 1e6));
    }
    echo.proc.kill();
    await echo.proc.exited;
    const perTxn = (i: number): string => cpu.map((c) => c[i]!.toFixed(0)).join(", ");
    console.log(
      `netcon-rr ${label}: p50 ${median(p50s).toFixed(1)} µs (runs: ${p50s.map((x) => x.toFixed(1)).join(", ")}); CPU per transaction a ${perTxn(0)} µs, b ${perTxn(1)} µs`,
    );
  };

  await rr("fresh");
  for (let r = 0; r < BULK_RUNS; r++) {
    const sink = await server([tb, "sink", String(++port)], env.b);
    await client([tb, "source", ipB, String(port), String(BULK_BYTES)], env.a);
    await sink.proc.exited;
  }
  await rr(`after ${BULK_RUNS} × 256 MiB`);
  const c0 = pids.map(cpuSeconds);
  // The pause is the condition under test (what the services do with no traffic), not a wait
  // for something to become ready.
  await Bun.sleep(IDLE_S * 1000);
  const idleCpu = pids.map((p, i) => (cpuSeconds(p) - c0[i]!).toFixed(2));
  await rr(`after ${IDLE_S} s idle (services' CPU meanwhile ${idleCpu.join(" / ")} s)`);
} finally {
  await d.stop();
  rmSync(dir, { recursive: true, force: true });
}
