/**
 * kill -9 of the container's service while a program writes through it and a server waits in it:
 * the writer gets an error within 1 s, a new connect fails with ENETDOWN, and nothing spins
 * afterwards (the waiting server uses < 5% CPU). The runner restarts the service afterwards.
 */
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Scenario } from "../scenario.ts";
import { waitListening } from "./common.ts";

export const serviceDeathScenario: Scenario = {
  name: "service-death",
  needs: ["python3", "nc"],
  async run(ctx) {
    const server = ctx.spawnInside("server", ["python3", "-m", "http.server", "8601", "--directory", ctx.dir]);
    await waitListening(ctx, "inside", 8601);
    ctx.spawnOutside("sink", ["sh", "-c", "nc -l 8602 > /dev/null"]);
    await waitListening(ctx, "outside", 8602);
    const writer = join(ctx.dir, "death-writer.py");
    const log = join(ctx.dir, "death-writer.out");
    writeFileSync(writer, [
      "import socket, sys, time",
      `s = socket.create_connection(('${ctx.outsideIp}', 8602))`,
      `out = open('${log}', 'w', buffering=1)`,
      "out.write('connected\\n')",
      "buf = b'x' * 65536",
      "try:",
      "    while True:",
      "        s.sendall(buf)",
      "except OSError as e:",
      "    out.write(f'ERR {type(e).__name__} {time.time()}\\n')",
      "try:",
      `    socket.create_connection(('${ctx.outsideIp}', 8602), timeout=5)`,
      "except OSError as e:",
      "    out.write(f'NEW {e.errno} {time.time()}\\n')",
      "",
    ].join("\n"));
    chmodSync(writer, 0o644);
    writeFileSync(log, "");
    chmodSync(log, 0o666);
    const w = ctx.spawnInside("writer", ["python3", writer]);
    await ctx.waitFor("writer connected", async () => (readFileSync(log, "utf8").includes("connected") ? true : null));
    const killedAt = Date.now() / 1000;
    await ctx.killService();
    await ctx.waitFor("writer's error", async () => (/NEW \d+/.test(readFileSync(log, "utf8")) ? true : null), 10_000);
    const out = readFileSync(log, "utf8");
    const err = /ERR (\w+) ([\d.]+)/.exec(out);
    const fresh = /NEW (\d+) ([\d.]+)/.exec(out);
    if (err === null || !["BrokenPipeError", "ConnectionResetError"].includes(err[1]!)) throw new Error(`writer: ${out.trim()}`);
    const after = Number(err[2]) - killedAt;
    if (after > 1) throw new Error(`writer saw ${err[1]} only ${after.toFixed(2)} s after the kill`);
    if (fresh === null || fresh[1] !== "100") throw new Error(`a new connect: ${out.trim()} (expected errno 100, ENETDOWN)`);
    await w.exited;
    const c0 = await ctx.cpuSeconds(server);
    const t0 = Date.now();
    await Bun.sleep(2000); // a measurement window for the CPU use, not a wait for readiness
    const cpu = ((await ctx.cpuSeconds(server)) - c0) / ((Date.now() - t0) / 1000);
    if (cpu > 0.05) throw new Error(`the waiting server spins: ${(cpu * 100).toFixed(0)}% CPU`);
    return `writer: ${err[1]} after ${(after * 1000).toFixed(0)} ms; new connect ENETDOWN; waiting server ${(cpu * 100).toFixed(1)}% CPU`;
  },
};
