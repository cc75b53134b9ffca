/**
 * postgresql: a PostgreSQL 15 cluster inside, made by initdb as the unprivileged user under the
 * scratch directory; `postgres -c listen_addresses='*'` (IPv4 and IPv6 wildcard listeners, its Unix
 * socket in the scratch directory, forked backends per connection) with trust authentication for
 * the outside peer. Outside: `pgbench -i` then `pgbench -c 4 -t 200` against the container's
 * address: every transaction processed, none failed; tps reported.
 */
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Scenario } from "../scenario.ts";

const PORT = 15432;
const BIN = "/usr/lib/postgresql/15/bin";
const CLIENTS = 4;
const TX = 200;

export const postgresqlScenario: Scenario = {
  name: "postgresql",
  needs: [`${BIN}/initdb`, `${BIN}/postgres`, "pgbench"],
  async run(ctx) {
    if (!existsSync(`${BIN}/postgres`)) throw new Error(`${BIN}/postgres is not installed (Debian package postgresql-15)`);
    const data = join(ctx.dir, "pg");
    const init = await ctx.inside([`${BIN}/initdb`, "-D", data, "-A", "trust", "-U", "ztnc-test", "-E", "UTF8", "--no-sync"], { timeoutMs: 120_000, allowFail: true });
    if (init.code !== 0) throw new Error(`initdb exited ${init.code}: ${(init.err + init.out).trim().slice(-300)}`);
    appendFileSync(join(data, "pg_hba.conf"), `host all all ${ctx.outsideIp}/32 trust\n`);

    const server = ctx.spawnInside("postgres", [`${BIN}/postgres`, "-D", data, "-k", ctx.dir, "-c", "listen_addresses=*", "-p", String(PORT), "-c", "fsync=off"]);
    const log = join(ctx.dir, "postgresql-postgres.log.err");
    try {
      await ctx.waitFor("postgres inside ready", async () => {
        const text = existsSync(log) ? readFileSync(log, "utf8") : "";
        if (server.exitCode !== null) throw new Error(`postgres exited ${server.exitCode}: ${text.trim().slice(-300)}`);
        return /database system is ready to accept connections/.test(text) ? true : null;
      }, 60_000);
      const conn = ["-h", ctx.insideIp, "-p", String(PORT), "-U", "ztnc-test"];
      const i = await ctx.outside(["pgbench", ...conn, "-i", "postgres"], { timeoutMs: 120_000, allowFail: true });
      if (i.code !== 0) throw new Error(`pgbench -i exited ${i.code}: ${(i.err + i.out).trim().slice(-300)}`);
      const r = await ctx.outside(["pgbench", ...conn, "-c", String(CLIENTS), "-t", String(TX), "postgres"], { timeoutMs: 300_000, allowFail: true });
      const out = r.out + r.err;
      if (r.code !== 0) throw new Error(`pgbench -c ${CLIENTS} -t ${TX} exited ${r.code}: ${out.trim().slice(-300)}`);
      const processed = /number of transactions actually processed: (\d+)\/(\d+)/.exec(out);
      const failed = /number of failed transactions: (\d+)/.exec(out);
      const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(out);
      const want = CLIENTS * TX;
      if (processed === null || Number(processed[1]) !== want || Number(processed[2]) !== want) throw new Error(`pgbench processed ${processed?.[0] ?? "?"}, want ${want}/${want}: ${out.trim().slice(-300)}`);
      if (failed !== null && Number(failed[1]) !== 0) throw new Error(`pgbench: ${failed[0]}`);
      if (tps === null) throw new Error(`pgbench printed no tps: ${out.trim().slice(-300)}`);
      if (server.exitCode !== null) throw new Error(`postgres exited ${server.exitCode} during the run`);
      return `pgbench -i, then -c ${CLIENTS} -t ${TX}: ${want}/${want} transactions, 0 failed, ${Number(tps[1]).toFixed(0)} tps`;
    } finally {
      // SIGINT: fast shutdown (backends end, postmaster exits)
      server.kill("SIGINT");
      await Promise.race([server.exited, Bun.sleep(10_000)]);
      if (server.exitCode === null) server.kill("SIGKILL");
    }
  },
};
