/**
 * The benchmarks' small C programs (bench/support/*.c), built with the system compiler into a
 * directory of the run's: one place for the flags (warnings are errors, as for the intercept library).
 */
import { join } from "node:path";

/** Builds bench/support/<name>.c into <dir>/<name>; returns the program's path or throws the compiler's message. */
export function buildCProgram(name: string, dir: string): string {
  const out = join(dir, name);
  const p = Bun.spawnSync(["cc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", out, join(import.meta.dir, `${name}.c`)]);
  if (p.exitCode !== 0) throw new Error(`building ${name}: ${p.stderr.toString()}`);
  return out;
}
