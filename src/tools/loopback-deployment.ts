/**
 * A whole private ZeroTier deployment on this machine's loopback, for the demo and benchmarks: a
 * root that is also the network controller, and any number of member services (netcon by default),
 * each its own process with its own home, a planet naming the root at 127.0.0.1, and a network
 * created through the controller API. No root privileges, no tap, nothing leaves the machine.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { c25519Generate } from "../crypto/c25519.ts";
import { Identity } from "../vl1/identity.ts";
import { World, WORLD_TYPE_PLANET } from "../vl1/world.ts";

const SRC = join(import.meta.dir, "..");

export interface ServiceHandle {
  name: string;
  home: string;
  port: number;
  address: string;
  proc: Subprocess;
  /** Local API call; resolves with status and parsed JSON (or text). */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }>;
}

export interface DeploymentOptions {
  dir: string;
  members: string[];
  /** First UDP/API port; the root takes it, members the following ones. */
  basePort?: number;
  /** Extra service arguments per member (e.g. ["--tap"]). */
  memberArgs?: string[];
  /**
   * Largest UDP payload the services send (local.conf physical MTU for 127.0.0.0/8). Loopback
   * carries 64 KiB datagrams; 1432 is what ZeroTier uses on an ordinary 1500-byte link, so a
   * benchmark fragments its 2800-byte frames the way it would between two hosts.
   */
  physicalMtu?: number;
  /** More local.conf settings for every service (e.g. { netconTcpCongestion: "cubic" }). */
  settings?: Record<string, string | number | boolean>;
  /** Extra arguments for bun itself when it runs a member (e.g. ["--cpu-prof-md"] to profile). */
  bunArgs?: string[];
  log?: (line: string) => void;
}

async function freeUdpTcpPort(from: number): Promise<number> {
  for (let p = from; p < from + 1000; p++) {
    try {
      const u = await Bun.udpSocket({ hostname: "127.0.0.1", port: p });
      u.close();
      const t = Bun.listen({ hostname: "127.0.0.1", port: p, socket: { data() {} } });
      t.stop(true);
      return p;
    } catch {
      // taken
    }
  }
  throw new Error(`no free port from ${from}`);
}

function writeIdentity(home: string): Identity {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const id = Identity.generate();
  writeFileSync(join(home, "identity.secret"), id.toString(true), { mode: 0o600 });
  writeFileSync(join(home, "identity.public"), id.toString(false), { mode: 0o644 });
  return id;
}

async function waitFor<T>(what: string, check: () => Promise<T | null>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check().catch(() => null);
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(100);
  }
}

