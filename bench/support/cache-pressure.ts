/**
 * Reproducible "noisy host" for latency benchmarks: one cache-pressure walker per core at nice 19
 * (bench/support/cache-pressure.c). On the shared machines here the same code pings 0.8× the real
 * pair's in a quiet hour and 1.2-1.4× in a busy one; the walkers make the busy case repeatable, so
 * a change's effect on it can be measured instead of waited for.
 */
import type { Subprocess } from "bun";
import { availableParallelism } from "node:os";
import { server } from "../netcon.ts";
import { buildCProgram } from "./c-program.ts";

/** MiB each walker touches: far beyond the last-level cache and the TLB's reach. */
export const PRESSURE_MIB = 256;

export function buildCachePressure(dir: string): string {
  return buildCProgram("cache-pressure", dir);
}

/** Runs `use` with the walkers running; they are stopped however it ends. */
export async function withCachePressure<T>(binary: string, use: () => Promise<T>): Promise<T> {
  const walkers: Subprocess[] = [];
  try {
    // each prints "ready" once its buffer is in memory and it starts walking
    for (let i = 0; i < availableParallelism(); i++) walkers.push((await server(["nice", "-n", "19", binary, String(PRESSURE_MIB)], process.env as Record<string, string>)).proc);
    return await use();
  } finally {
    for (const w of walkers) w.kill();
    await Promise.all(walkers.map((w) => w.exited));
  }
}
