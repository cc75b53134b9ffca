import { describe, expect, test } from "bun:test";
import { c25519Generate } from "../../src/crypto/c25519.ts";
import { SeededRng } from "../../src/util/random.ts";
import { WORLD_TYPE_MOON, World } from "../../src/vl1/world.ts";
import { SimNetwork } from "./sim/network.ts";
import { TEST_VERB, hostAddress, labIdentities, makePlanet } from "./sim/setup.ts";

describe("moons (spec 5.3)", () => {
  test("orbiting by seed fetches the moon from its root; the moon root then acts as an upstream", () => {
    const ids = labIdentities();
    const net = new SimNetwork(71);
    const planet = makePlanet([{ identity: ids[0]!, endpoint: hostAddress(0) }]);
    const kp = c25519Generate(new SeededRng(72));
    const moonId = BigInt(ids[3]!.address);
    const moon = World.make(
      { type: WORLD_TYPE_MOON, id: moonId, timestamp: 5n, updatesMustBeSignedBy: kp.pub, roots: [{ identity: ids[3]!.publicOnly(), stableEndpoints: [hostAddress(3)] }] },
      kp,
    );
    net.addHost("root", ids[0]!, hostAddress(0), { planet });
    const m = net.addHost("moonroot", ids[3]!, hostAddress(3), { planet, extra: { moons: [moon] } });
    const saved: bigint[] = [];
    const x = net.addHost("x", ids[1]!, hostAddress(1), { planet, extra: { events: { worldUpdated: (w) => void saved.push(w.id) } } });
    const y = net.addHost("y", ids[2]!, hostAddress(2), { planet });
    net.run(3000);
    expect(m.node.topology.amUpstream).toBe(true);
    x.node.orbit(moonId, ids[3]!.address);
    y.node.orbit(moonId, ids[3]!.address);
    net.run(40_000);
    expect(x.node.moons.map((w) => w.id)).toEqual([moonId]);
    expect(saved).toEqual([moonId]);
    expect(x.node.topology.isUpstream(ids[3]!.address)).toBe(true);
    expect(x.node.peersInfo().find((p) => p.address === ids[3]!.addressString)!.role).toBe("MOON");
    expect(x.node.getPeer(ids[3]!.address)!.paths.length).toBeGreaterThan(0);
    // With two upstreams, WHOIS goes to whichever ranks best; both know x and y (all orbit the moon).
    y.node.send(x.node.address, TEST_VERB, new Uint8Array(3));
    net.run(5000);
    expect(x.received.length).toBe(1);
    expect(x.node.deorbit(moonId)).toBe(true);
    expect(x.node.topology.isUpstream(ids[3]!.address)).toBe(false);
  });
});
