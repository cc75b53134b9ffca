/** Helpers for end-to-end tests that run real service processes on loopback. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";

export const ROOT = join(import.meta.dir, "../..");
const bun = process.execPath;

/** A UDP+TCP port that was free a moment ago (the service binds both). */
export async function freePort(): Promise<number> {
  for (;;) {
    const s = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
    const port = s.port;
    s.close();
    try {
      const t = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
      t.stop(true);
      return port;
    } catch {
      // taken on TCP: try another
    }
  }
}

export async function run(args: string[], opts: { cwd?: string } = {}): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn([bun, ...args], { stdout: "pipe", stderr: "pipe", cwd: opts.cwd, env: process.env });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
}

export const idtool = (...args: string[]) => run([join(ROOT, "src/cli/idtool.ts"), ...args]);
export const cli = (home: string, ...args: string[]) => run([join(ROOT, "src/cli/cli.ts"), `-D${home}`, ...args]);

export function writeLocalConf(home: string, settings: Record<string, unknown>): void {
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, "local.conf"), JSON.stringify({ settings }));
}

export function startService(home: string, port: number): Subprocess<"ignore", "pipe", "pipe"> {
  return Bun.spawn([bun, join(ROOT, "src/cli/service.ts"), "-d", home, "-p", String(port)], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: process.env });
}

/** Poll `check` until it returns a value or the deadline passes. */
export async function waitFor<T>(what: string, check: () => Promise<T | null>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(100);
  }
}
