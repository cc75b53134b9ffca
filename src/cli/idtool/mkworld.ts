/**
 * zerotier-idtool mkworld: build and sign a planet (or moon) from a JSON description, the
 * JSON-driven counterpart of the reference's attic/world/mkworld program (which has its roots
 * compiled in). Also creates a starting description with a fresh signing key pair.
 */

import { defineCommand } from "citty";
import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { c25519Generate } from "../../crypto/c25519.ts";
import { toHex } from "../../util/hex.ts";
import { systemRng } from "../../util/random.ts";
import { World } from "../../vl1/world.ts";
import { fail, out, readBytes, writeFileChecked } from "./common.ts";
import { referenceJson } from "./moon-commands.ts";
import { worldFromJson } from "./world-json.ts";

/** Appended to `mkworld --help` (citty renders only one-line descriptions well). */
export const MKWORLD_FORMAT_HELP = `world.json (the genmoon format; "worldType" defaults to "planet"):
  {
    "worldType": "planet",
    "id": 77000001,                      decimal number, or a hex string as in genmoon ("496ed41")
    "timestamp": 1795899642000,          optional, ms since epoch (default: now); must grow per revision
    "signingKey": "<128 hex>",           key pair that signs this revision: the previous revision's
    "signingKey_SECRET": "<128 hex>",      updatesMustBeSignedBy (for a first revision, any new key)
    "signingKeyFile": "previous.c25519", alternative to the two above: 128-byte public||private file
    "updatesMustBeSignedBy": "<128 hex>",  optional, key for the NEXT revision (default: signingKey)
    "updatesMustBeSignedByFile": "current.c25519",  alternative (64- or 128-byte file)
    "roots": [ { "identity": "<address>:0:<public key hex>",
                 "stableEndpoints": [ "10.77.0.2/9993", "2001:db8::2/9993" ] } ]
  }
  1..4 roots, at most 32 endpoints each. Key file paths are relative to world.json.

  mkworld --new-signing-key <new.json>   writes a starting world.json (mode 0600) with a fresh
                                          signing key pair, a random id and no roots; add roots, then
                                          run mkworld on it. Install the output as <home>/planet.`;

export const mkworldCommand = defineCommand({
  meta: { name: "mkworld", description: "Build and sign a planet from a JSON description (see mkworld --help); writes world.bin" },
  args: {
    worldJson: { type: "positional", required: false, description: "world description (JSON)" },
    output: { type: "positional", required: false, description: "output file (default world.bin)" },
    "new-signing-key": { type: "string", description: "write a starting world.json with a new signing key pair to this path" },
  },
  run({ args }) {
    const template = args["new-signing-key"] as string | undefined;
    const jsonFile = args.worldJson as string | undefined;
    if (template !== undefined) {
      if (jsonFile !== undefined) return fail("mkworld: give either <world.json> or --new-signing-key <file>, not both");
      return newTemplate(template);
    }
    if (jsonFile === undefined) return fail("mkworld: missing <world.json> (see zerotier-idtool mkworld --help)");
    const output = (args.output as string | undefined) ?? "world.bin";

    const text = readBytes(jsonFile);
    if (!text.ok) return fail(`cannot read ${jsonFile}`);
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(text.data));
    } catch (e) {
      return fail(`cannot parse ${jsonFile}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const def = worldFromJson(json, { defaultType: "planet", now: BigInt(Date.now()), baseDir: dirname(jsonFile), sortLikeGenmoon: false });
    if (!def.ok) return fail(`${jsonFile}: ${def.error}`);

    const world = World.make(def.def, def.signWith);
    const bytes = world.serialize();
    // Same self-check as the reference mkworld: what we write must parse back identically.
    const back = World.fromBytes(bytes);
    if (!back.ok || !back.world.equals(world) || !back.world.verifySignature(def.signWith.pub)) {
      return fail("mkworld: serialization self-check failed");
    }
    const err = writeFileChecked(output, bytes);
    if (err !== null) return fail(`cannot write ${output}: ${err}`);
    const kind = world.isPlanet ? "planet" : "moon";
    out(
      `wrote ${output} (${bytes.length} bytes; ${kind} ${world.id.toString(16).padStart(16, "0")}, ` +
        `timestamp ${world.timestamp}, ${world.roots.length} root(s))\n`,
    );
  },
});

function newTemplate(path: string): void {
  if (existsSync(path)) return fail(`${path} already exists; not overwriting a file that may hold a signing key`);
  const kp = c25519Generate();
  const id = (systemRng.u32() >>> 0) || 1;
  const tmpl = {
    worldType: "planet",
    id,
    signingKey: toHex(kp.pub),
    signingKey_SECRET: toHex(kp.priv),
    updatesMustBeSignedBy: toHex(kp.pub),
    roots: [],
  };
  const err = writeFileChecked(path, `${referenceJson(tmpl)}\n`, true);
  if (err !== null) return fail(`cannot write ${path}: ${err}`);
  out(`wrote ${path} (new signing key ${toHex(kp.pub).slice(0, 16)}…, world id ${id}); add roots, then run: zerotier-idtool mkworld ${path}\n`);
}
