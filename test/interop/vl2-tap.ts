/**
 * Our `--tap` node and a real leaf on one network, hosted once by a real controller (a real
 * zerotier-one that is also the root) and once by ours: both get their addresses, ping works both
 * ways, 20 MB TCP transfers arrive sha256-intact both ways, over a direct path between the two.
 *
 *   root + controller (hub: real, then ours) — our --tap node O (l0) — real leaf L (l1)
 */
import { join } from "node:path";
import { NetnsLab } from "../e2e/netns-lab.ts";
import { ping, transfer } from "./traffic.ts";
import { createNetwork, getMember, type Interop, makePlanet, setMember, until, ZtNode } from "./support.ts";

const BYTES = 20_000_000;

async function pair(t: Interop, host: "real" | "ours", subnet: string): Promise<void> {
  const label = host === "real" ? "real controller" : "our controller";
  const dir = join(t.tmp, `${host}-controller`);
  const lab = await NetnsLab.create(2, "zt");
  try {
    const H = await ZtNode.prepare(host, lab, lab.hub, join(dir, "H"), t.zt);
    const O = await ZtNode.prepare("ours", lab, lab.leaves[0]!, join(dir, "O"), t.zt);
    const L = await ZtNode.prepare("real", lab, lab.leaves[1]!, join(dir, "L"), t.zt);
    const planet = await makePlanet(t.tmp, `planet-${host}`, [{ identity: H.identity, endpoint: `${lab.hubIp()}/9993` }]);
    for (const n of [H, O, L]) n.usePlanet(planet);
    await H.start();
    await O.start({ tap: true });
    await L.start();
    // the real controller's network is private (our node must take its ACCESS_DENIED, then its config); ours is public
    const nwid = await createNetwork(H, `interop-${host}`, host === "real", subnet);
    await O.join(nwid);
    await L.join(nwid);
    if (host === "real") {
      const denied = await t.check(`${label}: our --tap node is ACCESS_DENIED by the real controller until authorized`, async () => {
        await O.waitStatus(nwid, "ACCESS_DENIED");
        for (const m of [O, L]) await until(`the real controller's record of ${m.address}`, async () => await getMember(H, nwid, m.address), 30_000);
        return `network ${nwid}`;
      });
      if (!denied) return;
      for (const m of [O, L]) await setMember(H, nwid, m.address, { authorized: true });
    }
    let ipO = "";
    let ipL = "";
    const joined = await t.check(`${label}: our --tap node and a real node join; both are OK with their addresses on their taps`, async () => {
      ipO = await O.waitAddress(nwid, `${subnet}.`);
      ipL = await L.waitAddress(nwid, `${subnet}.`);
      return `network ${nwid}: ours ${ipO}, real ${ipL}`;
    });
    if (!joined) return;
    await t.check(`${label}: ping our node → real node`, () => ping(lab, O.ns, ipL));
    await t.check(`${label}: ping real node → our node`, () => ping(lab, L.ns, ipO));
    /** Both sides' active, preferred path to the other is the other's underlay address (no relay). */
    const direct = async (): Promise<string> => {
      const seen: string[] = [];
      for (const [a, b, via] of [[O, L, `${lab.leafIp(1)}/9993`], [L, O, `${lab.leafIp(0)}/9993`]] as const) {
        const p = await a.peer(b.address);
        const d = p?.paths.find((x) => x.address === via && x.active && !x.expired && x.preferred);
        if (d === undefined) throw new Error(`${a.name}'s paths to ${b.address}: ${JSON.stringify(p?.paths ?? null)}`);
        seen.push(`${a.kind}→${via}`);
      }
      return seen.join(", ");
    };
    const onDirect = await t.check(`${label}: our node and the real leaf talk over a direct path (each prefers the other's underlay address)`, () =>
      until("a direct path both ways", async (saw) => direct().catch((e: Error) => (saw(e.message), null)), 30_000),
    );
    if (!onDirect) return;
    await t.check(`${label}: 20 MB over TCP our node → real node, sha256 intact, still direct`, async () => `${await transfer(lab, dir, O.ns, L.ns, ipL, BYTES)}; ${await direct()}`);
    await t.check(`${label}: 20 MB over TCP real node → our node, sha256 intact, still direct`, async () => `${await transfer(lab, dir, L.ns, O.ns, ipO, BYTES)}; ${await direct()}`);
  } finally {
    await lab.close();
  }
}

export async function vl2TapChecks(t: Interop): Promise<void> {
  await pair(t, "real", "10.236.7");
  await pair(t, "ours", "10.236.8");
}
