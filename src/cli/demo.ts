#!/usr/bin/env bun
/**
 * `npm run demo`: network containers in one command, on this machine's loopback, without root.
 * A root + controller and two netcon services start, a network is created and joined, an
 * intercepted `python3 -m http.server` runs in container A and an intercepted `curl` in container
 * B fetches its page over ZeroTier. Then everything stays up until Ctrl-C (`--once`: exit).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineCommand, runMain } from "citty";
import { consola } from "consola";
import type { Subprocess } from "bun";
import { ensureInterceptLibrary } from "../../intercept/build.ts";
import { LoopbackDeployment } from "../tools/loopback-deployment.ts";

const HTTP_PORT = 8080;

function need(tool: string): string {
  const p = Bun.which(tool);
  if (p === null) throw new Error(`the demo needs ${tool} (e.g. apt-get install ${tool === "python3" ? "python3" : tool})`);
  return p;
}

async function runContained(env: Record<string, string>, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn(argv, { env, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
}

const main = defineCommand({
  meta: { name: "demo", description: "Two network containers on a private ZeroTier network, on loopback, without root" },
  args: {
    once: { type: "boolean", description: "exit after the demonstration instead of waiting for Ctrl-C", default: false },
    dir: { type: "string", description: "where the homes go (default: a new temporary directory, removed at exit)" },
    port: { type: "string", description: "first UDP/API port to try", default: "29993" },
  },
  async run({ args }) {
    // The demo's steps are its output: print them whatever NODE_ENV or CI say.
    consola.level = 3;
    const base = Number(args.port);
    if (!Number.isInteger(base) || base < 1024 || base > 64000) {
      consola.error(`--port must be an integer from 1024 to 64000, not ${args.port}`);
      process.exit(2);
    }
    let python: string;
    let curl: string;
    try {
      python = need("python3");
      curl = need("curl");
    } catch (e) {
      consola.error((e as Error).message);
      process.exit(2);
    }
    const ownDir = args.dir === undefined;
    const dir = args.dir ?? mkdtempSync(join(tmpdir(), "ztnc-demo-"));
    mkdirSync(dir, { recursive: true });
    let deployment: LoopbackDeployment | null = null;
    const programs: Subprocess[] = [];
    const cleanUp = async (): Promise<void> => {
      for (const p of programs) if (p.exitCode === null) p.kill("SIGTERM");
      await deployment?.stop();
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    };
    try {
      consola.start("1. building libzerotierintercept.so (once)");
      const lib = await ensureInterceptLibrary({});
      consola.info(`   ${lib}`);
      consola.start("2. starting a root + controller and two netcon services on 127.0.0.1 (no root, no tap)");
      deployment = await LoopbackDeployment.start({ dir, members: ["a", "b"], basePort: base, log: (l) => consola.info(`   ${l}`) });
      consola.start("3. creating a network on the root's controller");
      const nwid = await deployment.createNetwork();
      consola.info(`   network ${nwid}`);
      consola.start("4. both services join; the controller gives each an address");
      const ips = await deployment.joinAll();
      for (const [n, ip] of ips) consola.info(`   container ${n}: ${ip}  (control socket ${join(dir, n, "netcon.d", `${nwid}.rpc`)})`);
      const ipA = ips.get("a")!;
      consola.start(`5. container A: intercepted python3 -m http.server ${HTTP_PORT}`);
      const www = join(dir, "www");
      mkdirSync(www, { recursive: true });
      writeFileSync(join(www, "index.html"), `Hello from network container A (${ipA}) on ZeroTier network ${nwid}\n`);
      const server = Bun.spawn([python, "-m", "http.server", String(HTTP_PORT), "--directory", www], {
        env: deployment.containerEnv("a", lib),
        stdin: "ignore",
        stdout: Bun.file(join(dir, "http-server.log")),
        stderr: Bun.file(join(dir, "http-server.log")),
      });
      programs.push(server);
      consola.start(`6. container B: intercepted curl http://${ipA}:${HTTP_PORT}/`);
      let page: { code: number; out: string; err: string } = { code: -1, out: "", err: "" };
      const deadline = Date.now() + 20_000;
      // the server is up when a fetch succeeds; until then curl reports "connection refused"
      while (Date.now() < deadline) {
        page = await runContained(deployment.containerEnv("b", lib), [curl, "-sS", "--max-time", "5", `http://${ipA}:${HTTP_PORT}/`]);
        if (page.code === 0 || server.exitCode !== null) break;
        await Bun.sleep(200);
      }
      if (page.code !== 0) throw new Error(`curl in container B failed (exit ${page.code}): ${page.err.trim()}`);
      consola.success(`   B fetched: ${page.out.trim()}`);
      consola.box(
        [
          `Network ${nwid}: container A ${ipA}, container B ${ips.get("b")}`,
          "",
          "Try it yourself (another terminal):",
          `  ZT_NC_NWID=${nwid} ZT_NC_HOME=${join(dir, "b")} npm run intercept -- curl http://${ipA}:${HTTP_PORT}/`,
          `  npm run cli -- -D${join(dir, "a")} listnetworks`,
          `  curl -s -H "X-ZT1-Auth: $(cat ${join(dir, "a", "authtoken.secret")})" http://127.0.0.1:${deployment.members[0]!.port}/metrics | grep zt_netcon`,
        ].join("\n"),
      );
      if (args.once) {
        await cleanUp();
        process.exit(0);
      }
      consola.info("Everything keeps running; Ctrl-C stops it.");
      await new Promise<void>((resolve) => {
        process.on("SIGINT", resolve);
        process.on("SIGTERM", resolve);
      });
      await cleanUp();
      process.exit(0);
    } catch (e) {
      consola.error((e as Error).message);
      consola.info(`logs are in ${dir}`);
      for (const p of programs) if (p.exitCode === null) p.kill("SIGTERM");
      await deployment?.stop();
      process.exit(1);
    }
  },
});

if (import.meta.main) await runMain(main);
