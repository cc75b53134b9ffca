/**
 * A lab of network namespaces for end-to-end tests and benchmarks that need real interfaces (root
 * only): one namespace with a bridge (where a root/controller service runs) and leaf namespaces
 * attached to it by veth pairs, addresses 10.231.<n>.0/24 inside our namespaces only. Services run
 * as separate processes with `ip netns exec`. close() kills what it started and deletes the
 * namespaces (and with them every tap and veth inside).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { ROOT } from "./helpers.ts";

const bun = process.execPath;

export interface ExecResult {
  code: number;
  out: string;
  err: string;
}

export async function sh(argv: string[], opts: { timeoutMs?: number; allowFail?: boolean; stdin?: Uint8Array } = {}): Promise<ExecResult> {
  const p = Bun.spawn(argv, { stdin: opts.stdin ?? "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => p.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  if (code !== 0 && !opts.allowFail) throw new Error(`${argv.join(" ")} exited ${code}: ${err.trim()}`);
  return { code, out, err };
}

export function netnsPossible(): boolean {
  return process.platform === "linux" && process.getuid?.() === 0 && Bun.spawnSync(["ip", "netns", "list"]).exitCode === 0;
}

/** Remove namespaces of earlier runs whose process is gone. */
async function sweep(prefix: string): Promise<void> {
  const list = await sh(["ip", "netns", "list"], { allowFail: true });
  for (const line of list.out.split("\n")) {
    const m = new RegExp(`^(${prefix}(\\d+)[a-z]\\w*)`).exec(line.trim());
    if (m === null || Number(m[2]) === process.pid) continue;
    let alive = true;
    try {
      process.kill(Number(m[2]), 0);
    } catch {
      alive = false;
    }
    if (!alive) await sh(["ip", "netns", "del", m[1]!], { allowFail: true });
  }
}

export class NetnsLab {
  readonly hub: string;
  readonly leaves: string[] = [];
  readonly subnet: number;
  private readonly procs: Subprocess[] = [];

  private constructor(readonly id: string) {
    this.hub = `${id}h`;
    this.subnet = 1 + (process.pid % 200);
  }

  /** The hub namespace with a bridge at 10.231.<subnet>.1 and `n` leaves at .2, .3, … */
  static async create(n: number, prefix = "zl"): Promise<NetnsLab> {
    await sweep(prefix);
    const lab = new NetnsLab(`${prefix}${process.pid}`);
    try {
      await lab.setUp(n);
    } catch (e) {
      await lab.close();
      throw e;
    }
    return lab;
  }

  hubIp(): string {
    return `10.231.${this.subnet}.1`;
  }

  leafIp(i: number): string {
    return `10.231.${this.subnet}.${i + 2}`;
  }

  private async setUp(n: number): Promise<void> {
    const h = this.hub;
    await sh(["ip", "netns", "add", h]);
    await sh(["ip", "-n", h, "link", "set", "lo", "up"]);
    await sh(["ip", "-n", h, "link", "add", "br0", "type", "bridge"]);
    await sh(["ip", "-n", h, "link", "set", "br0", "up"]);
    await sh(["ip", "-n", h, "addr", "add", `${this.hubIp()}/24`, "dev", "br0"]);
    for (let i = 0; i < n; i++) {
      const ns = `${this.id}l${i}`;
      await sh(["ip", "netns", "add", ns]);
      this.leaves.push(ns);
      await sh(["ip", "-n", ns, "link", "set", "lo", "up"]);
      await sh(["ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", `v${i}`, "netns", h]);
      await sh(["ip", "-n", h, "link", "set", `v${i}`, "master", "br0"]);
      await sh(["ip", "-n", h, "link", "set", `v${i}`, "up"]);
      await sh(["ip", "-n", ns, "link", "set", "eth0", "up"]);
      await sh(["ip", "-n", ns, "addr", "add", `${this.leafIp(i)}/24`, "dev", "eth0"]);
    }
  }

  exec(ns: string, argv: string[], opts: { timeoutMs?: number; allowFail?: boolean; stdin?: Uint8Array } = {}): Promise<ExecResult> {
    return sh(["ip", "netns", "exec", ns, ...argv], opts);
  }

  spawn(ns: string, argv: string[], log?: string): Subprocess {
    // env: the current process.env (a bench may have set ZT_NC_STAGE_TIMING after start-up)
    const p = Bun.spawn(["ip", "netns", "exec", ns, ...argv], { stdin: "ignore", stdout: log ? Bun.file(log) : "ignore", stderr: log ? Bun.file(`${log}.err`) : "ignore", env: process.env });
    this.procs.push(p);
    return p;
  }

  /** Start our service in a namespace (home prepared by the caller). */
  startService(ns: string, home: string, args: string[] = []): Subprocess {
    return this.spawn(ns, [bun, join(ROOT, "src/cli/service.ts"), "-d", home, "-p", "9993", ...args], join(home, "service.log"));
  }

  /** A local-API request to the service with this home, from inside its namespace. */
  async api(ns: string, home: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const argv = [bun, join(ROOT, "test/e2e/api-call.ts"), home, method, path];
    if (body !== undefined) argv.push(JSON.stringify(body));
    const r = await this.exec(ns, argv, { allowFail: true });
    const nl = r.out.indexOf("\n");
    if (nl < 0) return { status: 0, json: null };
    let json: unknown = null;
    try {
      json = JSON.parse(r.out.slice(nl + 1));
    } catch {
      json = r.out.slice(nl + 1);
    }
    return { status: Number(r.out.slice(0, nl)), json };
  }

  /** Kill what we started (SIGTERM first so services remove their taps), delete the namespaces. */
  async close(): Promise<void> {
    for (const p of this.procs) if (p.exitCode === null) p.kill("SIGTERM");
    await Promise.race([Promise.all(this.procs.map((p) => p.exited)), Bun.sleep(3000)]);
    for (const p of this.procs) if (p.exitCode === null) p.kill("SIGKILL");
    for (const ns of [...this.leaves, this.hub]) {
      // processes we did not start directly (children of ip netns exec) die with SIGKILL here
      const pids = await sh(["ip", "netns", "pids", ns], { allowFail: true });
      for (const pid of pids.out.split("\n").filter((x) => /^\d+$/.test(x))) {
        try {
          process.kill(Number(pid), "SIGKILL");
        } catch {
          // already gone
        }
      }
      await sh(["ip", "netns", "del", ns], { allowFail: true });
    }
  }
}

export function writeHome(home: string, settings: Record<string, unknown>, planet: Uint8Array | null): void {
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, "local.conf"), JSON.stringify({ settings }));
  if (planet !== null) writeFileSync(join(home, "planet"), planet);
}
