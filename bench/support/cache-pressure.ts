/**
 * Reproducible "noisy host" for latency benchmarks: one cache-pressure walker per core at nice 19
 * (bench/support/cache-pressure.c). On the shared machines here the same code pings 0.8× the real
 * pair's in a quiet hour and 1.2-1.4× in a busy one; the walkers make the busy case repeatable, so
 * a change's effect on it can be measured instead of waited for.
 */
import { availableParallelism } from "node:os";
import { join } from "node:path";

/** MiB each walker touches: far beyond the last-level cache and the TLB's reach. */
export const PRESSURE_MIB = 256;

export async function buildCachePressure(dir: string): Promise<string> {
  const out = join(dir, "cache-pressure");
  const p = Bun.spawnSync(["cc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", out, join(import.meta.dir, "cache-pressure.c")]);
  if (p.exitCode !== 0) throw new Error(`building cache-pressure: ${p.stderr.toString()}`);
  return out;
}

/** Waits for a walker's "ready" line (the stream stays open: the walker runs until killed). */
async function firstLine(out: ReadableStream<Uint8Array>): Promise<void> {
  const reader = out.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  if (!text.startsWith("ready\n")) throw new Error(`cache-pressure walker did not start: ${JSON.stringify(text)}`);
}

/** Runs `use` with the walkers running; they are stopped however it ends. */
export async function withCachePressure<T>(binary: string, use: () => Promise<T>): Promise<T> {
  const walkers = Array.from({ length: availableParallelism() }, () =>
    Bun.spawn(["nice", "-n", "19", binary, String(PRESSURE_MIB)], { stdout: "pipe", stderr: "inherit" }),
  );
  try {
    // each prints "ready" once its buffer is in memory and it starts walking
    await Promise.all(walkers.map((w) => firstLine(w.stdout)));
    return await use();
  } finally {
    for (const w of walkers) w.kill();
    await Promise.all(walkers.map((w) => w.exited));
  }
}
