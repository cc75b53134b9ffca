#!/usr/bin/env bun
/**
 * What one event-loop wake-up costs, before any ZeroTier work: a UDP echo over loopback answered
 * by a C server (select, recvfrom, sendto: how a C node's receive thread wakes) and by Bun woken
 * the two ways our service can be (the io_uring doorbell with recvmmsg/sendmmsg, or Bun's
 * per-datagram callbacks). A C client sends 64-byte datagrams one at a time, so every datagram
 * is one wake-up of the server. A fourth server is JavaScript that never returns to Bun's event
 * loop and blocks in poll() through ffi, as a C thread does. Prints, for each server, the median over WAKE_ROUNDS rounds
 * (default 3, the servers in turns) of the p50 round trip and of the server's user and kernel CPU
 * per round trip (from /proc/<pid>/stat).
 *
 * On this machine RTT is the chain's CPU per transaction (README, sixth round), so the floor
 * here bounds what our nodes can reach per packet.
 *
 * Then the same servers after quiet: WAKE_QUIET_ROUNDS (default 300) datagrams each, every one
 * after WAKE_GAP_MS (default 10) of quiet, the servers interleaved datagram by datagram; prints
 * the p50 and p90 round trip of each. This is the wake-up a ping at 100/s meets (README, seventh
 * round: why the hot loop).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildCProgram } from "./support/c-program.ts";
import { cpuSplit, median } from "./netcon.ts";

const ROUNDS = Number(process.env.WAKE_ROUNDS ?? 3);
const QUIET_ROUNDS = Number(process.env.WAKE_QUIET_ROUNDS ?? 300);
const GAP_MS = Number(process.env.WAKE_GAP_MS ?? 10);
const COUNT = 20_000;
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) {
  console.error("wake-floor: WAKE_ROUNDS must be a positive integer");
  process.exit(2);
}
if (!Number.isInteger(QUIET_ROUNDS) || QUIET_ROUNDS < 10 || QUIET_ROUNDS > 100_000) {
  console.error("wake-floor: WAKE_QUIET_ROUNDS must be an integer in 10..100000");
  process.exit(2);
}
if (!Number.isFinite(GAP_MS) || GAP_MS < 0 || GAP_MS > 1000) {
  console.error("wake-floor: WAKE_GAP_MS must be a number of milliseconds in 0..1000");
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), "ztnc-bench-wake-"));
const echo = buildCProgram("udp-echo", dir);

interface Server {
  name: string;
  argv: string[];
}
const servers: Server[] = [
  { name: "C (select, recvfrom, sendto)", argv: [echo, "server"] },
  { name: "Bun, io_uring doorbell + recvmmsg/sendmmsg", argv: [process.execPath, join(import.meta.dir, "support/udp-echo-bun.ts"), "doorbell"] },
  { name: "Bun, Bun.udpSocket callbacks", argv: [process.execPath, join(import.meta.dir, "support/udp-echo-bun.ts"), "callbacks"] },
  { name: "Bun, JavaScript blocking in poll() (no event loop)", argv: [process.execPath, join(import.meta.dir, "support/udp-echo-bun.ts"), "blocking"] },
];

/** Start a server on `port` and wait for its "ready" line. */
async function start(s: Server, port: number): Promise<Bun.Subprocess<"ignore", "pipe", "pipe">> {
  const proc = Bun.spawn([...s.argv, String(port)], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const reader = proc.stdout.getReader();
  let seen = "";
  while (!seen.includes("ready")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${s.name} exited before ready: ${await new Response(proc.stderr).text()}`);
    seen += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return proc;
}

async function client(port: number, count: number): Promise<number> {
  const p = Bun.spawn([echo, "client", String(port), String(count)], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  const f = out.trim().split(" ");
  if (code !== 0 || f[0] !== "rtt") throw new Error(`udp-echo client: ${out.trim()} ${err.trim()}`);
  return Number(f[2]);
}

/** One datagram to each port in turn after GAP_MS of quiet, QUIET_ROUNDS times: port → [p50, p90] µs. */
async function quietRounds(ports: number[]): Promise<Map<number, [number, number]>> {
  const argv = [echo, "quiet", String(Math.round(GAP_MS * 1000)), String(QUIET_ROUNDS), ...ports.map(String)];
  const p = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`udp-echo quiet: ${out.trim()} ${err.trim()}`);
  const found = new Map<number, [number, number]>();
  for (const line of out.trim().split("\n")) {
    const f = line.split(" ");
    if (f.length === 4 && f[0] === "quiet") found.set(Number(f[1]), [Number(f[2]), Number(f[3])]);
  }
  return found;
}

try {
  const results = servers.map(() => ({ p50: [] as number[], user: [] as number[], kernel: [] as number[] }));
  // A server that cannot start here (no io_uring for the doorbell, say) is reported, not measured.
  const procs = await Promise.all(
    servers.map((s, i) =>
      start(s, 41_901 + i).catch((e: unknown) => {
        console.log(`wake floor, ${s.name}: not measured: ${(e as Error).message.trim()}`);
        return null;
      }),
    ),
  );
  const up = servers.map((_, i) => i).filter((i) => procs[i] !== null);
  try {
    // warm-up: the JIT, the paths, the caches
    for (const i of up) await client(41_901 + i, COUNT);
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? up : [...up].reverse();
      for (const i of order) {
        const pid = procs[i]!.pid;
        const c0 = cpuSplit(pid);
        const p50 = await client(41_901 + i, COUNT);
        const c1 = cpuSplit(pid);
        results[i]!.p50.push(p50);
        results[i]!.user.push(((c1[0] - c0[0]) / COUNT) * 1e6);
        results[i]!.kernel.push(((c1[1] - c0[1]) / COUNT) * 1e6);
      }
    }
    for (const i of up) {
      const r = results[i]!;
      console.log(`wake floor, ${servers[i]!.name}: p50 ${median(r.p50).toFixed(1)} µs per round trip; server CPU ${median(r.user).toFixed(1)} µs user, ${median(r.kernel).toFixed(1)} µs kernel per datagram (median of ${ROUNDS} rounds)`);
    }
    const quiet = await quietRounds(up.map((i) => 41_901 + i));
    for (const i of up) {
      const q = quiet.get(41_901 + i);
      if (q === undefined) throw new Error(`udp-echo quiet: no line for ${servers[i]!.name}`);
      console.log(`wake floor after ${GAP_MS} ms of quiet, ${servers[i]!.name}: p50 ${q[0].toFixed(1)} µs, p90 ${q[1].toFixed(1)} µs per round trip (${QUIET_ROUNDS} datagrams, servers interleaved)`);
    }
  } finally {
    for (const p of procs) p?.kill();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
