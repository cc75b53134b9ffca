import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { c25519Generate } from "../../src/crypto/c25519.ts";
import { hexToBytes, toHex } from "../../src/util/hex.ts";
import { SeededRng } from "../../src/util/random.ts";
import { DEFAULT_PLANET_LENGTH, defaultPlanet, defaultPlanetBytes } from "../../src/vl1/default-planet.ts";
import { Identity } from "../../src/vl1/identity.ts";
import { type InetAddress, inetAddressFromString, inetAddressToString } from "../../src/vl1/inet-address.ts";
import {
  type SigningKeyPair,
  WORLD_ID_EARTH,
  WORLD_MAX_SERIALIZED_LENGTH,
  WORLD_TYPE_MOON,
  WORLD_TYPE_PLANET,
  World,
  type WorldDefinition,
} from "../../src/vl1/world.ts";

const FIX = join(import.meta.dir, "..", "fixtures", "vl1");
const json = (name: string): unknown => JSON.parse(readFileSync(join(FIX, name), "utf8"));

interface LabPlanet {
  type: number;
  world_id: number;
  timestamp_ms: number;
  updates_must_be_signed_by_hex: string;
  signature_hex: string;
  roots: { address: string; identity_public: string; stable_endpoints: { zt_string: string }[] }[];
  length_bytes: number;
  signed_message_hex: string;
  signing_keypair: { public_hex: string; private_hex: string };
}
interface DefaultPlanetJson {
  length: number;
  hex: string;
  id: number;
  timestamp: number;
  updatesMustBeSignedBy: string;
  signature: string;
  roots: { address: string; identity_public_string: string; stableEndpoints: { string: string }[] }[];
}

const labJson = json("lab-planet.json") as LabPlanet;
const labBin = new Uint8Array(readFileSync(join(FIX, "lab-planet.bin")));
const defJson = json("default-planet.json") as DefaultPlanetJson;
const identities = json("identities.json") as { valid_identities: { identity_public: string; identity_secret: string }[] };

function parseOk(bytes: Uint8Array): World {
  const r = World.fromBytes(bytes);
  if (!r.ok) throw new Error(`world did not parse: ${r.error}`);
  return r.world;
}
function ep(s: string): InetAddress {
  const a = inetAddressFromString(s);
  if (a === null) throw new Error(`bad endpoint ${s}`);
  return a;
}
function id(s: string): Identity {
  const i = Identity.fromString(s);
  if (i === null) throw new Error("bad identity");
  return i;
}
const labKey: SigningKeyPair = {
  pub: hexToBytes(labJson.signing_keypair.public_hex),
  priv: hexToBytes(labJson.signing_keypair.private_hex),
};

describe("lab planet made by the reference mkworld", () => {
  test("parses, verifies and matches planet.json", () => {
    expect(labBin.length).toBe(labJson.length_bytes);
    const w = parseOk(labBin);
    expect(w.type).toBe(WORLD_TYPE_PLANET);
    expect(w.isPlanet).toBe(true);
    expect(w.id).toBe(BigInt(labJson.world_id));
    expect(w.timestamp).toBe(BigInt(labJson.timestamp_ms));
    expect(toHex(w.updatesMustBeSignedBy)).toBe(labJson.updates_must_be_signed_by_hex);
    expect(toHex(w.signature)).toBe(labJson.signature_hex);
    expect(w.roots.length).toBe(labJson.roots.length);
    w.roots.forEach((r, i) => {
      const j = labJson.roots[i]!;
      expect(r.identity.toString()).toBe(j.identity_public);
      expect(r.stableEndpoints.map(inetAddressToString)).toEqual(j.stable_endpoints.map((e) => e.zt_string));
    });
    expect(toHex(w.signedMessage())).toBe(labJson.signed_message_hex);
    expect(w.verifySignature()).toBe(true);
    expect(toHex(w.serialize())).toBe(toHex(labBin));
  });

  test("re-making it with the lab key reproduces the file byte for byte", () => {
    const w = parseOk(labBin);
    const def: WorldDefinition = {
      type: WORLD_TYPE_PLANET,
      id: BigInt(labJson.world_id),
      timestamp: BigInt(labJson.timestamp_ms),
      updatesMustBeSignedBy: labKey.pub,
      roots: labJson.roots.map((r) => ({ identity: id(r.identity_public), stableEndpoints: r.stable_endpoints.map((e) => ep(e.zt_string)) })),
    };
    const made = World.make(def, labKey);
    expect(toHex(made.serialize())).toBe(toHex(labBin));
    expect(made.equals(w)).toBe(true);
  });
});

