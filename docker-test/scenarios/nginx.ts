/**
 * nginx inside, unprivileged: master + 2 workers with the default epoll, with `accept_mutex on`,
 * and with `reuseport` (the original project's BROKEN row); 2,000 requests from 20 concurrent
 * clients outside, all 200 with the whole body.
 */
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Scenario } from "../scenario.ts";
import { loadFromOutside, waitListening } from "./common.ts";

const BODY = "nginx in a network container\n".repeat(100);

function variant(name: string, port: number, events: string, listen: string): Scenario {
  return {
    name,
    needs: ["nginx", "curl"],
    async run(ctx) {
      const d = join(ctx.dir, name);
      mkdirSync(join(d, "www"), { recursive: true, mode: 0o777 });
      writeFileSync(join(d, "www", "index.html"), BODY);
      writeFileSync(join(d, "nginx.conf"), [
        "daemon off;",
        "worker_processes 2;",
        `pid ${d}/nginx.pid;`,
        `error_log ${d}/error.log info;`,
        `events { worker_connections 1024; ${events} }`,
        "http {",
        `  access_log ${d}/access.log;`,
        ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `  ${t}_temp_path ${d}/${t};`),
        `  server { listen ${port}${listen}; root ${d}/www; }`,
        "}",
        "",
      ].join("\n"));
      for (const f of ["www/index.html", "nginx.conf"]) chmodSync(join(d, f), 0o666);
      chmodSync(d, 0o777);
      ctx.spawnInside("nginx", ["nginx", "-c", join(d, "nginx.conf"), "-e", join(d, "error.log")]);
      await waitListening(ctx, "inside", port);
      return await loadFromOutside(ctx, `http://${ctx.insideIp}:${port}/index.html`, BODY.length);
    },
  };
}

export const nginxScenarios: Scenario[] = [
  variant("nginx", 8501, "", ""),
  variant("nginx-accept-mutex", 8502, "accept_mutex on;", ""),
  variant("nginx-reuseport", 8503, "", " reuseport"),
];
