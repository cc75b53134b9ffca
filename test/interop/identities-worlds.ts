/**
 * Identities and signatures both ways (our idtool ↔ zerotier-idtool), and worlds: a real root and a
 * real leaf load a planet made by our mkworld; real leaves load a moon made by our genmoon, one from
 * moons.d (no planet root reachable, so it is ONLINE only through the moon) and one by orbiting its
 * seed (the moon comes from our node over the wire).
 *
 *   real root R (hub) — our node M, root of our moon (l0)
 *                     — real L1: planet with an unreachable root, our moon in moons.d (l1)
 *                     — real L2: our planet, orbits the moon via seed M (l2)
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { NetnsLab } from "../e2e/netns-lab.ts";
import { type Interop, makeMoon, makePlanet, must, ourIdtool, realIdtool, until, ZtNode } from "./support.ts";

async function identities(t: Interop): Promise<void> {
  const dir = join(t.tmp, "ids");
  mkdirSync(dir);
  const f = (n: string) => join(dir, n);
  const real = (...a: string[]) => realIdtool(t.zt, ...a);
  must((await ourIdtool("generate", f("ours.secret"), f("ours.public"))).code === 0, "our generate failed");
  must((await real("generate", f("real.secret"), f("real.public"))).code === 0, "zerotier-idtool generate failed");
  const oursPub = readFileSync(f("ours.public"), "utf8").trim();
  const realPub = readFileSync(f("real.public"), "utf8").trim();

  await t.check("an identity made by our generate validates with zerotier-idtool, which derives the same public form", async () => {
    const v = await real("validate", f("ours.secret"));
    must(v.code === 0 && v.out.includes("is a valid identity"), `zerotier-idtool validate: exit ${v.code} ${v.out.trim()}`);
    const p = await real("getpublic", f("ours.secret"));
    must(p.out.trim() === oursPub, `zerotier-idtool getpublic gave ${p.out.trim()}, ours wrote ${oursPub}`);
    return oursPub.slice(0, 10);
  });
  await t.check("an identity made by zerotier-idtool generate validates with ours, which derives the same public form", async () => {
    const v = await ourIdtool("validate", f("real.secret"));
    must(v.code === 0 && v.out.includes("is a valid identity"), `our validate: exit ${v.code} ${v.out.trim()} ${v.err.trim()}`);
    const p = await ourIdtool("getpublic", f("real.secret"));
    must(p.out.trim() === realPub, `our getpublic gave ${p.out.trim()}, zerotier-idtool wrote ${realPub}`);
    return realPub.slice(0, 10);
  });
  await t.check("an identity with one changed key digit fails validation with both", async () => {
    const i = oursPub.indexOf(":0:") + 3;
    writeFileSync(f("bad.public"), oursPub.slice(0, i) + (oursPub[i] === "0" ? "1" : "0") + oursPub.slice(i + 1));
    const a = await real("validate", f("bad.public"));
    const b = await ourIdtool("validate", f("bad.public"));
    must(a.code !== 0 && b.code !== 0, `exit codes: zerotier-idtool ${a.code}, ours ${b.code}`);
  });

  writeFileSync(f("message.txt"), "signed by both idtools\n");
  writeFileSync(f("changed.txt"), "signed by both idtools!\n");
  await t.check("our signature verifies with zerotier-idtool (byte-identical to its own); a changed file does not", async () => {
    const ours = (await ourIdtool("sign", f("ours.secret"), f("message.txt"))).out.trim();
    const theirs = (await real("sign", f("ours.secret"), f("message.txt"))).out.trim();
    must(/^[0-9a-f]{192}$/.test(ours), `our sign printed ${ours}`);
    const v = await real("verify", f("ours.public"), f("message.txt"), ours);
    must(v.code === 0 && v.out.includes("signature valid"), `zerotier-idtool verify: exit ${v.code} ${v.out.trim()}`);
    must(ours === theirs, `signatures differ: ours ${ours.slice(0, 16)}…, zerotier-idtool ${theirs.slice(0, 16)}…`);
    const bad = await real("verify", f("ours.public"), f("changed.txt"), ours);
    must(bad.code !== 0, "zerotier-idtool verified our signature on a changed file");
  });
  await t.check("zerotier-idtool's signature verifies with ours; a changed file does not", async () => {
    const theirs = (await real("sign", f("real.secret"), f("message.txt"))).out.trim();
    const v = await ourIdtool("verify", f("real.public"), f("message.txt"), theirs);
    must(v.code === 0 && v.out.includes("signature valid"), `our verify: exit ${v.code} ${v.out.trim()} ${v.err.trim()}`);
    const bad = await ourIdtool("verify", f("real.public"), f("changed.txt"), theirs);
    must(bad.code !== 0, "ours verified zerotier-idtool's signature on a changed file");
  });
}

/** World ID and timestamp from a serialized world (type, ID, timestamp are its first 17 bytes). */
function worldHeader(file: string): { id: bigint; ts: bigint } {
  const v = new DataView(readFileSync(file).buffer);
  return { id: v.getBigUint64(1), ts: v.getBigUint64(9) };
}

