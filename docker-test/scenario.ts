/**
 * What a docker-test scenario is: a real program run inside a network container, its peer outside
 * (an ordinary member of the network with a kernel interface), and a check of real work — not just
 * a port that opens. A scenario throws (with what it saw) to fail; its notes go into the table.
 */
import type { ExecResult } from "../test/e2e/netns-lab.ts";

/** A long-running program a scenario started on either side. */
export interface Program {
  /** null while it runs. */
  readonly exitCode: number | null;
  readonly exited: Promise<number>;
  /** Signal the program itself (in Docker mode: inside its container, not the docker client). */
  kill(signal?: NodeJS.Signals): void;
}

export interface ScenarioContext {
  /** The container's address and the outside peer's address on the network. */
  insideIp: string;
  outsideIp: string;
  /** A scratch directory the container's unprivileged user can read and write. */
  dir: string;
  /** Run a command inside the container (unprivileged user, under the library) and wait for it. */
  inside(argv: string[], opts?: { timeoutMs?: number; allowFail?: boolean }): Promise<ExecResult>;
  /** Start a long-running program inside the container; its output goes to <dir>/<name>.log. */
  spawnInside(name: string, argv: string[]): Program;
  /** The same on the outside peer (root, kernel networking through its tap). */
  outside(argv: string[], opts?: { timeoutMs?: number; allowFail?: boolean }): Promise<ExecResult>;
  spawnOutside(name: string, argv: string[]): Program;
  /** Wait until `check` returns a value (polling a fact, never a fixed sleep). */
  waitFor<T>(what: string, check: () => Promise<T | null>, ms?: number): Promise<T>;
  /** The container's service: kill -9 it (service-death scenarios; resolves once the signal is sent) and read its metrics. */
  killService(): Promise<void>;
  /** CPU seconds (user + system) a program has used so far. */
  cpuSeconds(p: Program): Promise<number>;
  metrics(): Promise<string>;
  log(line: string): void;
}

/**
 * Where the scenarios run: network namespaces on this machine, or Docker containers. Both give the
 * same three roles (root + controller, an outside member with a kernel tap, the network container).
 */
export interface Lab {
  readonly mode: "docker" | "netns";
  context(s: Scenario, logFile: string): ScenarioContext;
  /** Bring the container's service back after a scenario killed it; resolves when it is OK again. */
  ensureService(): Promise<void>;
  /** The first line a program prints about its version, asked as the container's user inside it. */
  programVersion(argv: string[]): Promise<string>;
  /** Whether a command exists inside the container (absolute path or on PATH). */
  hasCommand(name: string): Promise<boolean>;
  close(): Promise<void>;
}

export interface Scenario {
  name: string;
  /** Commands that must exist on the machine (the runner reports a missing one as FAIL with the reason). */
  needs: string[];
  run(ctx: ScenarioContext): Promise<string>;
}
