/** node inside: an `http` server answers 1,000 requests from outside; `fetch` inside makes 1,000 requests to a server outside. */
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Scenario } from "../scenario.ts";
import { waitListening } from "./common.ts";

function server(port: number, bind: string): string {
  return `require('http').createServer((q, s) => s.end('node ' + q.url + '\\n')).listen(${port}, '${bind}');`;
}
function client(url: string, n: number): string {
  return `(async () => { let ok = 0; for (let i = 0; i < ${n}; i += 10) {` +
    ` const rs = await Promise.all(Array.from({ length: 10 }, (_, j) => fetch('${url}/' + (i + j)).then(r => r.text())));` +
    ` rs.forEach((t, j) => { if (t === 'node /' + (i + j) + '\\n') ok++; }); } console.log(ok); })().catch(e => { console.error(e); process.exit(1); });`;
}

export const nodejsScenario: Scenario = {
  name: "nodejs",
  needs: ["node"],
  async run(ctx) {
    const srv = join(ctx.dir, "node-server.js");
    writeFileSync(srv, server(8401, "0.0.0.0"));
    const cli = join(ctx.dir, "node-client-out.js");
    writeFileSync(cli, client(`http://${ctx.insideIp}:8401`, 1000));
    const srvOut = join(ctx.dir, "node-server-out.js");
    writeFileSync(srvOut, server(8402, ctx.outsideIp));
    const cliIn = join(ctx.dir, "node-client-in.js");
    writeFileSync(cliIn, client(`http://${ctx.outsideIp}:8402`, 1000));
    for (const f of [srv, cli, srvOut, cliIn]) chmodSync(f, 0o644);
    ctx.spawnInside("server", ["node", srv]);
    await waitListening(ctx, "inside", 8401);
    const a = await ctx.outside(["node", cli], { timeoutMs: 120_000 });
    if (a.out.trim() !== "1000") throw new Error(`server inside: ${a.out.trim()} of 1000 answers intact`);
    ctx.spawnOutside("server-out", ["node", srvOut]);
    await waitListening(ctx, "outside", 8402);
    const b = await ctx.inside(["node", cliIn], { timeoutMs: 120_000 });
    if (b.out.trim() !== "1000") throw new Error(`fetch inside: ${b.out.trim()} of 1000 answers intact`);
    return "1,000 requests each way, all intact";
  },
};