describe("built-in default planet", () => {
  test("embedded bytes equal default-planet.json and verify", () => {
    const bytes = defaultPlanetBytes();
    expect(bytes.length).toBe(DEFAULT_PLANET_LENGTH);
    expect(toHex(bytes)).toBe(defJson.hex);
    const w = defaultPlanet();
    expect(w.id).toBe(WORLD_ID_EARTH);
    expect(w.id).toBe(BigInt(defJson.id));
    expect(w.timestamp).toBe(BigInt(defJson.timestamp));
    expect(toHex(w.updatesMustBeSignedBy)).toBe(defJson.updatesMustBeSignedBy);
    expect(toHex(w.signature)).toBe(defJson.signature);
    expect(w.verifySignature()).toBe(true);
    expect(toHex(w.serialize())).toBe(defJson.hex);
    expect(w.roots.map((r) => r.identity.toString())).toEqual(defJson.roots.map((r) => r.identity_public_string));
    w.roots.forEach((r, i) => {
      expect(r.stableEndpoints.map(inetAddressToString)).toEqual(defJson.roots[i]!.stableEndpoints.map((e) => e.string));
    });
  });
  test("the built-in planet is not replaced by the lab planet (different ID) and vice versa", () => {
    const lab = parseOk(labBin);
    expect(defaultPlanet().shouldBeReplacedBy(lab)).toBe(false);
    expect(lab.shouldBeReplacedBy(defaultPlanet())).toBe(false);
  });
});

function roots(n: number): WorldDefinition["roots"] {
  return identities.valid_identities.slice(0, n).map((v, i) => ({
    identity: id(v.identity_public),
    stableEndpoints: [ep(`10.0.0.${i + 1}/9993`), ep(`fd00::${i + 1}/9993`)],
  }));
}

describe("making and updating worlds", () => {
  const rng = new SeededRng(42);
  const k1 = c25519Generate(rng);
  const k2 = c25519Generate(rng);
  const base: WorldDefinition = { type: WORLD_TYPE_PLANET, id: 1234567n, timestamp: 1000n, updatesMustBeSignedBy: k1.pub, roots: roots(2) };
  const v1 = World.make(base, k1);

  test("a made world verifies and parses back equal", () => {
    expect(v1.verifySignature()).toBe(true);
    expect(v1.verifySignature(k2.pub)).toBe(false);
    const back = parseOk(v1.serialize());
    expect(back.equals(v1)).toBe(true);
    expect(back.verifySignature()).toBe(true);
  });

  test("newer revision signed by the current key replaces; older, equal, wrong signer, other id/type do not", () => {
    const newer = World.make({ ...base, timestamp: 2000n, roots: roots(3) }, k1);
    expect(v1.shouldBeReplacedBy(newer)).toBe(true);
    expect(newer.shouldBeReplacedBy(v1)).toBe(false); // older
    expect(v1.shouldBeReplacedBy(World.make({ ...base }, k1))).toBe(false); // same timestamp
    expect(v1.shouldBeReplacedBy(World.make({ ...base, timestamp: 2000n }, k2))).toBe(false); // wrong signer
    expect(v1.shouldBeReplacedBy(World.make({ ...base, timestamp: 2000n, id: 99n }, k1))).toBe(false);
    expect(v1.shouldBeReplacedBy(World.make({ ...base, timestamp: 2000n, type: WORLD_TYPE_MOON }, k1))).toBe(false);
    // a tampered newer revision (root list changed after signing) fails
    const bytes = newer.serialize();
    bytes[bytes.length - 1] ^= 1; // last endpoint's port
    expect(v1.shouldBeReplacedBy(parseOk(bytes))).toBe(false);
  });

  test("key rotation: each step must be signed by the key the previous revision named", () => {
    const v2 = World.make({ ...base, timestamp: 2000n, updatesMustBeSignedBy: k2.pub }, k1);
    expect(v1.shouldBeReplacedBy(v2)).toBe(true);
    expect(v2.verifySignature()).toBe(false); // signed by k1, names k2
    expect(v2.shouldBeReplacedBy(World.make({ ...base, timestamp: 3000n, updatesMustBeSignedBy: k2.pub }, k2))).toBe(true);
    expect(v2.shouldBeReplacedBy(World.make({ ...base, timestamp: 3000n, updatesMustBeSignedBy: k2.pub }, k1))).toBe(false);
  });

  test("moons carry the empty dictionary, parse back and verify", () => {
    const moon = World.make({ ...base, type: WORLD_TYPE_MOON, id: 0xdeadbeefn }, k1);
    const b = moon.serialize();
    expect(toHex(b.subarray(b.length - 2))).toBe("0000");
    expect(moon.moonFileName).toBe("00000000deadbeef.moon");
    const back = parseOk(b);
    expect(back.isMoon).toBe(true);
    expect(back.verifySignature()).toBe(true);
    // a non-empty dictionary is skipped; like the reference, the signature covers an empty one
    const withDict = new Uint8Array(b.length + 3);
    withDict.set(b);
    withDict[b.length - 1] = 3;
    const r = World.fromBytes(withDict);
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.length).toBe(withDict.length);
      expect(r.world.verifySignature()).toBe(true);
      expect(r.world.serialize().length).toBe(b.length);
    }
  });

  test("make refuses definitions beyond the format's limits", () => {
    const tooMany = [...roots(4), ...roots(1)];
    expect(() => World.make({ ...base, roots: tooMany }, k1)).toThrow(RangeError);
    const eps = Array.from({ length: 33 }, (_, i) => ep(`10.1.0.${i}/1`));
    expect(() => World.make({ ...base, roots: [{ identity: roots(1)[0]!.identity, stableEndpoints: eps }] }, k1)).toThrow(RangeError);
    expect(() => World.make({ ...base, id: -1n }, k1)).toThrow(RangeError);
    expect(() => World.make({ ...base, updatesMustBeSignedBy: new Uint8Array(32) }, k1)).toThrow(RangeError);
    // 4 roots x 32 IPv6 endpoints is the largest legal world and fits
    const big = roots(4).map((r) => ({ identity: r.identity, stableEndpoints: Array.from({ length: 32 }, (_, i) => ep(`fd00::${i}/9993`)) }));
    const w = World.make({ ...base, roots: big }, k1);
    expect(w.serialize().length).toBeLessThanOrEqual(WORLD_MAX_SERIALIZED_LENGTH);
    expect(parseOk(w.serialize()).verifySignature()).toBe(true);
  });
});

