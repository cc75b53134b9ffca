/** python3 inside: http.server serves a page to curl outside; an asyncio echo server answers 500 concurrent clients. */
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Scenario } from "../scenario.ts";
import { writeEchoClients, writeEchoServer } from "../../test/support/python-echo.ts";
import { waitListening } from "./common.ts";

export const pythonScenario: Scenario = {
  name: "python",
  needs: ["python3", "curl"],
  async run(ctx) {
    const www = join(ctx.dir, "py-www");
    mkdirSync(www, { recursive: true, mode: 0o755 });
    writeFileSync(join(www, "index.html"), "python inside a network container\n");
    chmodSync(join(www, "index.html"), 0o644);
    ctx.spawnInside("http", ["python3", "-m", "http.server", "8301", "--directory", www]);
    await waitListening(ctx, "inside", 8301);
    const page = await ctx.outside(["curl", "-sS", "--max-time", "5", `http://${ctx.insideIp}:8301/index.html`]);
    if (page.out !== "python inside a network container\n") throw new Error(`page: ${JSON.stringify(page.out)}`);
    const echo = join(ctx.dir, "py-echo.py");
    writeEchoServer(echo, 8302);
    ctx.spawnInside("echo", ["python3", echo]);
    await waitListening(ctx, "inside", 8302);
    const client = join(ctx.dir, "py-clients.py");
    writeEchoClients(client, ctx.insideIp, 8302, 500);
    const r = await ctx.outside(["python3", client], { timeoutMs: 120_000 });
    if (r.out.trim() !== "500") throw new Error(`echoes intact: ${r.out.trim()} of 500`);
    return "page intact; 500 concurrent echoes intact";
  },
};