async function worlds(t: Interop): Promise<void> {
  const lab = await NetnsLab.create(3, "zw");
  try {
    const h = (n: string) => join(t.tmp, n);
    const R = await ZtNode.prepare("real", lab, lab.hub, h("R"), t.zt);
    const M = await ZtNode.prepare("ours", lab, lab.leaves[0]!, h("M"), t.zt);
    const L1 = await ZtNode.prepare("real", lab, lab.leaves[1]!, h("L1"), t.zt);
    const L2 = await ZtNode.prepare("real", lab, lab.leaves[2]!, h("L2"), t.zt);
    const planet = await makePlanet(t.tmp, "planet", [{ identity: R.identity, endpoint: `${lab.hubIp()}/9993` }]);
    for (const n of [R, M, L2]) n.usePlanet(planet);
    // L1's planet names a root that exists nowhere in the lab: L1 can only come ONLINE through the moon
    mkdirSync(h("dead"));
    must((await ourIdtool("generate", h("dead/identity.secret"), h("dead/identity.public"))).code === 0, "our generate failed");
    const deadId = readFileSync(h("dead/identity.public"), "utf8").trim();
    L1.usePlanet(await makePlanet(t.tmp, "dead-planet", [{ identity: deadId, endpoint: `10.231.${lab.subnet}.250/9993` }]));
    const moon = await makeMoon(t.tmp, M.identity, `${lab.leafIp(0)}/9993`);
    const moonFile = `${moon.id.padStart(16, "0")}.moon`;
    for (const n of [M, L1]) {
      mkdirSync(join(n.home, "moons.d"));
      writeFileSync(join(n.home, "moons.d", moonFile), readFileSync(moon.file));
    }
    const { id: planetId, ts: planetTs } = worldHeader(planet);

    await R.start();
    await L2.start();
    await t.check("a real root and a real leaf load a planet made by our mkworld; the leaf comes ONLINE through that root", async () => {
      await L2.waitOnline();
      for (const n of [R, L2]) {
        const s = (await n.api("GET", "/status")).json as { planetWorldId: number; planetWorldTimestamp: number };
        must(BigInt(s.planetWorldId) === planetId && BigInt(s.planetWorldTimestamp) === planetTs, `${n.name} reports planet ${s.planetWorldId}/${s.planetWorldTimestamp}, ours is ${planetId}/${planetTs}`);
      }
      const root = await L2.peer(R.address);
      must(root?.role === "PLANET" && root.paths.some((p) => p.active), `L2 sees R as ${JSON.stringify(root)}`);
      return `planet ${planetId}, root ${R.address}`;
    });

    await M.start();
    await M.waitOnline();
    await L1.start();
    await t.check("a real node loads our genmoon's moon from moons.d and comes ONLINE through its root, our node (its planet root unreachable)", async () => {
      await L1.waitOnline();
      const m = (await L1.moons()).find((x) => x.id === moon.id.padStart(16, "0"));
      must(m !== undefined && !m.waiting && m.roots[0]?.identity === M.identity, `L1's moons: ${JSON.stringify(await L1.moons())}`);
      const p = await L1.peer(M.address);
      must(p?.role === "MOON" && p.paths.some((x) => x.active), `L1 sees M as ${JSON.stringify(p)}`);
      const dead = await L1.peer(deadId.slice(0, 10));
      must(dead === null || !dead.paths.some((x) => x.active), "L1 has a path to a root that does not exist");
      return `moon ${moon.id}`;
    });

    await t.check("a real node orbits our moon by its seed (our node), receives it over the wire and stores it byte-identical", async () => {
      const r = await L2.cli("orbit", moon.id, M.address);
      must(r.code === 0 && r.out.includes("200 orbit OK"), `orbit: ${r.out.trim()} ${r.err.trim()}`);
      await until("L2 to receive the moon", async (saw) => {
        const ms = await L2.moons();
        saw(JSON.stringify(ms));
        const m = ms.find((x) => x.id === moon.id.padStart(16, "0"));
        return m !== undefined && !m.waiting && m.roots[0]?.identity === M.identity ? true : null;
      });
      const stored = await until("L2's moons.d file", async () => {
        try {
          return readFileSync(join(L2.home, "moons.d", moonFile));
        } catch {
          return null;
        }
      }, 10_000);
      must(Buffer.compare(stored, readFileSync(moon.file)) === 0, "L2 stored a moon that differs from our genmoon's file");
      const p = await until("L2 to list M as MOON", async (saw) => {
        const x = await L2.peer(M.address);
        saw(JSON.stringify(x));
        return x?.role === "MOON" ? x : null;
      }, 30_000);
      return `M listed as ${p.role} ${p.version}`;
    });
  } finally {
    await lab.close();
  }
}

export async function identitiesAndWorlds(t: Interop): Promise<void> {
  await identities(t);
  await worlds(t);
}
