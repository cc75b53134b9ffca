/**
 * Issue 3 acceptance on loopback: a root and two leaves, each a separate service process, with a
 * planet made by our `zerotier-idtool mkworld`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { mkdirSync, readdirSync, renameSync } from "node:fs";
import { cli, freePort, idtool, run, ROOT, startService, waitFor, writeLocalConf } from "./helpers.ts";

const tmp = mkdtempSync(join(tmpdir(), "ztnc-e2e-"));
const homes = { root: join(tmp, "root"), a: join(tmp, "leaf-a"), b: join(tmp, "leaf-b") };
const ports: Record<keyof typeof homes, number> = { root: 0, a: 0, b: 0 };
const procs = new Map<string, Subprocess<"ignore", "pipe", "pipe">>();
const addr: Record<string, string> = {};
let moonId = "";

async function info(home: string): Promise<string> {
  return (await cli(home, "info")).out.trim();
}

async function start(name: keyof typeof homes) {
  procs.set(name, startService(homes[name], ports[name]));
  await waitFor(`${name} API`, async () => (existsSync(join(homes[name], "zerotier-one.port")) && (await cli(homes[name], "info")).code === 0 ? true : null));
}

async function stop(name: keyof typeof homes) {
  const p = procs.get(name);
  if (!p) return;
  p.kill("SIGTERM");
  expect(await p.exited).toBe(0);
  procs.delete(name);
}

beforeAll(async () => {
  for (const k of Object.keys(homes) as (keyof typeof homes)[]) {
    ports[k] = await freePort();
    writeLocalConf(homes[k], { allowLoopbackPaths: true, portMappingEnabled: false, allowTcpFallbackRelay: false });
    const g = await idtool("generate", join(homes[k], "identity.secret"), join(homes[k], "identity.public"));
    expect(g.code).toBe(0);
    addr[k] = readFileSync(join(homes[k], "identity.public"), "utf8").slice(0, 10);
  }
  // The planet: our root at its loopback port, signed with a fresh key, made by our idtool.
  const worldJson = join(tmp, "world.json");
  expect((await idtool("mkworld", "--new-signing-key", worldJson)).code).toBe(0);
  const w = JSON.parse(readFileSync(worldJson, "utf8")) as Record<string, unknown>;
  w.roots = [{ identity: readFileSync(join(homes.root, "identity.public"), "utf8"), stableEndpoints: [`127.0.0.1/${ports.root}`] }];
  await Bun.write(worldJson, JSON.stringify(w));
  for (const h of Object.values(homes)) {
    const r = await idtool("mkworld", worldJson, join(h, "planet"));
    expect(r.code).toBe(0);
  }
  // A moon whose root is leaf b, made by our initmoon/genmoon; b serves it from its moons.d.
  const moonJson = join(tmp, "moon.json");
  const init = await idtool("initmoon", join(homes.b, "identity.public"));
  expect(init.code).toBe(0);
  const m = JSON.parse(init.out) as { id: string; roots: { stableEndpoints: string[] }[] };
  m.roots[0]!.stableEndpoints = [`127.0.0.1/${ports.b}`];
  await Bun.write(moonJson, JSON.stringify(m));
  expect((await run([join(ROOT, "src/cli/idtool.ts"), "genmoon", moonJson], { cwd: tmp })).code).toBe(0);
  const moonFile = readdirSync(tmp).find((f) => f.endsWith(".moon"))!;
  moonId = moonFile.slice(0, 16);
  mkdirSync(join(homes.b, "moons.d"), { recursive: true });
  renameSync(join(tmp, moonFile), join(homes.b, "moons.d", moonFile));
  await start("root");
  await start("a");
  await start("b");
}, 60_000);

afterAll(async () => {
  for (const p of procs.values()) p.kill("SIGKILL");
  rmSync(tmp, { recursive: true, force: true });
});

describe("root and two leaves as separate processes", () => {
  test("all come ONLINE", async () => {
    for (const k of ["root", "a", "b"] as const) {
      const line = await waitFor(`${k} ONLINE`, async () => {
        const l = await info(homes[k]);
        return l.endsWith("ONLINE") ? l : null;
      });
      expect(line).toBe(`200 info ${addr[k]} 1.14.1 ONLINE`);
    }
  }, 30_000);

  test("leaves list the root as PLANET over a direct path with a latency", async () => {
    for (const k of ["a", "b"] as const) {
      const line = await waitFor(`${k} sees root`, async () => {
        const out = (await cli(homes[k], "listpeers")).out;
        const l = out.split("\n").find((x) => x.startsWith(`200 listpeers ${addr.root} `));
        return l && !l.includes(" - ") ? l : null;
      });
      const m = /^200 listpeers (\w{10}) 127\.0\.0\.1\/(\d+);(-?\d+);(-?\d+) (-?\d+) 1\.14\.1 PLANET$/.exec(line);
      expect(m).not.toBeNull();
      expect(Number(m![2])).toBe(ports.root);
      expect(Number(m![5])).toBeGreaterThanOrEqual(0);
    }
  }, 30_000);

  test("the root lists both leaves as LEAF with direct paths", async () => {
    const out = await waitFor("root sees leaves", async () => {
      const o = (await cli(homes.root, "listpeers")).out;
      return o.includes(addr.a!) && o.includes(addr.b!) ? o : null;
    });
    for (const k of ["a", "b"] as const) {
      const l = out.split("\n").find((x) => x.startsWith(`200 listpeers ${addr[k]} `))!;
      expect(l).toMatch(new RegExp(`^200 listpeers ${addr[k]} 127\\.0\\.0\\.1/${ports[k]};-?\\d+;-?\\d+ -?\\d+ 1\\.14\\.1 LEAF$`));
    }
  }, 30_000);

  test("/status, /peer/<addr> and /metrics answer with real numbers", async () => {
    const j = JSON.parse((await cli(homes.a, "-j", "info")).out) as { address: string; online: boolean; planetWorldId: number };
    expect(j.address).toBe(addr.a!);
    expect(j.online).toBe(true);
    expect(j.planetWorldId).toBeGreaterThan(0);
    const peer = JSON.parse((await cli(homes.a, `/peer/${addr.root}`)).out) as { role: string; paths: { preferred: boolean }[] };
    expect(peer.role).toBe("PLANET");
    expect(peer.paths.some((p) => p.preferred)).toBe(true);
    const metrics = (await cli(homes.root, "/metrics")).out;
    const hello = /zt_packet\{direction="rx",packet_type="hello"\} (\d+)/.exec(metrics);
    expect(Number(hello?.[1] ?? 0)).toBeGreaterThanOrEqual(2);
    expect(metrics).toContain('zt_peers{role="LEAF"} 2');
  }, 30_000);

  test("orbit a moon by its seed: fetched from the seed, listed, its root becomes MOON; deorbit removes it", async () => {
    const o = await cli(homes.a, "orbit", moonId, addr.b!);
    expect(o.out).toBe("200 orbit OK\n");
    const moons = await waitFor("moon fetched", async () => {
      const j = JSON.parse((await cli(homes.a, "listmoons")).out) as { id: string; waiting: boolean; roots: { identity: string }[] }[];
      return j.length === 1 && !j[0]!.waiting ? j : null;
    });
    expect(moons[0]!.id).toBe(moonId);
    expect(moons[0]!.roots[0]!.identity.slice(0, 10)).toBe(addr.b!);
    await waitFor("b is MOON", async () => ((await cli(homes.a, "listpeers")).out.includes(`200 listpeers ${addr.b} `) && (await cli(homes.a, "listpeers")).out.match(new RegExp(`${addr.b} .* MOON`)) ? true : null));
    expect(existsSync(join(homes.a, "moons.d", `${moonId}.moon`))).toBe(true);
    expect((await cli(homes.a, "deorbit", moonId)).out).toBe("200 deorbit OK\n");
    expect(JSON.parse((await cli(homes.a, "listmoons")).out)).toEqual([]);
    expect(existsSync(join(homes.a, "moons.d", `${moonId}.moon`))).toBe(false);
  }, 30_000);

  test("restart keeps the identity and writes/reuses the peer cache", async () => {
    await stop("a");
    const cached = join(homes.a, "peers.d", `${addr.root}.peer`);
    expect(existsSync(cached)).toBe(true);
    await start("a");
    expect(readFileSync(join(homes.a, "identity.public"), "utf8").slice(0, 10)).toBe(addr.a!);
    // The cached peer is known (version included) right away, before any new handshake is needed.
    const peer = JSON.parse((await cli(homes.a, `/peer/${addr.root}`)).out) as { versionMajor: number };
    expect(peer.versionMajor).toBe(1);
    await waitFor("a ONLINE again", async () => ((await info(homes.a)).endsWith("ONLINE") ? true : null));
  }, 30_000);
});
