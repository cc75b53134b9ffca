#!/usr/bin/env bun
/**
 * zerotier-netcon-service: the daemon. `bun run service -- -d <home> [-p <port>]`.
 */
// first: may exec this program again with settings Bun reads only at start-up
import "./bun-settings.ts";
import { defineCommand, runMain } from "citty";
import { consola } from "consola";
import { NETCON_VERSION } from "../version.ts";
import { Service, StartupError } from "../service/service.ts";

const main = defineCommand({
  meta: { name: "zerotier-netcon-service", version: NETCON_VERSION, description: "User-space ZeroTier node with per-network TCP/IP stacks" },
  args: {
    home: { type: "string", alias: "d", description: "home directory (identity, networks.d, authtoken.secret …)", default: process.env.ZEROTIER_HOME ?? "/var/lib/zerotier-one" },
    port: { type: "string", alias: "p", description: "UDP port and local API port (0 = pick a free one)" },
    verbose: { type: "boolean", alias: "v", description: "debug logging", default: false },
    quiet: { type: "boolean", alias: "q", description: "warnings and errors only", default: false },
    tap: { type: "boolean", description: "give each joined network a kernel tap device (root only), as zerotier-one does", default: false },
  },
  async run({ args }) {
    consola.level = args.verbose ? 4 : args.quiet ? 1 : 3;
    let port: number | undefined;
    if (args.port !== undefined) {
      port = Number(args.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        consola.error(`invalid port: ${args.port}`);
        process.exit(1);
      }
    }
    // Handlers go in before start-up, so a signal that arrives while starting still shuts down cleanly.
    let svc: Service | null = null;
    let stopping = false;
    const shutdown = async (sig: string) => {
      if (stopping) return;
      stopping = true;
      consola.info(`${sig}: shutting down`);
      await svc?.stop();
      process.exit(0);
    };
    process.on("SIGINT", () => void shutdown("SIGINT"));
    process.on("SIGTERM", () => void shutdown("SIGTERM"));
    try {
      svc = await Service.start({ home: args.home, port, tap: args.tap });
    } catch (e) {
      if (e instanceof StartupError) {
        consola.error(e.message);
        process.exit(1);
      }
      throw e;
    }
    if (stopping) await svc.stop();
  },
});

if (import.meta.main) await runMain(main);
