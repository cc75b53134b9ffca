/**
 * The underlay over IPv6: a root whose planet endpoint is [::1] and a leaf, as separate processes.
 * The default binding is one dual-stack [::] socket, so the same port also carries IPv4.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { cli, freePort, idtool, startService, waitFor, writeLocalConf } from "./helpers.ts";

const tmp = mkdtempSync(join(tmpdir(), "ztnc-v6-"));
const homes = { root: join(tmp, "root"), leaf: join(tmp, "leaf") };
const procs: Subprocess<"ignore", "pipe", "pipe">[] = [];
let rootPort = 0;
let rootAddr = "";

beforeAll(async () => {
  for (const h of Object.values(homes)) {
    writeLocalConf(h, { allowLoopbackPaths: true });
    expect((await idtool("generate", join(h, "identity.secret"), join(h, "identity.public"))).code).toBe(0);
  }
  rootPort = await freePort();
  rootAddr = readFileSync(join(homes.root, "identity.public"), "utf8").slice(0, 10);
  const wj = join(tmp, "world.json");
  expect((await idtool("mkworld", "--new-signing-key", wj)).code).toBe(0);
  const w = JSON.parse(readFileSync(wj, "utf8")) as Record<string, unknown>;
  w.roots = [{ identity: readFileSync(join(homes.root, "identity.public"), "utf8"), stableEndpoints: [`::1/${rootPort}`] }];
  await Bun.write(wj, JSON.stringify(w));
  for (const h of Object.values(homes)) expect((await idtool("mkworld", wj, join(h, "planet"))).code).toBe(0);
  procs.push(startService(homes.root, rootPort));
  await waitFor("root API", async () => ((await cli(homes.root, "info")).code === 0 ? true : null));
  procs.push(startService(homes.leaf, await freePort()));
}, 60_000);

afterAll(() => {
  for (const p of procs) p.kill("SIGKILL");
  rmSync(tmp, { recursive: true, force: true });
});

test("a leaf reaches its root over IPv6 and lists the [::1] path", async () => {
  const line = await waitFor("leaf sees the root over ::1", async () => {
    const out = (await cli(homes.leaf, "listpeers")).out;
    return out.split("\n").find((l) => l.startsWith(`200 listpeers ${rootAddr} ::1/${rootPort};`)) ?? null;
  });
  expect(line).toMatch(/ 1\.14\.1 PLANET$/);
  expect((await cli(homes.leaf, "info")).out).toMatch(/ ONLINE\n$/);
  const st = JSON.parse((await cli(homes.root, "-j", "info")).out) as { config: { settings: { listeningOn: string[] } } };
  expect(st.config.settings.listeningOn).toEqual([`::/${rootPort}`]);
}, 30_000);
