/** Shared set-up for the simulated-network tests: lab identities and a planet made for the sim. */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { c25519Generate } from "../../../src/crypto/c25519.ts";
import { SeededRng } from "../../../src/util/random.ts";
import { Identity } from "../../../src/vl1/identity.ts";
import { type InetAddress, ipv4 } from "../../../src/vl1/inet-address.ts";
import { WORLD_TYPE_PLANET, World } from "../../../src/vl1/world.ts";
import { type LinkFaults, type SimHost, SimNetwork } from "./network.ts";

const FIX = join(import.meta.dir, "..", "..", "fixtures", "vl1");

interface IdentitiesJson {
  valid_identities: { identity_secret: string }[];
}

/** The 8 valid identities made by zerotier-idtool (fixtures/vl1/identities.json). */
export function labIdentities(): Identity[] {
  const j = JSON.parse(readFileSync(join(FIX, "identities.json"), "utf8")) as IdentitiesJson;
  return j.valid_identities.map((v) => {
    const id = Identity.fromString(v.identity_secret);
    if (id === null) throw new Error("bad fixture identity");
    return id;
  });
}

/** Each host in its own /24 so per-network HELLO rate gates do not couple them. */
export function hostAddress(i: number): InetAddress {
  return ipv4(10, 0, i, 1, 9993);
}

export function makePlanet(roots: { identity: Identity; endpoint: InetAddress }[], seed = 7, timestamp = 1000n): World {
  const kp = c25519Generate(new SeededRng(seed));
  return World.make(
    {
      type: WORLD_TYPE_PLANET,
      id: 4242n,
      timestamp,
      updatesMustBeSignedBy: kp.pub,
      roots: roots.map((r) => ({ identity: r.identity.publicOnly(), stableEndpoints: [r.endpoint] })),
    },
    kp,
  );
}

export interface Lab {
  net: SimNetwork;
  root: SimHost;
  leaves: SimHost[];
  planet: World;
}

/** A root (identity 0) and `n` leaves (identities 1..n) on a simulated network. */
export function makeLab(n: number, seed: number, faults?: Partial<LinkFaults>): Lab {
  const ids = labIdentities();
  const net = new SimNetwork(seed);
  if (faults) net.faults = { ...net.faults, ...faults };
  const planet = makePlanet([{ identity: ids[0]!, endpoint: hostAddress(0) }]);
  const root = net.addHost("root", ids[0]!, hostAddress(0), { planet });
  const leaves: SimHost[] = [];
  for (let i = 1; i <= n; i++) leaves.push(net.addHost(`leaf${i}`, ids[i]!, hostAddress(i), { planet }));
  return { net, root, leaves, planet };
}

/** Verb code of the test messages exchanged through the VL2 hook. */
export const TEST_VERB = 0x06; // FRAME: delivered to the VL2 hook and makes the peer "active" (keepalives)
