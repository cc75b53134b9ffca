#!/usr/bin/env bun
/**
 * Where a ping's round trip goes, hop by hop, for our `--tap` pair and the real zerotier-one pair
 * side by side (interleaved rounds, both pairs up at once; ZT_ONE or zerotier-one on PATH, root,
 * ip netns and tcpdump needed).
 *
 * tcpdump on both nodes' taps and underlay interfaces timestamps each packet where the kernel
 * sees it: the request queued to tap a (ping sent it), the datagram node a hands to the underlay,
 * the request written into tap b, the kernel's reply queued to tap b, node b's datagram, and the
 * reply written into tap a. The gaps between them are the hops:
 *   a out    node a wakes, reads its tap, encrypts, sends (up to the datagram on the wire)
 *   b in     the rest of a's send (delivery across the namespaces, waking b), b decrypts, writes its tap
 *   b kernel b's kernel answers the ICMP request (inside that write)
 *   b out    node b reads the reply from its tap and sends it
 *   a in     delivery, waking a, a decrypts and writes its tap
 *   ping     what the round trip reported by ping adds (its own send, wake-up and receive)
 * Each figure is the median over every ping of every round (the first two of a run, ARP and
 * cold paths, left out). At 5 pings per second each ping finds both nodes idle; at 100 per second warm.
 * HOPS_ROUNDS (default 4) rounds of 40 pings at 5/s and 200 at 100/s per pair.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Subprocess } from "bun";
import { waitFor } from "../test/e2e/helpers.ts";
import { median } from "./netcon.ts";
import { type TapPair, withTapPair, ZT_ONE } from "./support/tap-pair.ts";
import { netnsPossible } from "../test/e2e/netns-lab.ts";

const ROUNDS = Number(process.env.HOPS_ROUNDS ?? 4);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) {
  console.error("ping-hops: HOPS_ROUNDS must be a positive integer");
  process.exit(2);
}
if (ZT_ONE === null || !netnsPossible() || Bun.which("tcpdump") === null) {
  console.log("ping-hops: needs root, ip netns, tcpdump and a real zerotier-one (ZT_ONE or on PATH); not measured");
  process.exit(0);
}
/** Pings before the first round: our JIT's warm-up (as bench rtt's). */
const WARM_UP = 20_000;
const RATES = [
  { name: "5/s", interval: "0.2", count: 40 },
  { name: "100/s", interval: "0.01", count: 200 },
] as const;
const HOPS = ["a out", "b in", "b kernel", "b out", "a in", "ping", "round trip"] as const;
type Hop = (typeof HOPS)[number];

interface Capture {
  proc: Subprocess;
  out: string;
}

/** tcpdump in `ns` on `dev` into a file, resolved once it is listening (its "listening on" line). */
async function capture(dir: string, ns: string, dev: string, filter: string): Promise<Capture> {
  const out = join(dir, `${ns}-${dev}.txt`);
  const err = `${out}.err`;
  const proc = Bun.spawn(["ip", "netns", "exec", ns, "tcpdump", "-l", "-tt", "-n", "-i", dev, filter], { stdin: "ignore", stdout: Bun.file(out), stderr: Bun.file(err) });
  try {
    await waitFor(`tcpdump on ${ns}/${dev}`, async () => {
      if (proc.exitCode !== null) throw new Error(`tcpdump on ${ns}/${dev} exited: ${readFileSync(err, "utf8").trim()}`);
      return existsSync(err) && readFileSync(err, "utf8").includes("listening on") ? true : null;
    });
  } catch (e) {
    proc.kill();
    throw e;
  }
  return { proc, out };
}

async function stop(c: Capture): Promise<string> {
  c.proc.kill("SIGINT");
  await c.proc.exited;
  return readFileSync(c.out, "utf8");
}

interface Line {
  t: number;
  text: string;
}

function lines(out: string): Line[] {
  const rows: Line[] = [];
  for (const l of out.split("\n")) {
    const sp = l.indexOf(" ");
    const t = Number(l.slice(0, sp));
    if (sp > 0 && Number.isFinite(t)) rows.push({ t: t * 1e6, text: l.slice(sp + 1) });
  }
  return rows;
}

/** Timestamps (µs) of ICMP echo requests or replies by sequence number. */
function icmp(rows: Line[], kind: "request" | "reply"): Map<number, number> {
  const out = new Map<number, number>();
  const re = new RegExp(`ICMP echo ${kind}, id \\d+, seq (\\d+)`);
  for (const r of rows) {
    const m = re.exec(r.text);
    if (m !== null) out.set(Number(m[1]), r.t);
  }
  return out;
}

/** The first datagram from `src` at or after `t`. */
function datagramAfter(rows: Line[], t: number, src: string): number | null {
  for (const r of rows) if (r.t >= t && r.text.startsWith(`IP ${src}.`)) return r.t;
  return null;
}

