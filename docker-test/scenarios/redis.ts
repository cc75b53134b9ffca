/** redis-server inside, redis-benchmark outside (100k SET/GET, no errors), and the reverse. */
import type { Scenario } from "../scenario.ts";
import { waitListening } from "./common.ts";

function rates(out: string): Record<string, number> {
  const r: Record<string, number> = {};
  for (const m of out.matchAll(/^(SET|GET): ([\d.]+) requests per second/gm)) r[m[1]!] = Number(m[2]);
  return r;
}

export const redisScenario: Scenario = {
  name: "redis",
  needs: ["redis-server", "redis-benchmark"],
  async run(ctx) {
    ctx.spawnInside("server", ["redis-server", "--port", "6379", "--save", "", "--appendonly", "no", "--protected-mode", "no", "--dir", ctx.dir]);
    await waitListening(ctx, "inside", 6379);
    const a = await ctx.outside(["redis-benchmark", "-h", ctx.insideIp, "-p", "6379", "-n", "100000", "-t", "set,get", "-q"], { timeoutMs: 180_000 });
    const ra = rates(a.out.replaceAll("\r", "\n"));
    if (!(ra.SET! > 0 && ra.GET! > 0) || /error/i.test(a.out + a.err)) throw new Error(`benchmark against the container: ${a.out.slice(-200)} ${a.err.slice(-200)}`);
    ctx.spawnOutside("server-out", ["redis-server", "--port", "6380", "--bind", ctx.outsideIp, "--save", "", "--appendonly", "no", "--protected-mode", "no"]);
    await waitListening(ctx, "outside", 6380);
    const b = await ctx.inside(["redis-benchmark", "-h", ctx.outsideIp, "-p", "6380", "-n", "100000", "-t", "set,get", "-q"], { timeoutMs: 180_000 });
    const rb = rates(b.out.replaceAll("\r", "\n"));
    if (!(rb.SET! > 0 && rb.GET! > 0) || /error/i.test(b.out + b.err)) throw new Error(`benchmark from the container: ${b.out.slice(-200)} ${b.err.slice(-200)}`);
    return `into the container SET ${ra.SET!.toFixed(0)}/s GET ${ra.GET!.toFixed(0)}/s; out of it SET ${rb.SET!.toFixed(0)}/s GET ${rb.GET!.toFixed(0)}/s`;
  },
};
