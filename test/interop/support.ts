/**
 * What every interop check file shares: the report the runner hands them, assertions, and nodes in a
 * NetnsLab that are either our service or a real zerotier-one (the binary the user has, never part
 * of this project). Both kinds are driven the same way: their local JSON API (the same routes), and
 * each one's own CLI where the claim is about what a CLI prints.
 */
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { idtool, ROOT, run, waitFor } from "../e2e/helpers.ts";
import { type ExecResult, type NetnsLab, sh, writeHome } from "../e2e/netns-lab.ts";

/** Handed to each check file by the runner. */
export interface Interop {
  /** The real zerotier-one binary (also its CLI with -q and its idtool with -i). */
  zt: string;
  /** A fresh scratch directory for this check file (kept when a check fails). */
  tmp: string;
  /** Run one check: it passes when `fn` returns (a returned string is printed after it) and fails when it throws. */
  check(name: string, fn: () => Promise<string | void>): Promise<boolean>;
}

export function must(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

/** waitFor whose timeout message says what was last seen (probes call `saw`). */
export async function until<T>(what: string, probe: (saw: (s: string) => void) => Promise<T | null>, ms = 60_000): Promise<T> {
  let last = "";
  try {
    return await waitFor(what, () => probe((s) => void (last = s)), ms);
  } catch (e) {
    throw new Error(`${(e as Error).message}${last ? ` (last seen: ${last})` : ""}`);
  }
}

/** Never let a node look for UPnP, a secondary port or ZeroTier's TCP relay. */
export const SETTINGS = { portMappingEnabled: false, allowTcpFallbackRelay: false, allowSecondaryPort: false };

const bun = process.execPath;
export const ourIdtool = idtool;
export const realIdtool = (zt: string, ...args: string[]): Promise<ExecResult> => sh([zt, "-i", ...args], { allowFail: true });

/** Signed planet (made by our mkworld) whose roots are these public identities at these endpoints. */
export async function makePlanet(dir: string, name: string, roots: { identity: string; endpoint: string }[]): Promise<string> {
  const json = join(dir, `${name}.json`);
  must((await idtool("mkworld", "--new-signing-key", json)).code === 0, "our mkworld --new-signing-key failed");
  const w = JSON.parse(readFileSync(json, "utf8")) as Record<string, unknown>;
  w.roots = roots.map((r) => ({ identity: r.identity, stableEndpoints: [r.endpoint] }));
  writeFileSync(json, JSON.stringify(w));
  const out = join(dir, `${name}.planet`);
  const r = await idtool("mkworld", json, out);
  must(r.code === 0, `our mkworld failed: ${r.err.trim()}`);
  return out;
}

/** Our moon (initmoon + genmoon) whose one root is this identity at this endpoint; returns the .moon file and its 10-hex ID. */
export async function makeMoon(dir: string, identityPublic: string, endpoint: string): Promise<{ file: string; id: string }> {
  const init = await idtool("initmoon", identityPublic);
  must(init.code === 0, `our initmoon failed: ${init.err.trim()}`);
  const def = JSON.parse(init.out) as { id: string; roots: { stableEndpoints: string[] }[] };
  def.roots[0]!.stableEndpoints = [endpoint];
  const json = join(dir, "moon.json");
  writeFileSync(json, JSON.stringify(def));
  const gen = await run([join(ROOT, "src/cli/idtool.ts"), "genmoon", json], { cwd: dir });
  must(gen.code === 0, `our genmoon failed: ${gen.err.trim()}`);
  return { file: join(dir, `${def.id.padStart(16, "0")}.moon`), id: def.id };
}

export interface PathJson {
  address: string;
  active: boolean;
  expired: boolean;
  preferred: boolean;
}
export interface PeerJson {
  address: string;
  version: string;
  role: string;
  paths: PathJson[];
}
export interface NetJson {
  id: string;
  status: string;
  assignedAddresses: string[];
  portDeviceName: string;
}
export interface MoonJson {
  id: string;
  waiting: boolean;
  roots: { identity: string; stableEndpoints: string[] }[];
}

/** A node in a lab namespace: our service or a real zerotier-one. Its home is prepared at construction. */
export class ZtNode {
  readonly address: string;
  readonly identity: string;

  private constructor(
    readonly kind: "ours" | "real",
    readonly lab: NetnsLab,
    readonly ns: string,
    readonly home: string,
    private readonly zt: string,
  ) {
    this.identity = readFileSync(join(home, "identity.public"), "utf8").trim();
    this.address = this.identity.slice(0, 10);
  }

  /** Home with local.conf and an identity made by the node's own idtool. */
  static async prepare(kind: "ours" | "real", lab: NetnsLab, ns: string, home: string, zt: string): Promise<ZtNode> {
    writeHome(home, SETTINGS, null);
    const secret = join(home, "identity.secret");
    const pub = join(home, "identity.public");
    const r = kind === "ours" ? await idtool("generate", secret, pub) : await realIdtool(zt, "generate", secret, pub);
    must(r.code === 0, `${kind} idtool generate failed: ${r.err.trim()}`);
    return new ZtNode(kind, lab, ns, home, zt);
  }

  get name(): string {
    return `${this.kind === "ours" ? "our node" : "real node"} ${this.address}`;
  }

  usePlanet(planet: string): void {
    copyFileSync(planet, join(this.home, "planet"));
  }

  /** Start it; `tap` only means something for ours (a real node always has taps). */
  async start(opts: { tap?: boolean } = {}): Promise<void> {
    if (this.kind === "ours") this.lab.startService(this.ns, this.home, opts.tap ? ["--tap"] : []);
    else this.lab.spawn(this.ns, [this.zt, this.home], join(this.home, "zt.log"));
    await until(`${this.name}'s API`, async () => ((await this.api("GET", "/status")).status === 200 ? true : null), 30_000);
  }

  api(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    return this.lab.api(this.ns, this.home, method, path, body);
  }

  /** The node's own zerotier-cli (ours: src/cli/cli.ts; real: zerotier-one -q). */
  cli(...args: string[]): Promise<ExecResult> {
    const argv = this.kind === "ours" ? [bun, join(ROOT, "src/cli/cli.ts"), `-D${this.home}`, ...args] : [this.zt, "-q", `-D${this.home}`, ...args];
    return this.lab.exec(this.ns, argv, { allowFail: true });
  }

  async waitOnline(ms = 60_000): Promise<void> {
    await until(`${this.name} ONLINE`, async (saw) => {
      const info = (await this.cli("info")).out.trim();
      saw(info);
      return / ONLINE$/.test(info) ? true : null;
    }, ms);
  }

  async peers(): Promise<PeerJson[]> {
    const r = await this.api("GET", "/peer");
    return r.status === 200 ? (r.json as PeerJson[]) : [];
  }

  async peer(address: string): Promise<PeerJson | null> {
    return (await this.peers()).find((p) => p.address === address) ?? null;
  }

  async moons(): Promise<MoonJson[]> {
    const r = await this.api("GET", "/moon");
    return r.status === 200 ? (r.json as MoonJson[]) : [];
  }

  async network(nwid: string): Promise<NetJson | null> {
    const r = await this.api("GET", `/network/${nwid}`);
    return r.status === 200 ? (r.json as NetJson) : null;
  }

  async join(nwid: string): Promise<void> {
    const r = await this.cli("join", nwid);
    must(r.code === 0 && r.out.includes("200 join OK"), `${this.name}: join ${nwid}: ${r.out.trim()} ${r.err.trim()}`);
  }

  /** Wait until the network is in this status; returns its JSON. */
  async waitStatus(nwid: string, status: string, ms = 60_000): Promise<NetJson> {
    return until(`${this.name} ${status} on ${nwid}`, async (saw) => {
      const n = await this.network(nwid);
      saw(n === null ? "no network" : n.status);
      return n !== null && n.status === status ? n : null;
    }, ms);
  }

  /**
   * Wait for status OK with an address in `prefix` on a tap that carries it (with `onTap: false`: our
   * node in network-container mode, whose address lives in its stack); returns the address.
   */
  async waitAddress(nwid: string, prefix: string, opts: { onTap?: boolean; ms?: number } = {}): Promise<string> {
    return until(`${this.name}'s address on ${nwid}`, async (saw) => {
      const n = await this.network(nwid);
      saw(n === null ? "no network" : `${n.status} ${n.assignedAddresses.join(",")} ${n.portDeviceName}`);
      const a = n?.status === "OK" ? n.assignedAddresses.find((x) => x.startsWith(prefix)) : undefined;
      if (n === null || a === undefined) return null;
      if (opts.onTap === false) return a.split("/")[0]!;
      if (n.portDeviceName === "") return null;
      const link = await this.lab.exec(this.ns, ["ip", "-o", "-4", "addr", "show", "dev", n.portDeviceName], { allowFail: true });
      return link.out.includes(`inet ${a}`) ? a.split("/")[0]! : null;
    }, opts.ms ?? 60_000);
  }
}

/** The `listpeers` line a node's CLI prints for `address`, or "". */
export async function listpeersLine(node: ZtNode, address: string): Promise<string> {
  const r = await node.cli("listpeers");
  return r.out.split("\n").find((l) => l.startsWith(`200 listpeers ${address} `)) ?? "";
}

/** A network on `node`'s controller (ours or a real one: the same /controller API); returns its ID. */
export async function createNetwork(node: ZtNode, name: string, priv: boolean, subnet24: string): Promise<string> {
  const r = await node.api("POST", `/controller/network/${node.address}______`, {
    name,
    private: priv,
    ipAssignmentPools: [{ ipRangeStart: `${subnet24}.10`, ipRangeEnd: `${subnet24}.200` }],
    routes: [{ target: `${subnet24}.0/24`, via: null }],
    v4AssignMode: { zt: true },
  });
  const id = (r.json as { id?: string } | null)?.id ?? "";
  must(r.status === 200 && new RegExp(`^${node.address}[0-9a-f]{6}$`).test(id), `${node.name}: create network: ${r.status} ${JSON.stringify(r.json)}`);
  return id;
}

export interface MemberJson {
  authorized: boolean;
  ipAssignments: string[];
}

/** POST to a member record on `node`'s controller. */
export async function setMember(node: ZtNode, nwid: string, member: string, body: Record<string, unknown>): Promise<MemberJson> {
  const r = await node.api("POST", `/controller/network/${nwid}/member/${member}`, body);
  must(r.status === 200, `${node.name}: member ${member}: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json as MemberJson;
}

export async function getMember(node: ZtNode, nwid: string, member: string): Promise<MemberJson | null> {
  const r = await node.api("GET", `/controller/network/${nwid}/member/${member}`);
  return r.status === 200 ? (r.json as MemberJson) : null;
}

/** Our root + controller, a real node with its kernel tap, and a network container of ours, on one network. */
export interface ContainerBesideRealNode {
  P: ZtNode;
  R: ZtNode;
  N: ZtNode;
  nwid: string;
  realIp: string;
  ncIp: string;
  /** argv prefix that runs a program inside N's container (`env LD_PRELOAD=… ZT_NC_…`). */
  env: string[];
}

/**
 * The hub of `lab` runs our root and controller (P), leaf 0 a real zerotier-one node (R), leaf 1
 * our service without a tap (N); both join network `name` of P (`subnet24`.0/24) and have their
 * addresses. Used by the interop checks and bench/netcon-real.ts.
 */
export async function containerBesideRealNode(lab: NetnsLab, dir: string, zt: string, name: string, subnet24: string, library: string): Promise<ContainerBesideRealNode> {
  const P = await ZtNode.prepare("ours", lab, lab.hub, join(dir, "P"), zt);
  const R = await ZtNode.prepare("real", lab, lab.leaves[0]!, join(dir, "R"), zt);
  const N = await ZtNode.prepare("ours", lab, lab.leaves[1]!, join(dir, "N"), zt);
  const planet = await makePlanet(dir, "planet", [{ identity: P.identity, endpoint: `${lab.hubIp()}/9993` }]);
  for (const n of [P, R, N]) n.usePlanet(planet);
  await P.start();
  await R.start();
  await N.start();
  const nwid = await createNetwork(P, name, false, subnet24);
  await R.join(nwid);
  await N.join(nwid);
  const realIp = await R.waitAddress(nwid, `${subnet24}.`);
  const ncIp = await N.waitAddress(nwid, `${subnet24}.`, { onTap: false });
  const env = ["env", `LD_PRELOAD=${library}`, `ZT_NC_NWID=${nwid}`, `ZT_NC_HOME=${N.home}`];
  return { P, R, N, nwid, realIp, ncIp, env };
}
