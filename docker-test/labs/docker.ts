/**
 * docker-test's Docker mode: the three roles in real containers on one user-defined bridge.
 *
 * - root: our root + controller, as the unprivileged user, `--cap-drop ALL`.
 * - outside: an ordinary member with a kernel tap (`--tap`), the only container given NET_ADMIN and
 *   /dev/net/tun; the peer programs run in it as root.
 * - inside, the container under test, as the original intended: the unprivileged user,
 *   `--cap-drop ALL`, no-new-privileges, no /dev/net/tun, no host networking. Its first process is
 *   docker's init with `sleep infinity`, so the service is an ordinary process that a scenario can
 *   kill -9 and the runner can start again while the programs live on; the programs run under the
 *   launcher (`zerotier-intercept`) with the image's library. The runner checks these facts (uid,
 *   no capabilities, no tun device) before any scenario.
 *
 * The scratch directory is bind-mounted at the same path into inside and outside, so a scenario's
 * paths mean the same on the host and in both containers.
 */
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { ensureInterceptLibrary } from "../../intercept/build.ts";
import { ROOT, waitFor } from "../../test/e2e/helpers.ts";
import { type ExecResult, sh } from "../../test/e2e/netns-lab.ts";
import { compileDaemon, createContainersNetwork, makeHomes } from "../../test/support/container-lab.ts";
import type { Lab, Program, Scenario, ScenarioContext } from "../scenario.ts";
import { firstLine } from "../versions.ts";
import { buildProjectImage, CONTAINER_UID, type Engine, ensureBaseImage, ensureEngine } from "./docker-engine.ts";
import { procCpuSeconds } from "./netns.ts";
import { recorder } from "./record.ts";

const LABEL = "ztnc-dt=1";
const NETWORK = "ztnc-dt";
/** The bridge between the containers (the underlay ZeroTier's UDP crosses), and the root's address on it. */
const UNDERLAY = "10.238.0";
const ROOT_IP = `${UNDERLAY}.2`;
/** The ZeroTier network's /24. */
const SUBNET = "10.237.4";
const USER = `${CONTAINER_UID}:${CONTAINER_UID}`;
const CONTAINER = { root: "ztnc-dt-root", outside: "ztnc-dt-outside", inside: "ztnc-dt-inside" } as const;
type Role = keyof typeof CONTAINER;
/** Every service listens on the same port, each in its own container. */
const SERVICE = ["zerotier-netcon-service", "-d", "/zt", "-p", "9993"];

/** A program started with `docker exec`; its pid inside the container is in `pidFile` once it runs. */
class ContainerProgram implements Program {
  constructor(
    private readonly proc: Subprocess,
    readonly container: string,
    private readonly user: string,
    private readonly pidFile: string,
  ) {}

  get exitCode(): number | null {
    return this.proc.exitCode;
  }

  get exited(): Promise<number> {
    return this.proc.exited;
  }

  /** Its pid inside the container, or null before the wrapper wrote it. */
  pid(): number | null {
    if (!existsSync(this.pidFile)) return null;
    const n = Number(readFileSync(this.pidFile, "utf8").trim());
    return Number.isInteger(n) && n > 0 ? n : null;
  }

  /** The signal goes to the program inside (killing the docker client would leave it running). */
  kill(signal: NodeJS.Signals = "SIGTERM"): void {
    void this.signal(signal);
  }

  async signal(signal: NodeJS.Signals): Promise<void> {
    const pid = this.pid();
    if (pid === null || this.proc.exitCode !== null) return;
    await sh(["docker", "exec", "-u", this.user, this.container, "kill", "-s", signal.replace(/^SIG/, ""), String(pid)], { allowFail: true });
  }
}

export class DockerMatrixLab implements Lab {
  readonly mode = "docker";
  private nwid = "";
  private ip: Record<string, string> = {};
  private homes: Record<string, string> = {};
  private service: ContainerProgram | null = null;
  private seq = 0;

  private constructor(
    private readonly dir: string,
    private readonly work: string,
    private readonly engine: Engine,
  ) {}

  static async start(dir: string): Promise<DockerMatrixLab> {
    if (process.getuid?.() !== 0) throw new Error("docker-test (Docker mode) needs root: it starts dockerd and builds images");
    const engine = await ensureEngine(join(dir, "dockerd.log"));
    const work = join(dir, "work");
    mkdirSync(join(work, ".pids"), { recursive: true });
    chmodSync(work, 0o777);
    chmodSync(join(work, ".pids"), 0o777);
    chmodSync(dir, 0o755);
    const lab = new DockerMatrixLab(dir, work, engine);
    try {
      await lab.setUp();
    } catch (e) {
      await lab.close();
      throw e;
    }
    return lab;
  }

