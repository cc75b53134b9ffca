/** Loads the VL2 fixtures (copied from the lab vectors into test/fixtures/vl2). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ed25519PublicFromSeed, x25519PublicFromSecret } from "../../src/crypto/c25519.ts";
import { SeededRng } from "../../src/util/random.ts";
import { Identity } from "../../src/vl1/identity.ts";

export const FIXTURES = join(import.meta.dir, "..", "fixtures", "vl2");
export const CAPTURES = ["aes-gmac-siv", "mixed-proto11-node", "salsa2012-poly1305"] as const;

export function fixtureBytes(...path: string[]): Uint8Array {
  return new Uint8Array(readFileSync(join(FIXTURES, ...path)));
}

export function fixtureText(...path: string[]): string {
  return readFileSync(join(FIXTURES, ...path), "utf8");
}

export function fixtureJson(...path: string[]): unknown {
  return JSON.parse(fixtureText(...path));
}

export function fixtureIdentity(...path: string[]): Identity {
  const r = Identity.parse(fixtureText(...path));
  if (!r.ok) throw new Error(`${path.join("/")}: ${r.error}`);
  return r.identity;
}

export interface DecodedEntry {
  key: string;
  value_length: number;
  value_hex: string;
  value_int?: number;
  value_text?: string;
}

export function decodedEntries(...path: string[]): DecodedEntry[] {
  const j = fixtureJson(...path) as { entries: DecodedEntry[] };
  return j.entries;
}

/** Every stored config: [label, dir, conf file, decoded json, member identity file]. */
export const STORED_CONFIGS: readonly (readonly [string, string, string, string, string])[] = [
  ["netconf member", "netconf", "member.conf", "member.conf.decoded.json", "member.identity.public"],
  ...CAPTURES.map((c) => [`${c} ztcap`, c, "ztcap.conf", "ztcap.conf.decoded.json", "ztcap.identity.public"] as const),
];

export interface WirePacket {
  src: string;
  srcAddr: string;
  dst: string;
  verb: string;
  payload: string;
}

export function wirePackets(capture: string): WirePacket[] {
  return (fixtureJson(capture, "wire.json") as { packets: WirePacket[] }).packets;
}

export const controllerIdentity = (): Identity => fixtureIdentity("controller.identity.public");
export const controllerSecret = (): Identity => fixtureIdentity("controller.identity.secret");

/**
 * A working key pair with an arbitrary address, without the proof-of-work search (Identity.generate
 * takes ~0.5 s each). Enough for signing and COM hashes; it would fail locallyValidate.
 */
export function quickIdentity(seed: number, address = 0x0100000000 + seed): Identity {
  const rng = new SeededRng(seed);
  const priv = new Uint8Array(64);
  rng.fill(priv);
  const pub = new Uint8Array(64);
  pub.set(x25519PublicFromSecret(priv.subarray(0, 32)), 0);
  pub.set(ed25519PublicFromSeed(priv.subarray(32, 64)), 32);
  return Identity.fromParts(address, pub, priv);
}
