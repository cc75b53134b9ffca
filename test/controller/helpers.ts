import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Controller } from "../../src/controller/controller.ts";
import { MemoryStore, type ControllerStore } from "../../src/controller/store.ts";
import type { JsonObject } from "../../src/util/json.ts";
import { isReservedAddress } from "../../src/vl1/address.ts";
import { Identity } from "../../src/vl1/identity.ts";
import { SeededRng } from "../../src/util/random.ts";
import { c25519Generate } from "../../src/crypto/c25519.ts";
import { World, WORLD_TYPE_PLANET } from "../../src/vl1/world.ts";

export const FIXTURES = join(import.meta.dir, "../fixtures/controller");

export function fixture(name: string): JsonObject {
  return JSON.parse(readFileSync(join(FIXTURES, name), "utf8")) as JsonObject;
}

/** The controller whose real records are in the fixtures. */
export const VECTOR_CONTROLLER = "3bc65e2b50";
export const VECTOR_NWID = "3bc65e2b50b151d2";

/**
 * Identities with random keys and addresses: they would fail the proof-of-work check, so tests
 * that use them inject validateIdentity (real generation costs ~0.5 s each).
 */
export function fakeIdentities(n: number, seed = 1): Identity[] {
  const rng = new SeededRng(seed);
  const out: Identity[] = [];
  const seen = new Set<number>();
  while (out.length < n) {
    const a = (rng.u32() & 0xff) * 0x100000000 + rng.u32();
    if (isReservedAddress(a) || seen.has(a)) continue;
    seen.add(a);
    const pub = new Uint8Array(64);
    rng.fill(pub);
    out.push(Identity.fromParts(a, pub));
  }
  return out;
}

export class TestClock {
  constructor(public t = 1_795_900_000_000) {}
  now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

export async function openTestController(opts: { store?: ControllerStore; clock?: TestClock; address?: string; validate?: (id: Identity) => boolean } = {}) {
  const clock = opts.clock ?? new TestClock();
  const store = opts.store ?? new MemoryStore();
  const controller = await Controller.open({
    address: opts.address ?? VECTOR_CONTROLLER,
    store,
    now: clock.now,
    rng: new SeededRng(7),
    validateIdentity: opts.validate ?? (() => true),
  });
  return { controller, clock, store };
}

export function tmpDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** The JSON type of a value as a short name ("null", "array", …) for shape comparisons. */
export function jsonType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

/**
 * Write a planet into `home` whose only root is a UDP socket of ours that swallows everything, so
 * a service started by a test never contacts ZeroTier's public roots (nor gets ICMP errors back).
 * Returns the function that closes the sink.
 */
export async function writeSinkPlanet(home: string): Promise<() => void> {
  const sink = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const key = c25519Generate(new SeededRng(11));
  const root = fakeIdentities(1, 4242)[0]!;
  const planet = World.make(
    {
      type: WORLD_TYPE_PLANET,
      id: 4242n,
      timestamp: 1000n,
      updatesMustBeSignedBy: key.pub,
      roots: [{ identity: root, stableEndpoints: [{ family: 4, ip: Uint8Array.of(127, 0, 0, 1), port: sink.port }] }],
    },
    key,
  );
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, "planet"), planet.serialize());
  return () => sink.close();
}