  private async setUp(): Promise<void> {
    await removeLeftovers();
    const base = await ensureBaseImage(this.dir);
    console.log("docker-test: building the project image (compiled daemon, library, launcher) …");
    const daemon = join(this.dir, "zerotier-netcon-service");
    await compileDaemon(daemon);
    const image = await buildProjectImage(base, { daemon, library: await ensureInterceptLibrary({}), launcher: join(ROOT, "intercept/zerotier-intercept") }, this.dir);
    await sh(["docker", "network", "create", "--label", LABEL, "--subnet", `${UNDERLAY}.0/24`, NETWORK]);

    this.homes = await makeHomes(this.dir, ["root", "outside", "inside"], `${ROOT_IP}/9993`);
    for (const r of ["root", "inside"] as const) await sh(["chown", "-R", USER, this.homes[r]!]);
    const common = ["docker", "run", "-d", "--label", LABEL, "--network", NETWORK];
    const confined = ["--user", USER, "--cap-drop", "ALL", "--security-opt", "no-new-privileges"];
    console.log("docker-test: starting root + controller, an outside member with a tap, the network container …");
    await sh([...common, "--name", CONTAINER.root, "--ip", ROOT_IP, ...confined, "-v", `${this.homes.root}:/zt`, image, ...SERVICE]);
    await sh([...common, "--name", CONTAINER.outside, "--cap-add", "NET_ADMIN", "--device", "/dev/net/tun", "-v", `${this.homes.outside}:/zt`, "-v", `${this.work}:${this.work}`, image, ...SERVICE, "--tap"]);
    await sh([...common, "--name", CONTAINER.inside, "--init", ...confined, "-v", `${this.homes.inside}:/zt`, "-v", `${this.work}:${this.work}`, image, "sleep", "infinity"]);
    await this.checkConfinement();
    this.startService();
    const net = await createContainersNetwork((n, m, p, b) => this.api(n as Role, m, p, b), this.homes.root!, ["outside", "inside"], SUBNET, ["root", "outside", "inside"]);
    this.nwid = net.nwid;
    this.ip = net.ip;
  }

  /** The container under test really is confined: its user, no capabilities, no tun device. */
  private async checkConfinement(): Promise<void> {
    const r = await sh(["docker", "exec", CONTAINER.inside, "sh", "-c", "id -u; grep CapEff /proc/self/status; test -e /dev/net/tun && echo tun || echo no-tun"]);
    const [uid, cap, tun] = r.out.trim().split("\n").map((l) => l.trim());
    if (uid !== String(CONTAINER_UID) || !/^CapEff:\s+0+$/.test(cap ?? "") || tun !== "no-tun") {
      throw new Error(`the container under test is not confined as intended: ${r.out.trim().replaceAll("\n", "; ")}`);
    }
    console.log(`docker-test: the container runs as uid ${uid}, no capabilities (${cap.replace(/\s+/, " ")}), no /dev/net/tun, on a bridge`);
  }

  private startService(): void {
    // its output goes next to the homes (kept with --keep)
    this.service = this.spawn("inside", "service", SERVICE, join(this.dir, "inside.service.log"), false);
  }

  /**
   * `docker exec` a program that writes its own pid first (sh's $$, kept by exec). Each exec is
   * already the leader of its own session, so a leading `setsid` (which the netns mode needs) is
   * dropped: here it would fork and leave the docker client waiting for nothing.
   */
  private spawn(role: Role, name: string, argv: string[], log: string, intercepted: boolean): ContainerProgram {
    const user = role === "inside" ? USER : "0:0";
    const pidFile = join(this.work, ".pids", `${role}-${name}-${++this.seq}`);
    const program = argv[0] === "setsid" ? argv.slice(1) : argv;
    const p = Bun.spawn(["docker", "exec", ...this.execFlags(role, intercepted), CONTAINER[role], "sh", "-c", 'echo $$ > "$0"; exec "$@"', pidFile, ...this.wrap(program, intercepted)], {
      stdin: "ignore",
      stdout: Bun.file(log),
      stderr: Bun.file(`${log}.err`),
    });
    return new ContainerProgram(p, CONTAINER[role], user, pidFile);
  }

  private execFlags(role: Role, intercepted: boolean): string[] {
    const f = ["-u", role === "inside" ? USER : "0:0", "-w", this.work];
    if (intercepted) f.push("-e", `ZT_NC_NWID=${this.nwid}`, "-e", "ZT_NC_HOME=/zt");
    return f;
  }

  private wrap(argv: string[], intercepted: boolean): string[] {
    return intercepted ? ["zerotier-intercept", "--", ...argv] : argv;
  }

