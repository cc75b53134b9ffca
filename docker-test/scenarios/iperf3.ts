/**
 * iperf3: `iperf3 -s -1` inside with the client outside for 5 s, then the reverse (server outside,
 * client inside); both TCP (a control connection plus a data connection, iperf3's own options and
 * TCP_INFO reads). Reports what each receiver counted, in MB/s. Fails when iperf3 reports an error,
 * with both rates: the sending client inside gets ENOPROTOOPT for getsockopt TCP_INFO (the library
 * refuses options whose value is not an int) and says "getsockopt - Protocol not available".
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Scenario, ScenarioContext } from "../scenario.ts";

const SECONDS = 5;

interface IperfJson {
  error?: string;
  end?: { sum_received?: { bytes: number; seconds: number; bits_per_second: number }; sum_sent?: { bytes: number; retransmits?: number } };
}

interface Result {
  mbs: number;
  bytes: number;
  /** iperf3's "error" (with -J, also its non-fatal complaints such as a failed getsockopt). */
  error: string | null;
}

function parse(out: string, what: string): Result {
  let j: IperfJson;
  try {
    j = JSON.parse(out) as IperfJson;
  } catch {
    throw new Error(`${what}: iperf3 -J printed no JSON: ${out.trim().slice(-300)}`);
  }
  const rx = j.end?.sum_received;
  if (rx === undefined || rx.bytes <= 0) throw new Error(`${what}: the receiver counted no bytes${j.error !== undefined ? `; iperf3 error: ${j.error}` : ""}: ${out.trim().slice(-300)}`);
  return { mbs: rx.bits_per_second / 8 / 1e6, bytes: rx.bytes, error: j.error ?? null };
}

async function serverUp(ctx: ScenarioContext, log: string, server: { exitCode: number | null }, what: string): Promise<void> {
  await ctx.waitFor(what, async () => {
    const text = existsSync(log) ? readFileSync(log, "utf8") : "";
    if (server.exitCode !== null) {
      const err = existsSync(`${log}.err`) ? readFileSync(`${log}.err`, "utf8") : "";
      throw new Error(`${what}: iperf3 -s exited ${server.exitCode}: ${(text + err).trim().slice(-300)}`);
    }
    return /Server listening on/.test(text) ? true : null;
  });
}

export const iperf3Scenario: Scenario = {
  name: "iperf3",
  needs: ["iperf3"],
  async run(ctx) {
    // 1. server inside, client outside
    const p1 = 15201;
    const s1 = ctx.spawnInside("server", ["iperf3", "-s", "-1", "--forceflush", "-p", String(p1)]);
    let up: Result;
    try {
      await serverUp(ctx, join(ctx.dir, "iperf3-server.log"), s1, "iperf3 server inside listening");
      const r = await ctx.outside(["iperf3", "-c", ctx.insideIp, "-p", String(p1), "-t", String(SECONDS), "-J"], { timeoutMs: 60_000, allowFail: true });
      up = parse(r.out, "client outside → server inside");
      if (r.code !== 0) throw new Error(`client outside → server inside: iperf3 exited ${r.code}: ${r.err.trim().slice(-300)}`);
    } finally {
      if (s1.exitCode === null) s1.kill();
      await s1.exited;
    }

    // 2. server outside, client inside
    const p2 = 15202;
    const s2 = ctx.spawnOutside("server-outside", ["iperf3", "-s", "-1", "--forceflush", "-p", String(p2), "-B", ctx.outsideIp]);
    let down: Result;
    try {
      await serverUp(ctx, join(ctx.dir, "iperf3-server-outside.log"), s2, "iperf3 server outside listening");
      const r = await ctx.inside(["iperf3", "-c", ctx.outsideIp, "-p", String(p2), "-t", String(SECONDS), "-J"], { timeoutMs: 60_000, allowFail: true });
      down = parse(r.out, "client inside → server outside");
      if (r.code !== 0) throw new Error(`client inside → server outside: iperf3 exited ${r.code}: ${r.err.trim().slice(-300)}`);
    } finally {
      if (s2.exitCode === null) s2.kill();
      await s2.exited;
    }
    const rates = `outside→inside ${up.mbs.toFixed(1)} MB/s, inside→outside ${down.mbs.toFixed(1)} MB/s (${SECONDS} s each)`;
    // iperf3 reports a failed getsockopt (TCP_INFO for its Retr/Cwnd columns, TCP_CONGESTION) as an
    // error, even though the data moved: a program's complaint is a failure, with what it measured
    const errors = [
      ...(up.error !== null ? [`server inside / client outside: iperf3 error "${up.error}"`] : []),
      ...(down.error !== null ? [`client inside: iperf3 error "${down.error}"`] : []),
    ];
    if (errors.length > 0) throw new Error(`${errors.join("; ")} (${rates})`);
    return rates;
  },
};
