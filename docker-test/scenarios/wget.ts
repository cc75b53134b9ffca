/**
 * wget: GNU wget inside downloads a 50 MiB random file from `python3 -m http.server` outside;
 * the copy's sha256 equals the original's, and the rate is reported.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Scenario } from "../scenario.ts";

const PORT = 18100;
const SIZE = 50 * 1024 * 1024;

export const wgetScenario: Scenario = {
  name: "wget",
  needs: ["wget", "/usr/bin/python3", "curl"],
  async run(ctx) {
    const srv = join(ctx.dir, "wget-srv");
    mkdirSync(srv, { recursive: true });
    const data = new Uint8Array(SIZE);
    for (let o = 0; o < SIZE; o += 65_536) crypto.getRandomValues(data.subarray(o, o + 65_536));
    writeFileSync(join(srv, "big.bin"), data);
    const want = new Bun.CryptoHasher("sha256").update(data).digest("hex");
    const server = ctx.spawnOutside("http-server", ["/usr/bin/python3", "-m", "http.server", String(PORT), "--bind", ctx.outsideIp, "--directory", srv]);
    const got = join(ctx.dir, "wget-got.bin");
    try {
      await ctx.waitFor("python3 http.server outside answering", async () => {
        if (server.exitCode !== null) throw new Error(`python3 -m http.server exited ${server.exitCode}`);
        const r = await ctx.outside(["curl", "-s", "-o", "/dev/null", "-m", "2", "-w", "%{http_code}", `http://${ctx.outsideIp}:${PORT}/`], { allowFail: true });
        return r.out.trim() === "200" ? true : null;
      });
      const t0 = performance.now();
      const r = await ctx.inside(["wget", "--no-hsts", "--no-config", "-nv", "-t", "1", "-T", "30", "-O", got, `http://${ctx.outsideIp}:${PORT}/big.bin`], { timeoutMs: 180_000, allowFail: true });
      const s = (performance.now() - t0) / 1000;
      if (r.code !== 0) throw new Error(`wget inside exited ${r.code}: ${(r.err + r.out).trim().slice(-300)}`);
      if (!existsSync(got)) throw new Error(`wget exited 0 but ${got} does not exist`);
      const bytes = readFileSync(got);
      const sum = new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
      if (bytes.length !== SIZE || sum !== want) throw new Error(`wget's copy: ${bytes.length} bytes sha256 ${sum}, want ${SIZE} bytes sha256 ${want}`);
      return `50 MiB sha256-intact in ${s.toFixed(2)} s (${(SIZE / s / 1e6).toFixed(1)} MB/s, wget start-up included)`;
    } finally {
      server.kill();
      await server.exited;
    }
  },
};
