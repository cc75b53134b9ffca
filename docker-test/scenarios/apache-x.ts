/**
 * apache-x: Apache httpd 2.4 inside as the unprivileged user with a self-contained config under
 * the scratch directory (ServerRoot /etc/apache2, only the modules it needs, a port above 1024,
 * no User/Group since it is not root), run as `apache2 -X` (one process). Outside: 2,000 requests
 * from 20 concurrent curls, every one 200 with the full body, and 40 bodies checked by sha256.
 * `apacheScenario` is shared with apache-prefork and apache-event (the same check under mpm_prefork
 * and mpm_event, master + children).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Scenario, ScenarioContext } from "../scenario.ts";

const REQUESTS = 2000;
const CONCURRENCY = 20;
const BODY_BYTES = 100 * 1024 + 17;
const MODULES = "/usr/lib/apache2/modules";

export type ApacheMode = "x" | "prefork" | "event";

function config(dir: string, port: number, mode: ApacheMode): string {
  const mpm = mode === "event" ? "mpm_event" : "mpm_prefork";
  return [
    "ServerRoot /etc/apache2",
    "ServerName zt-apache",
    `Listen ${port}`,
    `PidFile ${dir}/httpd.pid`,
    `ErrorLog ${dir}/error.log`,
    "LogLevel info",
    `Mutex file:${dir} default`,
    `LoadModule ${mpm}_module ${MODULES}/mod_${mpm}.so`,
    `LoadModule authz_core_module ${MODULES}/mod_authz_core.so`,
    ...(mode === "prefork" ? ["StartServers 4", "MinSpareServers 4", "MaxSpareServers 12", "MaxRequestWorkers 40"] : []),
    ...(mode === "event" ? ["StartServers 2", "ThreadsPerChild 25", "MaxRequestWorkers 100", "ServerLimit 4"] : []),
    "KeepAlive On",
    `DocumentRoot ${dir}/htdocs`,
    `<Directory ${dir}/htdocs>`,
    "  Require all granted",
    "</Directory>",
    "",
  ].join("\n");
}

export async function apacheScenario(ctx: ScenarioContext, name: string, mode: ApacheMode, port: number): Promise<string> {
  const dir = join(ctx.dir, name);
  mkdirSync(join(dir, "htdocs"), { recursive: true });
  const body = new Uint8Array(BODY_BYTES);
  crypto.getRandomValues(body.subarray(0, 65_536));
  crypto.getRandomValues(body.subarray(65_536));
  writeFileSync(join(dir, "htdocs", "big.bin"), body);
  const sum = new Bun.CryptoHasher("sha256").update(body).digest("hex");
  const conf = join(dir, "httpd.conf");
  writeFileSync(conf, config(dir, port, mode));
  await ctx.outside(["chown", "-R", "ztnc-test:ztnc-test", dir]);
  const syntax = await ctx.inside(["apache2", "-f", conf, "-t"], { allowFail: true });
  if (syntax.code !== 0) throw new Error(`apache2 -t: ${(syntax.err + syntax.out).trim().slice(-300)}`);

  // In its own session: at an ungraceful stop (SIGTERM) prefork and event signal their whole process
  // group (ap_unixd_killpg(getpgrp(), SIGTERM)), and not detached (-DFOREGROUND) that group is the
  // runner's, where the container's service runs as the same user: it would be stopped too.
  // (setsid execs in place: the pid stays apache's.)
  const argv = ["setsid", "apache2", "-f", conf, mode === "x" ? "-X" : "-DFOREGROUND"];
  const server = ctx.spawnInside("httpd", argv);
  const errorLog = join(dir, "error.log");
  const url = `http://${ctx.insideIp}:${port}/big.bin`;
  try {
    await ctx.waitFor(`apache2 (${mode}) inside answering`, async () => {
      if (server.exitCode !== null) {
        const log = existsSync(errorLog) ? readFileSync(errorLog, "utf8").trim().slice(-300) : "";
        throw new Error(`apache2 exited ${server.exitCode} before answering: ${log}`);
      }
      const r = await ctx.outside(["curl", "-s", "-o", "/dev/null", "-m", "2", "-w", "%{http_code}", url], { allowFail: true });
      return r.out.trim() === "200" ? true : null;
    }, 30_000);

    const t0 = performance.now();
    const r = await ctx.outside(
      ["sh", "-c", `seq ${REQUESTS} | xargs -P ${CONCURRENCY} -I{} curl -s -o /dev/null -m 20 -w "%{http_code} %{size_download}\\n" "${url}?n={}"`],
      { timeoutMs: 300_000, allowFail: true },
    );
    const seconds = (performance.now() - t0) / 1000;
    const lines = r.out.trim().split("\n").filter((l) => l !== "");
    const good = lines.filter((l) => l === `200 ${BODY_BYTES}`).length;
    if (lines.length !== REQUESTS || good !== REQUESTS) {
      const bad = new Map<string, number>();
      for (const l of lines) if (l !== `200 ${BODY_BYTES}`) bad.set(l, (bad.get(l) ?? 0) + 1);
      const shown = [...bad].map(([k, v]) => `"${k}"×${v}`).join(", ");
      throw new Error(`${good}/${REQUESTS} requests 200 with ${BODY_BYTES} bytes (${lines.length} answered); others: ${shown}`);
    }
    // the bytes themselves, not only their count
    const h = await ctx.outside(["sh", "-c", `seq 40 | xargs -P 10 -I{} sh -c 'curl -s -m 20 "${url}?h={}" | sha256sum'`], { timeoutMs: 120_000, allowFail: true });
    const sums = h.out.trim().split("\n").map((l) => l.split(" ")[0]);
    const wrong = sums.filter((s) => s !== sum).length;
    if (sums.length !== 40 || wrong > 0) throw new Error(`sha256 of the body: ${40 - wrong}/40 match (${sums.length} read)`);
    if (server.exitCode !== null) throw new Error(`apache2 exited ${server.exitCode} during the run`);
    // master and children: every process running this configuration (in the container's pid namespace)
    const procs = await ctx.inside(["pgrep", "-f", `apache2 -f ${conf}`], { allowFail: true });
    const n = procs.out.trim().split("\n").filter((l) => l !== "").length;
    return `${REQUESTS} × 200 (${BODY_BYTES} B) from ${CONCURRENCY} curls, ${(REQUESTS / seconds).toFixed(0)} req/s, ${((REQUESTS * BODY_BYTES) / seconds / 1e6).toFixed(1)} MB/s; 40 sha256 intact; ${n} apache2 process${n > 1 ? "es" : ""}`;
  } finally {
    server.kill("SIGTERM");
    await Promise.race([server.exited, Bun.sleep(5000)]);
    if (server.exitCode === null) {
      // a master that did not stop: it and its children, so none keeps the port
      await ctx.inside(["pkill", "-KILL", "-f", `apache2 -f ${conf}`], { allowFail: true });
      server.kill("SIGKILL");
      await server.exited;
    }
  }
}

export const apacheXScenario: Scenario = {
  name: "apache-x",
  needs: ["apache2", "curl"],
  run: (ctx) => apacheScenario(ctx, "apache-x", "x", 18090),
};
