/**
 * Compiling a C shared library with the system compiler, only when a source is newer than the
 * library, into a temporary file renamed into place: concurrent callers (test processes, services
 * starting together) never load a half-written library. Used for the intercept library
 * (intercept/build.ts) and the AES-NI cipher (ffi/aesni.ts).
 */
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname } from "node:path";

export class CBuildError extends Error {
  override name = "CBuildError";
}

export interface SharedLibraryBuild {
  /** The library to produce. */
  out: string;
  sources: string[];
  /** Files whose change also means a rebuild (headers). */
  headers?: string[];
  /** Compiler flags (without -o, sources and libraries). */
  flags: readonly string[];
  /** Libraries to link, after the sources (e.g. -ldl). */
  libs?: readonly string[];
  /** Rebuild even when up to date. */
  force?: boolean;
  /** C compiler (default $CC or cc). */
  cc?: string;
}

function upToDate(out: string, inputs: string[]): boolean {
  if (!existsSync(out)) return false;
  const built = statSync(out).mtimeMs;
  return inputs.every((f) => statSync(f).mtimeMs <= built);
}

/** The path of the library, compiled first when missing or older than an input. Synchronous. */
export function buildSharedLibrary(b: SharedLibraryBuild): string {
  if (b.sources.length === 0) throw new CBuildError(`no C sources for ${b.out}`);
  if (b.force !== true && upToDate(b.out, [...b.sources, ...(b.headers ?? [])])) return b.out;
  mkdirSync(dirname(b.out), { recursive: true });
  const tmp = `${b.out}.${process.pid}.tmp`;
  const cc = b.cc ?? process.env.CC ?? "cc";
  const args = [cc, ...b.flags, "-o", tmp, ...b.sources, ...(b.libs ?? [])];
  let r: ReturnType<typeof Bun.spawnSync>;
  try {
    r = Bun.spawnSync(args, { stdout: "pipe", stderr: "pipe" });
  } catch (e) {
    throw new CBuildError(`cannot run ${cc}: ${(e as Error).message}`);
  }
  if (r.exitCode !== 0) {
    rmSync(tmp, { force: true });
    const text = `${r.stdout?.toString() ?? ""}${r.stderr?.toString() ?? ""}`.trim();
    throw new CBuildError(`${args.join(" ")} failed (exit ${r.exitCode}):\n${text}`);
  }
  renameSync(tmp, b.out);
  return b.out;
}