/** One run of `count` pings over a pair, its hops added to `into`. */
async function measure(dir: string, p: TapPair, interval: string, count: number, into: Map<Hop, number[]>): Promise<void> {
  const [a, b] = [p.leaves[0]!.ns, p.leaves[1]!.ns];
  const [ipA, ipB] = [p.lab.leafIp(0), p.lab.leafIp(1)];
  const started = await Promise.allSettled([
    capture(dir, a, p.info[0]!.portDeviceName, "icmp"),
    capture(dir, a, "eth0", "udp"),
    capture(dir, b, p.info[1]!.portDeviceName, "icmp"),
    capture(dir, b, "eth0", "udp"),
  ]);
  const caps = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failed = started.find((r) => r.status === "rejected");
  if (failed !== undefined) {
    // no tcpdump left behind: a namespace's deletion does not end its processes
    await Promise.all(caps.map(stop));
    throw (failed as PromiseRejectedResult).reason;
  }
  let pingOut = "";
  let texts: string[];
  try {
    pingOut = (await p.lab.exec(a, ["ping", "-c", String(count), "-i", interval, "-W", "2", p.ipB], { allowFail: true, timeoutMs: 120_000 })).out;
  } finally {
    texts = await Promise.all(caps.map(stop));
  }
  addHops(texts.map(lines) as [Line[], Line[], Line[], Line[]], pingOut, ipA, ipB, into);
}

/** Each ping of `pingOut` found at all four capture points (taps a and b, underlays a and b): its hops. */
function addHops([tapA, ethA, tapB, ethB]: [Line[], Line[], Line[], Line[]], pingOut: string, ipA: string, ipB: string, into: Map<Hop, number[]>): void {
  const reqA = icmp(tapA, "request");
  const repA = icmp(tapA, "reply");
  const reqB = icmp(tapB, "request");
  const repB = icmp(tapB, "reply");
  for (const m of pingOut.matchAll(/icmp_seq=(\d+) .*time=([\d.]+) ms/g)) {
    const seq = Number(m[1]);
    const rtt = Number(m[2]) * 1000;
    const t0 = reqA.get(seq);
    const t3 = reqB.get(seq);
    const t4 = repB.get(seq);
    const t6 = repA.get(seq);
    if (seq <= 2 || t0 === undefined || t3 === undefined || t4 === undefined || t6 === undefined) continue;
    const t1 = datagramAfter(ethA, t0, ipA);
    const t5 = datagramAfter(ethB, t4, ipB);
    if (t1 === null || t5 === null || !(t0 <= t1 && t1 <= t3 && t3 <= t4 && t4 <= t5 && t5 <= t6)) continue;
    const hops: [Hop, number][] = [
      ["a out", t1 - t0],
      ["b in", t3 - t1],
      ["b kernel", t4 - t3],
      ["b out", t5 - t4],
      ["a in", t6 - t5],
      ["ping", rtt - (t6 - t0)],
      ["round trip", rtt],
    ];
    for (const [h, v] of hops) into.get(h)!.push(v);
  }
}

function emptyHops(): Map<Hop, number[]> {
  return new Map(HOPS.map((h) => [h, [] as number[]]));
}

const tmp = mkdtempSync(join(tmpdir(), "ztnc-bench-hops-"));
try {
  await withTapPair("ours", (ours) =>
    withTapPair("real", async (real) => {
      const pairs = [
        { name: "ours", p: ours },
        { name: "real", p: real },
      ];
      for (const { p } of pairs) {
        const r = await p.lab.exec(p.leaves[0]!.ns, ["ping", "-q", "-c", String(WARM_UP), "-i", "0.001", "-W", "2", p.ipB], { allowFail: true, timeoutMs: 300_000 });
        if (r.code !== 0) throw new Error(`warm-up ping failed: ${r.out.trim()} ${r.err.trim()}`);
      }
      const results = RATES.map(() => pairs.map(emptyHops));
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? [0, 1] : [1, 0];
        for (let r = 0; r < RATES.length; r++) {
          for (const i of order) await measure(tmp, pairs[i]!.p, RATES[r]!.interval, RATES[r]!.count, results[r]![i]!);
        }
      }
      RATES.forEach((rate, r) => {
        const [o, q] = results[r]! as [Map<Hop, number[]>, Map<Hop, number[]>];
        const n = [o.get("round trip")!.length, q.get("round trip")!.length];
        if (n[0] === 0 || n[1] === 0) throw new Error(`ping-hops ${rate.name}: no complete ping captured`);
        console.log(`ping hops over the taps at ${rate.name} (µs, medians of ${n[0]} / ${n[1]} pings, ${ROUNDS} interleaved rounds):`);
        for (const h of HOPS) {
          const a = median(o.get(h)!);
          const b = median(q.get(h)!);
          console.log(`  ${h.padEnd(11)} ours ${a.toFixed(1).padStart(6)}  real ${b.toFixed(1).padStart(6)}  ratio ${(a / b).toFixed(2)}`);
        }
      });
    }),
  );
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
