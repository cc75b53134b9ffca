#!/usr/bin/env bun
/**
 * Builds libzerotierintercept.so (the LD_PRELOAD half of network containers) with the system C
 * compiler: `bun intercept/build.ts [--asan] [--out DIR] [--force]`.
 *
 * `ensureInterceptLibrary()` is what the launcher and the tests call: it compiles only when a
 * source is newer than the library, into a temporary file renamed into place, so concurrent
 * callers never load a half-written library.
 */
import { defineCommand, runMain } from "citty";
import { consola } from "consola";
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { buildSharedLibrary, CBuildError } from "../ffi/c-build.ts";

export const INTERCEPT_DIR: string = import.meta.dir;
export const DEFAULT_OUT_DIR: string = join(INTERCEPT_DIR, "build");
export const LIBRARY_NAME = "libzerotierintercept.so";
export const ASAN_LIBRARY_NAME = "libzerotierintercept-asan.so";

/** The flags every build uses. -fvisibility=hidden: only the hooks are exported, so the
 * library's internal names can never collide with, or be interposed by, a program's. */
export const CFLAGS: readonly string[] = [
  "-O2",
  "-g",
  "-fPIC",
  "-shared",
  "-Wall",
  "-Wextra",
  "-Werror",
  "-std=gnu11",
  "-D_GNU_SOURCE",
  "-pthread",
  "-fvisibility=hidden",
];
export const ASAN_CFLAGS: readonly string[] = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer"];

export interface BuildOptions {
  /** Build the AddressSanitizer+UBSan variant (a separate file). */
  asan?: boolean;
  /** Output directory (default intercept/build). */
  outDir?: string;
  /** Rebuild even when the library is up to date. */
  force?: boolean;
  /** C compiler (default $CC or cc). */
  cc?: string;
}

export class InterceptBuildError extends Error {
  override name = "InterceptBuildError";
}

/** The C sources and headers of the library. */
export function interceptSources(): { sources: string[]; headers: string[] } {
  const names = readdirSync(INTERCEPT_DIR).sort();
  return {
    sources: names.filter((n) => n.endsWith(".c")).map((n) => join(INTERCEPT_DIR, n)),
    headers: names.filter((n) => n.endsWith(".h")).map((n) => join(INTERCEPT_DIR, n)),
  };
}

/** Path of the library, compiled first if missing or older than a source. Synchronous. */
export function ensureInterceptLibrary(opts: BuildOptions = {}): string {
  const outDir = resolve(opts.outDir ?? DEFAULT_OUT_DIR);
  const out = join(outDir, opts.asan === true ? ASAN_LIBRARY_NAME : LIBRARY_NAME);
  const { sources, headers } = interceptSources();
  if (sources.length === 0) throw new InterceptBuildError(`no C sources in ${INTERCEPT_DIR}`);
  const flags = [...CFLAGS, ...(opts.asan === true ? ASAN_CFLAGS : [])];
  try {
    return buildSharedLibrary({ out, sources, headers, flags, libs: ["-ldl"], force: opts.force, cc: opts.cc });
  } catch (e) {
    if (e instanceof CBuildError) throw new InterceptBuildError(e.message);
    throw e;
  }
}

/**
 * The sanitizer runtimes an ASan build needs first in LD_PRELOAD when the program itself is not
 * instrumented (ASan refuses to start otherwise).
 */
export function asanRuntimePreload(cc: string = process.env.CC ?? "cc"): string[] {
  return ["libasan.so", "libubsan.so"].map((name) => {
    const r = Bun.spawnSync([cc, `-print-file-name=${name}`], { stdout: "pipe" });
    const path = r.stdout.toString().trim();
    if (r.exitCode !== 0 || !path.startsWith("/") || !existsSync(path)) {
      throw new InterceptBuildError(`${cc} does not know where ${name} is`);
    }
    return path;
  });
}

const main = defineCommand({
  meta: { name: "build", description: `Build ${LIBRARY_NAME} with the system C compiler` },
  args: {
    asan: { type: "boolean", description: "build the AddressSanitizer+UBSan variant", default: false },
    out: { type: "string", description: "output directory", default: DEFAULT_OUT_DIR },
    force: { type: "boolean", description: "rebuild even when up to date", default: false },
  },
  run({ args }) {
    try {
      const path = ensureInterceptLibrary({ asan: args.asan, outDir: args.out, force: args.force });
      consola.success(path);
    } catch (e) {
      if (!(e instanceof InterceptBuildError)) throw e;
      consola.error(e.message);
      process.exit(1);
    }
  },
});

if (import.meta.main) await runMain(main);
