#!/usr/bin/env bun
/**
 * zerotier-cli: drives a running zerotier-netcon-service (or zerotier-one) through its local API.
 * Accepts zerotier-cli's own flag style (-D<home> -p<port> -T<token> -H<ip> -j) as well as
 * long options, so scripts written for the original work unchanged.
 */
import { defineCommand, runMain } from "citty";
import { VERSION_STRING } from "../version.ts";
import { CliUsageError, resolveTarget } from "./zerotier-cli/client.ts";
import { runCommand } from "./zerotier-cli/run.ts";

const DEFAULT_HOME = process.env.ZEROTIER_HOME ?? "/var/lib/zerotier-one";

/** Map zerotier-cli's glued short flags onto citty's long options. */
export function normalizeArgv(argv: string[]): string[] {
  const out: string[] = [];
  for (const a of argv) {
    const m = /^-([DpTH])(.+)$/.exec(a);
    if (m) {
      const name = { D: "--home", p: "--port", T: "--token", H: "--host" }[m[1] as "D" | "p" | "T" | "H"];
      out.push(name, m[2]!);
    } else if (a === "-j") out.push("--json");
    else if (a === "-q") continue;
    else if (a === "-v") out.push("--version");
    else out.push(a);
  }
  return out;
}

const main = defineCommand({
  meta: {
    name: "zerotier-cli",
    version: VERSION_STRING,
    description: "Control a running zerotier-netcon-service. Commands: info, listpeers, peers, listnetworks, join <nwid>, leave <nwid>, listmoons, orbit <world> <seed>, deorbit <world>, /<api path>",
  },
  args: {
    command: { type: "positional", required: true, description: "command" },
    home: { type: "string", description: "home directory (-D<path>)", default: DEFAULT_HOME },
    port: { type: "string", description: "API port (-p<port>); default from zerotier-one.port" },
    token: { type: "string", description: "auth token (-T<token>); default from authtoken.secret" },
    host: { type: "string", description: "API host (-H<ip>)", default: "127.0.0.1" },
    json: { type: "boolean", description: "print JSON (-j)", default: false },
  },
  async run({ args }) {
    const rest = args._.slice(1).map(String);
    let port: number | undefined;
    if (args.port !== undefined) {
      port = Number(args.port);
      if (!Number.isInteger(port) || port <= 0 || port > 0xffff) {
        process.stderr.write(`zerotier-cli: invalid port ${args.port}\n`);
        process.exit(1);
      }
    }
    let target;
    try {
      target = resolveTarget({ home: args.home, port, token: args.token, host: args.host });
    } catch (e) {
      if (e instanceof CliUsageError) {
        process.stderr.write(`zerotier-cli: ${e.message}\n`);
        process.exit(2);
      }
      throw e;
    }
    const r = await runCommand(target, args.command, rest, args.json);
    process.stdout.write(r.out);
    process.exit(r.code);
  },
});

if (import.meta.main) {
  await runMain(main, { rawArgs: normalizeArgv(process.argv.slice(2)) });
}
