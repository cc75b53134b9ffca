/**
 * Real members on a private network of our controller: ACCESS_DENIED until authorized, then OK with
 * the address the controller assigned; they ping each other through it; after `deauthorize` the
 * revoked member's frames are refused while the others still reach each other.
 *
 *   our root + controller P (hub) — real A (l0), real B (l1), real C (l2)
 */
import { join } from "node:path";
import { NetnsLab } from "../e2e/netns-lab.ts";
import { noReply, ping } from "./traffic.ts";
import { createNetwork, getMember, type Interop, makePlanet, must, setMember, until, ZtNode } from "./support.ts";

const SUBNET = "10.235.6";

export async function controllerChecks(t: Interop): Promise<void> {
  const lab = await NetnsLab.create(3, "zc");
  try {
    const P = await ZtNode.prepare("ours", lab, lab.hub, join(t.tmp, "P"), t.zt);
    const members = [
      await ZtNode.prepare("real", lab, lab.leaves[0]!, join(t.tmp, "A"), t.zt),
      await ZtNode.prepare("real", lab, lab.leaves[1]!, join(t.tmp, "B"), t.zt),
      await ZtNode.prepare("real", lab, lab.leaves[2]!, join(t.tmp, "C"), t.zt),
    ];
    const [A, B, C] = members as [ZtNode, ZtNode, ZtNode];
    const planet = await makePlanet(t.tmp, "planet", [{ identity: P.identity, endpoint: `${lab.hubIp()}/9993` }]);
    for (const n of [P, ...members]) n.usePlanet(planet);
    await P.start();
    for (const m of members) await m.start();
    const nwid = await createNetwork(P, "interop-private", true, SUBNET);
    for (const m of members) await m.join(nwid);

    const denied = await t.check("real members are ACCESS_DENIED on our controller's private network until authorized", async () => {
      for (const m of members) await m.waitStatus(nwid, "ACCESS_DENIED");
      for (const m of members) {
        const rec = await getMember(P, nwid, m.address);
        must(rec !== null && rec.authorized === false, `controller's record of ${m.address}: ${JSON.stringify(rec)}`);
      }
      return `network ${nwid}`;
    });
    if (!denied) return;

    const ips = new Map<ZtNode, string>();
    const assigned = await t.check("once authorized, each is OK with the address our controller assigned", async () => {
      for (const m of members) must((await setMember(P, nwid, m.address, { authorized: true })).authorized, `${m.address} not authorized`);
      for (const m of members) {
        const ip = await m.waitAddress(nwid, `${SUBNET}.`);
        const rec = await getMember(P, nwid, m.address);
        must(rec?.ipAssignments.includes(ip), `${m.name} has ${ip}, the controller assigned ${JSON.stringify(rec?.ipAssignments)}`);
        ips.set(m, ip);
      }
      return members.map((m) => `${m.address} ${ips.get(m)}`).join(", ");
    });
    if (!assigned) return;
    const ip = (m: ZtNode) => ips.get(m)!;

    await t.check("the real members ping each other through our controller's network", async () => {
      const out: string[] = [];
      for (const [from, to] of [[A, B], [B, C], [C, A]] as const) out.push(await ping(lab, from.ns, ip(to)));
      return out[0];
    });

    await t.check("after deauthorize, the revoked member's frames are refused; the others still reach each other", async () => {
      must((await setMember(P, nwid, C.address, { authorized: false })).authorized === false, "deauthorize failed");
      await until("A to stop reaching C", async (saw) => {
        const r = await lab.exec(A.ns, ["ping", "-c", "1", "-W", "1", ip(C)], { allowFail: true, timeoutMs: 5_000 });
        saw(r.out.trim().split("\n").pop() ?? "");
        return r.code !== 0 ? true : null;
        // well inside 1.14's 60 s config refresh: only the revocation our controller pushes can do it
      }, 20_000);
      await noReply(lab, C.ns, ip(A));
      await noReply(lab, C.ns, ip(B));
      await ping(lab, A.ns, ip(B));
      await ping(lab, B.ns, ip(A));
      const n = await C.network(nwid);
      return `C's network status: ${n?.status ?? "none"}, addresses ${JSON.stringify(n?.assignedAddresses)}`;
    });
  } finally {
    await lab.close();
  }
}
