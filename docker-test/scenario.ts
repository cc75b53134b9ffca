/**
 * What a docker-test scenario is: a real program run inside a network container, its peer outside
 * (an ordinary member of the network with a kernel interface), and a check of real work — not just
 * a port that opens. A scenario throws (with what it saw) to fail; its notes go into the table.
 */
import type { Subprocess } from "bun";
import type { ExecResult } from "../test/e2e/netns-lab.ts";

export interface ScenarioContext {
  /** The container's address and the outside peer's address on the network. */
  insideIp: string;
  outsideIp: string;
  /** A scratch directory the container's unprivileged user can read and write. */
  dir: string;
  /** Run a command inside the container (unprivileged user, under the library) and wait for it. */
  inside(argv: string[], opts?: { timeoutMs?: number; allowFail?: boolean }): Promise<ExecResult>;
  /** Start a long-running program inside the container; its output goes to <dir>/<name>.log. */
  spawnInside(name: string, argv: string[]): Subprocess;
  /** The same on the outside peer (root, kernel networking through its tap). */
  outside(argv: string[], opts?: { timeoutMs?: number; allowFail?: boolean }): Promise<ExecResult>;
  spawnOutside(name: string, argv: string[]): Subprocess;
  /** Wait until `check` returns a value (polling a fact, never a fixed sleep). */
  waitFor<T>(what: string, check: () => Promise<T | null>, ms?: number): Promise<T>;
  /** The container's service: kill -9 it (service-death scenarios) and read its metrics. */
  killService(): void;
  metrics(): Promise<string>;
  log(line: string): void;
}

export interface Scenario {
  name: string;
  /** Commands that must exist on the machine (the runner reports a missing one as FAIL with the reason). */
  needs: string[];
  run(ctx: ScenarioContext): Promise<string>;
}
