/**
 * docker-test's --netns mode: the three roles in network namespaces on this machine
 * (test/support/container-lab.ts). The container is a netcon service run as an unprivileged user
 * with the compiled daemon and a copy of the library; its peer an ordinary member with a kernel tap.
 */
import { appendFileSync, chmodSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { waitFor } from "../../test/e2e/helpers.ts";
import { netnsPossible, sh } from "../../test/e2e/netns-lab.ts";
import { asUser, ContainerLab, CONTAINER_USER } from "../../test/support/container-lab.ts";
import type { Lab, Program, Scenario, ScenarioContext } from "../scenario.ts";
import { firstLine } from "../versions.ts";
import { recorder } from "./record.ts";

export class NetnsMatrixLab implements Lab {
  readonly mode = "netns";

  private constructor(
    private readonly cl: ContainerLab,
    private readonly work: string,
  ) {}

  static async start(dir: string): Promise<NetnsMatrixLab> {
    if (!netnsPossible()) throw new Error("docker-test --netns needs root and ip netns");
    console.log("docker-test --netns: starting root + controller, an outside member with a tap, a network container …");
    const cl = await ContainerLab.start({ dir, containers: ["inside"], prefix: "zd", subnet: "10.237.3" });
    const work = join(dir, "work");
    mkdirSync(work, { mode: 0o777 });
    chmodSync(work, 0o777);
    await sh(["chown", `${CONTAINER_USER}:${CONTAINER_USER}`, work]);
    return new NetnsMatrixLab(cl, work);
  }

  context(s: Scenario, logFile: string): ScenarioContext {
    const cl = this.cl;
    const inNs = cl.ns("inside");
    const outNs = cl.ns("outside");
    const log = (line: string): void => appendFileSync(logFile, `${line}\n`);
    const record = recorder(log);
    const logOf = (name: string): string => join(this.work, `${s.name}-${name}.log`);
    return {
      insideIp: cl.ip.inside!,
      outsideIp: cl.ip.outside!,
      dir: this.work,
      inside: async (argv, o) => record("inside", argv, await cl.lab.exec(inNs, cl.contained("inside", argv), { timeoutMs: o?.timeoutMs ?? 60_000, allowFail: true }), o?.allowFail),
      spawnInside: (name, argv) => cl.lab.spawn(inNs, cl.contained("inside", argv), logOf(name)),
      outside: async (argv, o) => record("outside", argv, await cl.lab.exec(outNs, argv, { timeoutMs: o?.timeoutMs ?? 60_000, allowFail: true }), o?.allowFail),
      spawnOutside: (name, argv) => cl.lab.spawn(outNs, argv, logOf(name)),
      waitFor: (what, check, ms) => waitFor(what, check, ms ?? 20_000),
      killService: async () => {
        cl.procs.inside?.kill("SIGKILL");
      },
      // ip netns exec, setpriv and env exec in place: the Subprocess's pid is the program's
      cpuSeconds: async (p: Program) => procCpuSeconds(readFileSync(`/proc/${(p as Subprocess).pid}/stat`, "utf8")),
      metrics: () => cl.metrics("inside"),
      log,
    };
  }

  async ensureService(): Promise<void> {
    const cl = this.cl;
    if (cl.procs.inside?.exitCode === null) return;
    cl.startContainerService("inside");
    await waitFor("the container's service back", async () => {
      const r = await cl.api("inside", "GET", `/network/${cl.nwid}`);
      const j = r.json as { status?: string } | null;
      return r.status === 200 && j?.status === "OK" ? true : null;
    }, 60_000);
  }

  async programVersion(argv: string[]): Promise<string> {
    const r = await sh(asUser(argv), { allowFail: true });
    return firstLine(r.out, r.err);
  }

  async hasCommand(name: string): Promise<boolean> {
    return (await sh(asUser(["sh", "-c", 'command -v "$0"', name]), { allowFail: true })).code === 0;
  }

  close(): Promise<void> {
    return this.cl.close();
  }
}

/** user + system CPU seconds from the text of /proc/<pid>/stat. */
export function procCpuSeconds(stat: string): number {
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(rest[11]) + Number(rest[12])) / 100;
}