describe("corrupt world bytes", () => {
  test("every truncation of a valid world is an error", () => {
    for (let n = 0; n < labBin.length; n++) {
      const r = World.fromBytes(labBin.subarray(0, n));
      expect(r.ok).toBe(false);
    }
  });
  test("bad type, too many roots/endpoints, bad identity, bad endpoint type, trailing and oversized data", () => {
    const mutate = (off: number, v: number): Uint8Array => {
      const b = labBin.slice();
      b[off] = v;
      return b;
    };
    const rootCountAt = 1 + 8 + 8 + 64 + 96;
    const idTypeAt = rootCountAt + 1 + 5;
    const epCountAt = rootCountAt + 1 + 71;
    const cases: [string, Uint8Array, RegExp][] = [
      ["type 2", mutate(0, 2), /world type/],
      ["5 roots", mutate(rootCountAt, 5), /roots/],
      ["identity type 1", mutate(idTypeAt, 1), /identity type/],
      ["private key length 3", mutate(idTypeAt + 65, 3), /private key length/],
      ["33 endpoints", mutate(epCountAt, 33), /endpoints/],
      ["endpoint type 5", mutate(epCountAt + 1, 5), /InetAddress type/],
      ["trailing byte", Uint8Array.from([...labBin, 0]), /unexpected bytes/],
      ["oversized", new Uint8Array(WORLD_MAX_SERIALIZED_LENGTH + 1).fill(1), /more than/],
    ];
    for (const [name, bytes, msg] of cases) {
      const r = World.fromBytes(bytes);
      expect({ name, ok: r.ok }).toEqual({ name, ok: false });
      if (!r.ok) expect(r.error).toMatch(msg);
    }
    // parse() with an explicit range leaves trailing bytes to the caller
    const padded = Uint8Array.from([9, ...labBin, 1, 2, 3]);
    const r = World.parse(padded, 1, padded.length);
    expect(r.ok && r.length).toBe(labBin.length);
  });
  test("null and reserved-type endpoints are skipped; a null world is replaced by anything", () => {
    // lab planet has 1 endpoint (IPv4, 7 bytes, last in the file): put a null and an Ethernet entry before it
    const epCountAt = 1 + 8 + 8 + 64 + 96 + 1 + 71;
    const b = Uint8Array.from([...labBin.subarray(0, epCountAt), 3, 0x00, 0x01, 1, 2, 3, 4, 5, 6, ...labBin.subarray(epCountAt + 1)]);
    const w = parseOk(b);
    expect(w.roots[0]!.stableEndpoints.map(inetAddressToString)).toEqual(["10.77.0.2/9993"]);
    const nullWorld = parseOk(Uint8Array.from([0, ...labBin.subarray(1, 1 + 8 + 8 + 64 + 96), 0]));
    expect(nullWorld.type).toBe(0);
    expect(nullWorld.shouldBeReplacedBy(parseOk(labBin))).toBe(true);
  });
  test("thousands of random mutations never throw and never hang", () => {
    const rng = new SeededRng(2026);
    const sources = [labBin, defaultPlanetBytes()];
    let ok = 0;
    let bad = 0;
    const t0 = performance.now();
    for (let i = 0; i < 4000; i++) {
      const src = sources[i & 1]!;
      let b = src.slice();
      switch (rng.u32() % 4) {
        case 0: // flip a few bits
          for (let k = 1 + (rng.u32() % 4); k > 0; k--) b[rng.u32() % b.length]! ^= 1 << (rng.u32() % 8);
          break;
        case 1: // truncate
          b = b.subarray(0, rng.u32() % b.length);
          break;
        case 2: // overwrite a count-ish byte with a large value
          b[rng.u32() % b.length] = 0xff;
          break;
        default: // pure garbage of random length
          b = new Uint8Array(rng.u32() % 1200);
          rng.fill(b);
      }
      const r = World.fromBytes(b);
      if (r.ok) {
        ok++;
        r.world.serialize(); // whatever parsed must also serialize
        r.world.verifySignature();
      } else {
        bad++;
        expect(r.error.length).toBeGreaterThan(0);
      }
    }
    expect(ok + bad).toBe(4000);
    expect(bad).toBeGreaterThan(1000);
    expect(performance.now() - t0).toBeLessThan(30000);
  });
});
