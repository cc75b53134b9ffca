/**
 * Network containers in network namespaces (root only, for the namespaces): our root + controller
 * in the hub, a `--tap` service ("outside": an ordinary member with a kernel interface) in leaf 0,
 * and netcon services (no tap, no root) in leaf 1, run as an unprivileged user with the standalone
 * compiled daemon and a copy of the intercept library, as a container would run them. All join one
 * public network of the controller. Used by the e2e tests and by docker-test's --netns mode.
 */
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { ensureInterceptLibrary } from "../../intercept/build.ts";
import { idtool, ROOT, waitFor } from "../e2e/helpers.ts";
import { NetnsLab, sh, writeHome } from "../e2e/netns-lab.ts";

export const CONTAINER_USER = "ztnc-test";

export interface ContainerLabOptions {
  /** A directory the lab owns (made world-traversable so the unprivileged user can reach it). */
  dir: string;
  /** Names of the netcon services (containers), e.g. ["n1", "n2"]. */
  containers: string[];
  /** Namespace name prefix (distinct per user of the lab). */
  prefix: string;
  /** The network's IPv4 pool as "a.b.c" (a /24). */
  subnet: string;
}

interface Member {
  home: string;
  ns: string;
  port: number;
}

export class ContainerLab {
  readonly lab: NetnsLab;
  readonly homes: Record<string, string> = {};
  readonly ip: Record<string, string> = {};
  nwid = "";
  lib = "";
  daemon = "";
  uid = 0;
  readonly procs: Record<string, Subprocess> = {};
  private readonly members = new Map<string, Member>();

  private constructor(
    lab: NetnsLab,
    private readonly o: ContainerLabOptions,
  ) {
    this.lab = lab;
  }

  /** Everything up: identities, planet, services, the network, addresses. */
  static async start(o: ContainerLabOptions): Promise<ContainerLab> {
    const lab = await NetnsLab.create(2, o.prefix);
    const cl = new ContainerLab(lab, o);
    try {
      await cl.setUp();
    } catch (e) {
      await cl.close();
      throw e;
    }
    return cl;
  }

