/** curl inside the container downloads 50 MiB from a server outside (sha256 intact) and reuses one keep-alive connection. */
import type { Scenario } from "../scenario.ts";
import { makePayload, httpServerOutside } from "./common.ts";

export const curlScenario: Scenario = {
  name: "curl",
  needs: ["curl", "python3"],
  async run(ctx) {
    const p = await makePayload(ctx, "curl.bin", 50);
    const port = await httpServerOutside(ctx, "curl", 8201);
    const t0 = performance.now();
    const got = await ctx.inside(["sh", "-c", `curl -sS --max-time 60 http://${ctx.outsideIp}:${port}/curl.bin | sha256sum`], { timeoutMs: 90_000 });
    const secs = (performance.now() - t0) / 1000;
    if (got.out.split(" ")[0] !== p.sha256) throw new Error(`sha256 ${got.out.split(" ")[0]} != ${p.sha256}`);
    // two requests on one command line: the second must reuse the first connection
    const ka = await ctx.inside(["curl", "-sS", "-o", "/dev/null", "-o", "/dev/null", "-w", "%{num_connects}\\n", `http://${ctx.outsideIp}:${port}/curl.bin`, `http://${ctx.outsideIp}:${port}/curl.bin`], { timeoutMs: 90_000 });
    if (ka.out.trim().split("\n").join(",") !== "1,0") throw new Error(`keep-alive not reused: connects per request ${ka.out.trim()}`);
    return `50 MiB sha256-intact at ${(50 * 1.048576 / secs).toFixed(0)} MB/s; keep-alive reused`;
  },
};
