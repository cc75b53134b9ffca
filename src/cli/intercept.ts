#!/usr/bin/env bun
/**
 * zerotier-intercept: run an unmodified program with its TCP/IPv4 sockets on a ZeroTier network
 * served by zerotier-netcon-service (network containers).
 *
 *   ZT_NC_NWID=<16 hex> [ZT_NC_HOME=<service home>] zerotier-intercept [options] [--] program args…
 *
 * Builds libzerotierintercept.so when needed, appends it to LD_PRELOAD, runs the program with
 * this process's stdio, forwards SIGINT/SIGTERM/SIGHUP, and exits with the program's status
 * (128 + signal number when a signal ended it). Options must come before the program; everything
 * from the program's name on is the program's.
 */
import { defineCommand, runMain } from "citty";
import { consola } from "consola";
import { constants } from "node:os";
import type { Subprocess } from "bun";
import { InterceptBuildError, asanRuntimePreload, ensureInterceptLibrary } from "../../intercept/build.ts";

const NWID_RE = /^[0-9a-fA-F]{16}$/;

/** Splits argv into the launcher's own options and the program's command line. */
export function splitArgv(argv: readonly string[]): { own: string[]; program: string[] } {
  const dashes = argv.indexOf("--");
  const firstPositional = argv.findIndex((a) => !a.startsWith("-"));
  const cut = dashes >= 0 && (firstPositional < 0 || dashes < firstPositional) ? dashes : firstPositional;
  if (cut < 0) return { own: [...argv], program: [] };
  const skip = argv[cut] === "--" ? 1 : 0;
  return { own: argv.slice(0, cut), program: argv.slice(cut + skip) };
}

/** LD_PRELOAD with `libs` appended (the kernel-side loader accepts spaces or colons). */
export function appendPreload(current: string | undefined, libs: readonly string[]): string {
  const existing = (current ?? "").split(/[\s:]+/).filter((s) => s.length > 0);
  return [...existing, ...libs.filter((l) => !existing.includes(l))].join(" ");
}

/** Exit status of a finished child as a shell reports it. */
export function exitStatus(code: number | null, signal: string | number | null): number {
  if (code !== null) return code;
  if (typeof signal === "number") return 128 + signal;
  const n = signal !== null ? (constants.signals as Record<string, number | undefined>)[signal] : undefined;
  return 128 + (n ?? 0);
}

let programArgv: string[] = [];

function spawnProgram(argv: string[], env: Record<string, string | undefined>): Subprocess {
  try {
    return Bun.spawn(argv, { stdio: ["inherit", "inherit", "inherit"], env });
  } catch (e) {
    consola.error(`cannot run ${argv[0]}: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(127);
  }
}

const main = defineCommand({
  meta: {
    name: "zerotier-intercept",
    description:
      "Run a program with its TCP sockets on a ZeroTier network: ZT_NC_NWID=<16 hex> [ZT_NC_HOME=<service home>] zerotier-intercept [--asan] [--] program args…",
  },
  args: {
    asan: { type: "boolean", description: "use the AddressSanitizer build of the library", default: false },
  },
  async run({ args }) {
    const nwid = process.env.ZT_NC_NWID;
    if (nwid === undefined || !NWID_RE.test(nwid)) {
      consola.error(
        nwid === undefined
          ? "ZT_NC_NWID is not set: set it to the 16-hex-digit id of the network the program should use"
          : `ZT_NC_NWID=${JSON.stringify(nwid)} is not a network id (16 hex digits)`,
      );
      process.exit(2);
    }
    if (programArgv.length === 0) {
      consola.error("no program given: zerotier-intercept [--asan] [--] program args…");
      process.exit(2);
    }
    let preload: string[];
    try {
      const lib = ensureInterceptLibrary({ asan: args.asan });
      preload = args.asan ? [...asanRuntimePreload(), lib] : [lib];
    } catch (e) {
      if (!(e instanceof InterceptBuildError)) throw e;
      consola.error(`cannot build the intercept library: ${e.message}`);
      process.exit(2);
    }
    const env = { ...process.env, LD_PRELOAD: appendPreload(process.env.LD_PRELOAD, preload), ZT_NC_NWID: nwid.toLowerCase() };
    const child = spawnProgram(programArgv, env);
    const forward = (sig: NodeJS.Signals): void => {
      child.kill(sig);
    };
    const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
    for (const s of signals) process.on(s, forward);
    await child.exited;
    for (const s of signals) process.off(s, forward);
    process.exit(exitStatus(child.exitCode, child.signalCode));
  },
});

if (import.meta.main) {
  const { own, program } = splitArgv(process.argv.slice(2));
  programArgv = program;
  await runMain(main, { rawArgs: own });
}