  private async setUp(): Promise<void> {
    const { dir } = this.o;
    chmodSync(dir, 0o755);
    // The unprivileged user may not be able to enter the checkout (a fresh clone in a 0700
    // directory): it runs the standalone compiled daemon and a copy of the library instead.
    const bin = join(dir, "bin");
    mkdirSync(bin, { mode: 0o755 });
    this.lib = join(bin, "libzerotierintercept.so");
    copyFileSync(await ensureInterceptLibrary({}), this.lib);
    this.daemon = join(bin, "zerotier-netcon-service");
    await compileDaemon(this.daemon);
    if ((await sh(["id", "-u", CONTAINER_USER], { allowFail: true })).code !== 0) {
      await sh(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", CONTAINER_USER]);
    }
    this.uid = Number((await sh(["id", "-u", CONTAINER_USER])).out.trim());
    const lab = this.lab;
    const names = ["root", "outside", ...this.o.containers];
    Object.assign(this.homes, await makeHomes(dir, names, `${lab.hubIp()}/9993`));
    this.members.set("root", { home: this.homes.root!, ns: lab.hub, port: 9993 });
    this.members.set("outside", { home: this.homes.outside!, ns: lab.leaves[0]!, port: 9993 });
    this.o.containers.forEach((n, i) => this.members.set(n, { home: this.homes[n]!, ns: lab.leaves[1]!, port: 9993 + i }));
    lab.startService(lab.hub, this.homes.root!, []);
    // the outside member runs the compiled daemon too: its tap reader worker is embedded there
    lab.spawn(lab.leaves[0]!, [this.daemon, "-d", this.homes.outside!, "-p", "9993", "--tap"], join(this.homes.outside!, "service.log"));
    for (const n of this.o.containers) {
      await sh(["chown", "-R", `${CONTAINER_USER}:${CONTAINER_USER}`, this.homes[n]!]);
      this.startContainerService(n);
    }
    const net = await createContainersNetwork((n, m, p, b) => this.api(n, m, p, b), this.homes.root!, ["outside", ...this.o.containers], this.o.subnet, names);
    this.nwid = net.nwid;
    Object.assign(this.ip, net.ip);
  }

  /** (Re)start a container's netcon service as the unprivileged user. */
  startContainerService(name: string): Subprocess {
    const m = this.members.get(name)!;
    // Its own session: a program that signals its whole process group (apache stopping its
    // workers) must not reach the service. setsid does not fork here (not a group leader), so
    // the pid stays the service's.
    const p = this.lab.spawn(m.ns, asUser(["setsid", this.daemon, "-d", m.home, "-p", String(m.port)]), join(this.o.dir, `${name}.service.log`));
    this.procs[name] = p;
    return p;
  }

  ns(name: string): string {
    return this.members.get(name)!.ns;
  }

  api(name: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const m = this.members.get(name)!;
    return this.lab.api(m.ns, m.home, method, path, body);
  }

  async metrics(name: string): Promise<string> {
    return String((await this.api(name, "GET", "/metrics")).json);
  }

  /** argv of a program run inside container `name` (as the unprivileged user, under the library). */
  contained(name: string, argv: string[]): string[] {
    return asUser(["env", `LD_PRELOAD=${this.lib}`, `ZT_NC_NWID=${this.nwid}`, `ZT_NC_HOME=${this.homes[name]}`, ...argv]);
  }

  async close(): Promise<void> {
    for (const p of Object.values(this.procs)) if (p.exitCode === null) p.kill("SIGKILL");
    await this.lab.close();
  }
}

/** The standalone daemon (`bun build --compile`, as package.json's build), written to `out`. */
export async function compileDaemon(out: string): Promise<void> {
  await sh([process.execPath, "build", "--compile", "--outfile", out, join(ROOT, "src/cli/service.ts"), join(ROOT, "ffi/tap-reader-worker.ts")], { timeoutMs: 180_000 });
}

export function asUser(argv: string[]): string[] {
  return ["setpriv", `--reuid=${CONTAINER_USER}`, `--regid=${CONTAINER_USER}`, "--clear-groups", "--", ...argv];
}

/** Sum of every sample of a metric matching `re` (one capture group). */
export function gauge(text: string, re: RegExp): number {
  let sum = 0;
  for (const m of text.matchAll(re)) sum += Number(m[1]);
  return sum;
}

/** A local-API call to the service called `name`: status and parsed body (text when not JSON). */
export type ApiCall = (name: string, method: string, path: string, body?: unknown) => Promise<{ status: number; json: unknown }>;

/**
 * Homes for each name under `dir` (local.conf, a fresh identity) and one private planet whose only
 * root is the first name's identity at `rootEndpoint` ("ip/port"), written into every home.
 */
export async function makeHomes(dir: string, names: string[], rootEndpoint: string): Promise<Record<string, string>> {
  const homes: Record<string, string> = {};
  const settings = { portMappingEnabled: false, allowTcpFallbackRelay: false, allowLoopbackPaths: true };
  for (const n of names) {
    homes[n] = join(dir, n);
    writeHome(homes[n]!, settings, null);
    const g = await idtool("generate", join(homes[n]!, "identity.secret"), join(homes[n]!, "identity.public"));
    if (g.code !== 0) throw new Error(`idtool generate: ${g.err}`);
  }
  const worldJson = join(dir, "world.json");
  await idtool("mkworld", "--new-signing-key", worldJson);
  const w = JSON.parse(readFileSync(worldJson, "utf8")) as Record<string, unknown>;
  w.roots = [{ identity: readFileSync(join(homes[names[0]!]!, "identity.public"), "utf8").trim(), stableEndpoints: [rootEndpoint] }];
  writeFileSync(worldJson, JSON.stringify(w));
  for (const n of names) await idtool("mkworld", worldJson, join(homes[n]!, "planet"));
  return homes;
}

/**
 * Once every service answers its API: the root's controller makes a public network with a /24 pool
 * (`subnet` as "a.b.c"), `members` join it, and each one's assigned address is awaited.
 */
export async function createContainersNetwork(api: ApiCall, rootHome: string, members: string[], subnet: string, all: string[]): Promise<{ nwid: string; ip: Record<string, string> }> {
  for (const n of all) await waitFor(`${n} API`, async () => ((await api(n, "GET", "/status")).status === 200 ? true : null), 30_000);
  const rootAddr = readFileSync(join(rootHome, "identity.public"), "utf8").slice(0, 10);
  const r = await api("root", "POST", `/controller/network/${rootAddr}______`, {
    name: "containers",
    private: false,
    ipAssignmentPools: [{ ipRangeStart: `${subnet}.10`, ipRangeEnd: `${subnet}.200` }],
    routes: [{ target: `${subnet}.0/24`, via: null }],
    v4AssignMode: { zt: true },
  });
  if (r.status !== 200) throw new Error(`network: HTTP ${r.status}`);
  const nwid = (r.json as { id: string }).id;
  for (const n of members) await api(n, "POST", `/network/${nwid}`, {});
  const ip: Record<string, string> = {};
  for (const n of members) {
    const x = await waitFor(`${n} address`, async () => {
      const j = (await api(n, "GET", `/network/${nwid}`)).json as { status: string; assignedAddresses: string[] } | null;
      return j !== null && j.status === "OK" && j.assignedAddresses.length > 0 ? j : null;
    }, 60_000);
    ip[n] = x.assignedAddresses[0]!.split("/")[0]!;
  }
  return { nwid, ip };
}