function startService(name: string, home: string, port: number, args: string[], bunArgs: string[] = []): ServiceHandle {
  const proc = Bun.spawn([process.execPath, ...bunArgs, join(SRC, "cli/service.ts"), "-d", home, "-p", String(port), ...args], {
    stdin: "ignore",
    stdout: Bun.file(join(home, "service.log")),
    stderr: Bun.file(join(home, "service.err")),
    env: process.env,
  });
  const address = readFileSync(join(home, "identity.public"), "utf8").slice(0, 10);
  return {
    name,
    home,
    port,
    address,
    proc,
    api: async (method, path, body) => {
      const token = readFileSync(join(home, "authtoken.secret"), "utf8").trim();
      const r = await fetch(`http://127.0.0.1:${port}${path}`, {
        method,
        headers: { "X-ZT1-Auth": token, "Content-Type": "application/json" },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await r.text();
      let json: unknown = text;
      try {
        json = JSON.parse(text);
      } catch {
        // metrics and other text answers
      }
      return { status: r.status, json };
    },
  };
}

export class LoopbackDeployment {
  readonly root: ServiceHandle;
  readonly members: ServiceHandle[];
  nwid = "";

  private constructor(root: ServiceHandle, members: ServiceHandle[]) {
    this.root = root;
    this.members = members;
  }

  /** Identities, planet, services started and answering their API. */
  static async start(o: DeploymentOptions): Promise<LoopbackDeployment> {
    const log = o.log ?? (() => {});
    const names = ["root", ...o.members];
    const ids = new Map<string, Identity>();
    for (const n of names) ids.set(n, writeIdentity(join(o.dir, n)));
    const ports: number[] = [];
    let next = o.basePort ?? 29993;
    for (let i = 0; i < names.length; i++) {
      const p = await freeUdpTcpPort(next);
      ports.push(p);
      next = p + 1;
    }
    const key = c25519Generate();
    const planet = World.make(
      {
        type: WORLD_TYPE_PLANET,
        id: BigInt(Date.now()),
        timestamp: BigInt(Date.now()),
        updatesMustBeSignedBy: key.pub,
        roots: [{ identity: ids.get("root")!.publicOnly(), stableEndpoints: [{ family: 4, ip: new Uint8Array([127, 0, 0, 1]), port: ports[0]! }] }],
      },
      key,
    ).serialize();
    const settings = {
      settings: { portMappingEnabled: false, allowTcpFallbackRelay: false, allowLoopbackPaths: true, ...o.settings },
      ...(o.physicalMtu !== undefined ? { physical: { "127.0.0.0/8": { mtu: o.physicalMtu } } } : {}),
    };
    for (const n of names) {
      writeFileSync(join(o.dir, n, "planet"), planet);
      writeFileSync(join(o.dir, n, "local.conf"), JSON.stringify(settings, null, 2));
    }
    const root = startService("root", join(o.dir, "root"), ports[0]!, []);
    const members = o.members.map((n, i) => startService(n, join(o.dir, n), ports[i + 1]!, o.memberArgs ?? [], o.bunArgs));
    const d = new LoopbackDeployment(root, members);
    for (const s of [root, ...members]) {
      await waitFor(`${s.name} API`, async () => ((await s.api("GET", "/status")).status === 200 ? true : null), 30_000);
      log(`${s.name.padEnd(6)} ${s.address} on 127.0.0.1:${s.port} (home ${s.home})`);
    }
    return d;
  }

  /** A public network on the root's controller with an IPv4 pool; returns its ID. */
  async createNetwork(subnet = "10.147.17"): Promise<string> {
    const r = await this.root.api("POST", `/controller/network/${this.root.address}______`, {
      name: "netcon-demo",
      private: false,
      ipAssignmentPools: [{ ipRangeStart: `${subnet}.10`, ipRangeEnd: `${subnet}.200` }],
      routes: [{ target: `${subnet}.0/24`, via: null }],
      v4AssignMode: { zt: true },
    });
    if (r.status !== 200) throw new Error(`creating the network: HTTP ${r.status} ${JSON.stringify(r.json)}`);
    this.nwid = (r.json as { id: string }).id;
    return this.nwid;
  }

  /** Join every member; resolves with each member's assigned IPv4 address once it is OK. */
  async joinAll(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const m of this.members) {
      const r = await m.api("POST", `/network/${this.nwid}`, {});
      if (r.status !== 200) throw new Error(`${m.name} join: HTTP ${r.status}`);
    }
    for (const m of this.members) {
      const n = await waitFor(
        `${m.name} to get its address`,
        async () => {
          const x = (await m.api("GET", `/network/${this.nwid}`)).json as { status: string; assignedAddresses: string[] };
          return x.status === "OK" && x.assignedAddresses.length > 0 ? x : null;
        },
        60_000,
      );
      out.set(m.name, n.assignedAddresses[0]!.split("/")[0]!);
    }
    return out;
  }

  /** Environment that puts a program into member `name`'s network container. */
  containerEnv(name: string, library: string): Record<string, string> {
    const m = this.members.find((x) => x.name === name);
    if (m === undefined) throw new Error(`no member ${name}`);
    const pre = process.env.LD_PRELOAD ? `${process.env.LD_PRELOAD}:${library}` : library;
    return { ...(process.env as Record<string, string>), LD_PRELOAD: pre, ZT_NC_NWID: this.nwid, ZT_NC_HOME: m.home };
  }

  async stop(): Promise<void> {
    const all = [this.root, ...this.members];
    for (const s of all) if (s.proc.exitCode === null) s.proc.kill("SIGTERM");
    await Promise.race([Promise.all(all.map((s) => s.proc.exited)), Bun.sleep(5000)]);
    for (const s of all) if (s.proc.exitCode === null) s.proc.kill("SIGKILL");
  }
}
