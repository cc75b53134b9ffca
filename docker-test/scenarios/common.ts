/** Helpers shared by scenarios: payload files, a keep-alive HTTP server outside, listener checks. */
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ScenarioContext } from "../scenario.ts";

/** A random file of `mib` MiB in the scenario directory (readable by everyone). */
export async function makePayload(ctx: ScenarioContext, name: string, mib: number): Promise<{ path: string; sha256: string }> {
  const data = randomBytes(mib * 1024 * 1024);
  const path = join(ctx.dir, name);
  writeFileSync(path, data);
  chmodSync(path, 0o644);
  return { path, sha256: createHash("sha256").update(data).digest("hex") };
}

/** A threading HTTP/1.1 (keep-alive) python server outside serving ctx.dir; resolves when it answers. */
export async function httpServerOutside(ctx: ScenarioContext, name: string, port: number): Promise<number> {
  const py = "import http.server as h, functools, sys; d = sys.argv[1]; h.SimpleHTTPRequestHandler.protocol_version = 'HTTP/1.1'; " +
    "s = h.ThreadingHTTPServer((sys.argv[2], int(sys.argv[3])), functools.partial(h.SimpleHTTPRequestHandler, directory=d)); s.serve_forever()";
  ctx.spawnOutside(`${name}-http`, ["python3", "-c", py, ctx.dir, ctx.outsideIp, String(port)]);
  await waitListening(ctx, "outside", port);
  return port;
}

/** Wait until `port` answers a TCP connect on the given side's address. */
export async function waitListening(ctx: ScenarioContext, side: "inside" | "outside", port: number): Promise<void> {
  await ctx.waitFor(`${side} port ${port}`, async () => {
    const r = side === "outside"
      ? await ctx.outside(["ss", "-ltnH", `sport = :${port}`], { allowFail: true })
      : await ctx.outside(["nc", "-z", "-w", "2", ctx.insideIp, String(port)], { allowFail: true });
    return (side === "outside" ? r.out.includes(`:${port}`) : r.code === 0) ? true : null;
  }, 30_000);
}

/** 2,000 requests from 20 concurrent curls on the outside; every answer must be 200 with `size` bytes. */
export async function loadFromOutside(ctx: ScenarioContext, url: string, size: number, n = 2000, par = 20): Promise<string> {
  const t0 = performance.now();
  const r = await ctx.outside(["sh", "-c", `seq ${n} | xargs -P ${par} -I{} curl -s -o /dev/null -w '%{http_code} %{size_download}\\n' --max-time 10 ${url} | sort | uniq -c`], { timeoutMs: 300_000 });
  const secs = (performance.now() - t0) / 1000;
  const lines = r.out.trim().split("\n").map((l) => l.trim());
  if (lines.length !== 1 || lines[0] !== `${n} 200 ${size}`) throw new Error(`answers: ${lines.join("; ")}`);
  return `${n} requests, ${par} concurrent, all 200 intact, ${(n / secs).toFixed(0)} req/s`;
}