  private async exec(role: Role, argv: string[], intercepted: boolean, timeoutMs: number): Promise<ExecResult> {
    return sh(["docker", "exec", ...this.execFlags(role, intercepted), CONTAINER[role], ...this.wrap(argv, intercepted)], { timeoutMs, allowFail: true });
  }

  /** A local-API request to a service, made with curl inside its own container. */
  private async api(role: Role, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const tokenFile = join(this.homes[role]!, "authtoken.secret");
    // the service writes its token when it starts: until then, it does not answer
    if (!existsSync(tokenFile)) return { status: 0, json: null };
    const token = readFileSync(tokenFile, "utf8").trim();
    const argv = ["docker", "exec", CONTAINER[role], "curl", "-s", "-m", "10", "-X", method, "-H", `X-ZT1-Auth: ${token}`, "-H", "Content-Type: application/json"];
    if (body !== undefined) argv.push("--data-binary", JSON.stringify(body));
    argv.push("-w", "\n%{http_code}", `http://127.0.0.1:9993${path}`);
    const r = await sh(argv, { allowFail: true });
    const nl = r.out.lastIndexOf("\n");
    if (r.code !== 0 || nl < 0) return { status: 0, json: null };
    const text = r.out.slice(0, nl);
    let json: unknown = text;
    try {
      json = JSON.parse(text);
    } catch {
      // not JSON (metrics): the text itself
    }
    return { status: Number(r.out.slice(nl + 1)), json };
  }

  context(s: Scenario, logFile: string): ScenarioContext {
    const log = (line: string): void => appendFileSync(logFile, `${line}\n`);
    const record = recorder(log);
    const logOf = (name: string): string => join(this.work, `${s.name}-${name}.log`);
    return {
      insideIp: this.ip.inside!,
      outsideIp: this.ip.outside!,
      dir: this.work,
      inside: async (argv, o) => record("inside", argv, await this.exec("inside", argv, true, o?.timeoutMs ?? 60_000), o?.allowFail),
      spawnInside: (name, argv) => this.spawn("inside", `${s.name}-${name}`, argv, logOf(name), true),
      outside: async (argv, o) => record("outside", argv, await this.exec("outside", argv, false, o?.timeoutMs ?? 60_000), o?.allowFail),
      spawnOutside: (name, argv) => this.spawn("outside", `${s.name}-${name}`, argv, logOf(name), false),
      waitFor: (what, check, ms) => waitFor(what, check, ms ?? 20_000),
      killService: async () => {
        await this.service?.signal("SIGKILL");
      },
      cpuSeconds: async (p: Program) => {
        if (!(p instanceof ContainerProgram)) throw new Error("cpuSeconds: not a program of this lab");
        const pid = p.pid();
        if (pid === null) throw new Error("cpuSeconds: the program's pid is not known yet");
        return procCpuSeconds((await sh(["docker", "exec", p.container, "cat", `/proc/${pid}/stat`])).out);
      },
      metrics: async () => String((await this.api("inside", "GET", "/metrics")).json),
      log,
    };
  }

  async ensureService(): Promise<void> {
    if (this.service !== null && this.service.exitCode === null) return;
    this.startService();
    await waitFor("the container's service back", async () => {
      const r = await this.api("inside", "GET", `/network/${this.nwid}`);
      const j = r.json as { status?: string } | null;
      return r.status === 200 && j?.status === "OK" ? true : null;
    }, 60_000);
  }

  async programVersion(argv: string[]): Promise<string> {
    const r = await this.exec("inside", argv, false, 30_000);
    return firstLine(r.out, r.err);
  }

  async hasCommand(name: string): Promise<boolean> {
    return (await this.exec("inside", ["sh", "-c", 'command -v "$0"', name], false, 30_000)).code === 0;
  }

  async close(): Promise<void> {
    for (const role of ["root", "outside"] as const) {
      const r = await sh(["docker", "logs", CONTAINER[role]], { allowFail: true });
      appendFileSync(join(this.dir, `${role}.service.log`), r.out + r.err);
    }
    await removeLeftovers();
    await this.engine.stop();
  }
}

/** Containers and the network of this or an earlier run (found by label). */
async function removeLeftovers(): Promise<void> {
  const ids = (await sh(["docker", "ps", "-aq", "--filter", `label=${LABEL}`], { allowFail: true })).out.split("\n").filter((l) => l.trim() !== "");
  if (ids.length > 0) await sh(["docker", "rm", "-f", ...ids], { allowFail: true, timeoutMs: 60_000 });
  await sh(["docker", "network", "rm", NETWORK], { allowFail: true });
}
