/**
 * VL1 roots both ways: our node as a leaf of a real root (which lists it with its version), and real
 * leaves of our node as their root (each side lists the other with its version and role).
 */
import { join } from "node:path";
import { NetnsLab } from "../e2e/netns-lab.ts";
import { type Interop, listpeersLine, makePlanet, must, until, ZtNode } from "./support.ts";

/** Wait for `node`'s listpeers line for `peer` to show this version and role over the path `via`. */
async function listed(node: ZtNode, peer: ZtNode, via: string, role: string): Promise<string> {
  return until(`${node.name} to list ${peer.address} as ${role}`, async (saw) => {
    const line = await listpeersLine(node, peer.address);
    saw(line || "(not listed)");
    const f = line.split(" ");
    // 200 listpeers <ztaddr> <ip/port;lastSend;lastReceive> <latency> <version> <role>
    return f[3]?.split(";")[0] === via && f[5] === "1.14.1" && f[6] === role ? line : null;
  }, 30_000);
}

async function underRealRoot(t: Interop): Promise<void> {
  const lab = await NetnsLab.create(1, "zv");
  try {
    const R = await ZtNode.prepare("real", lab, lab.hub, join(t.tmp, "R"), t.zt);
    const O = await ZtNode.prepare("ours", lab, lab.leaves[0]!, join(t.tmp, "O"), t.zt);
    const planet = await makePlanet(t.tmp, "real-root", [{ identity: R.identity, endpoint: `${lab.hubIp()}/9993` }]);
    R.usePlanet(planet);
    O.usePlanet(planet);
    await R.start();
    await O.start();
    await t.check("our node comes ONLINE with a real zerotier-one as its root", async () => {
      await O.waitOnline();
      const line = await listed(O, R, `${lab.hubIp()}/9993`, "PLANET");
      return line.replace("200 listpeers ", "");
    });
    await t.check("the real root lists our node with its version (zerotier-cli listpeers)", async () => {
      const line = await listed(R, O, `${lab.leafIp(0)}/9993`, "LEAF");
      return line.replace("200 listpeers ", "");
    });
  } finally {
    await lab.close();
  }
}

async function realLeavesUnderOurs(t: Interop): Promise<void> {
  const lab = await NetnsLab.create(2, "zv");
  try {
    const P = await ZtNode.prepare("ours", lab, lab.hub, join(t.tmp, "P"), t.zt);
    const leaves = [
      await ZtNode.prepare("real", lab, lab.leaves[0]!, join(t.tmp, "L1"), t.zt),
      await ZtNode.prepare("real", lab, lab.leaves[1]!, join(t.tmp, "L2"), t.zt),
    ];
    const planet = await makePlanet(t.tmp, "our-root", [{ identity: P.identity, endpoint: `${lab.hubIp()}/9993` }]);
    for (const n of [P, ...leaves]) n.usePlanet(planet);
    await P.start();
    for (const L of leaves) await L.start();
    await t.check("real leaves come ONLINE with our node as their root and list it with its version", async () => {
      const lines: string[] = [];
      for (const L of leaves) {
        await L.waitOnline();
        lines.push(await listed(L, P, `${lab.hubIp()}/9993`, "PLANET"));
      }
      must(lines.length === 2, "not both leaves");
      return lines[0]!.replace("200 listpeers ", "");
    });
    await t.check("our root lists both real leaves with their version (our zerotier-cli listpeers)", async () => {
      const lines: string[] = [];
      for (const [i, L] of leaves.entries()) lines.push(await listed(P, L, `${lab.leafIp(i)}/9993`, "LEAF"));
      return lines.map((l) => l.split(" ").filter((_, i) => [2, 5, 6].includes(i)).join(" ")).join(", ");
    });
  } finally {
    await lab.close();
  }
}

export async function vl1Checks(t: Interop): Promise<void> {
  await underRealRoot(t);
  await realLeavesUnderOurs(t);
}
