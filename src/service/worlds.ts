import { readdirSync } from "node:fs";
import { consola } from "consola";
import { defaultPlanet } from "../vl1/default-planet.ts";
import { World, WORLD_TYPE_MOON, WORLD_TYPE_PLANET } from "../vl1/world.ts";
import { type HomeDir, HomeDirError } from "./home.ts";

/**
 * The planet: <home>/planet if the operator put one there (it must parse and carry a valid
 * signature, or start-up stops: silently falling back would join the wrong root set), else the
 * built-in default planet.
 */
export function loadPlanet(home: HomeDir): { planet: World; fromFile: boolean } {
  const bytes = home.read("planet");
  if (bytes === null) {
    // Test harnesses set this so nothing they start can reach the public roots by accident.
    if (process.env.ZT_NC_FORBID_DEFAULT_PLANET === "1") {
      throw new HomeDirError(
        `no planet file in ${home.root} and ZT_NC_FORBID_DEFAULT_PLANET=1: ` +
          "tests must write a loopback planet (test/support/loopback-planet.ts)",
      );
    }
    return { planet: defaultPlanet(), fromFile: false };
  }
  const parsed = World.fromBytes(bytes);
  if (!parsed.ok) throw new HomeDirError(`${home.path("planet")} is not a valid planet: ${parsed.error}`);
  if (parsed.world.type !== WORLD_TYPE_PLANET) throw new HomeDirError(`${home.path("planet")} is a moon, not a planet`);
  if (!parsed.world.verifySignature()) throw new HomeDirError(`${home.path("planet")} has a bad signature`);
  return { planet: parsed.world, fromFile: true };
}

/** Every moons.d/<16 hex>.moon that parses and verifies; bad files are logged and skipped. */
export function loadMoons(home: HomeDir): World[] {
  const dir = home.subdir("moons.d");
  const moons: World[] = [];
  for (const name of readdirSync(dir)) {
    if (!/^[0-9a-fA-F]{16}\.moon$/.test(name)) continue;
    const bytes = home.read(`moons.d/${name}`);
    if (bytes === null) continue;
    const parsed = World.fromBytes(bytes);
    if (!parsed.ok || parsed.world.type !== WORLD_TYPE_MOON || !parsed.world.verifySignature()) {
      consola.warn(`ignoring ${dir}/${name}: ${parsed.ok ? "not a validly signed moon" : parsed.error}`);
      continue;
    }
    moons.push(parsed.world);
  }
  return moons;
}

/** Persist a planet or moon update that the node accepted. */
export function saveWorld(home: HomeDir, w: World): void {
  if (w.type === WORLD_TYPE_PLANET) home.write("planet", w.serialize(), 0o644);
  else home.write(`moons.d/${w.moonFileName}`, w.serialize(), 0o644);
}

export function removeMoonFile(home: HomeDir, id: bigint): boolean {
  return home.remove(`moons.d/${id.toString(16).padStart(16, "0")}.moon`);
}
