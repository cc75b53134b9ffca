/**
 * Tests never contact ZeroTier's public roots: every service a test starts gets a planet whose
 * only root sits on loopback. test/setup.ts makes a missing planet file an error under `bun test`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { c25519Generate } from "../../src/crypto/c25519.ts";
import { Identity } from "../../src/vl1/identity.ts";
import { World, WORLD_TYPE_PLANET } from "../../src/vl1/world.ts";

// A real 1.14.1 identity from the vectors, so no proof of work has to be done per test.
const LOOPBACK_ROOT =
  "49a3649ef4:0:4399a667ebfdcd73e34265c08b86264adcea7001d74d5ddfe060489eb1aa4879e6f935a3e76680d4ea9c0d1794b91f9b20584e80378a517791b92123243d0787:d5a8004d7a028188c2ef76253a4017467f5bff70147706e70829721f537e26fc1052125e34fd75637a4e9458d8ae1f99bd6837d92527b22048e4884961739b67";

/** Bytes of a planet whose single root is at 127.0.0.1/<port> (default: a root nobody runs). */
export function loopbackPlanet(port = 9, root: Identity = Identity.fromString(LOOPBACK_ROOT)!): Uint8Array {
  const key = c25519Generate();
  return World.make(
    {
      type: WORLD_TYPE_PLANET,
      id: 4242n,
      timestamp: BigInt(Date.now()),
      updatesMustBeSignedBy: key.pub,
      roots: [{ identity: root.publicOnly(), stableEndpoints: [{ family: 4, ip: new Uint8Array([127, 0, 0, 1]), port }] }],
    },
    key,
  ).serialize();
}

export function writeLoopbackPlanet(home: string, port = 9): void {
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, "planet"), loopbackPlanet(port));
}
