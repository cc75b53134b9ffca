/** zerotier-idtool initmoon / genmoon: moon definitions as JSON, then a signed <id>.moon file. */

import { defineCommand } from "citty";
import { dirname } from "node:path";
import { c25519Generate } from "../../crypto/c25519.ts";
import { toHex } from "../../util/hex.ts";
import { World } from "../../vl1/world.ts";
import { fail, identityFromArg, out, readBytes, writeFileChecked } from "./common.ts";
import { worldFromJson } from "./world-json.ts";

/** JSON text with sorted keys and one-space indent, as the reference (nlohmann::json dump(1)) prints it. */
export function referenceJson(value: unknown): string {
  return JSON.stringify(sortKeys(value), null, 1);
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (typeof v === "object" && v !== null) {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) o[k] = sortKeys((v as Record<string, unknown>)[k]);
    return o;
  }
  return v;
}

export const initmoonCommand = defineCommand({
  meta: { name: "initmoon", description: "Print a moon definition (JSON) with a new signing key and this identity as first root" },
  args: { identity: { type: "positional", description: "identity.public of the first root (seed), string or file" } },
  run({ args }) {
    const arg = args.identity as string;
    const id = identityFromArg(arg);
    if (id === null) return fail(`${arg} is not a valid identity`);
    const kp = c25519Generate();
    const moon = {
      objtype: "world",
      worldType: "moon",
      updatesMustBeSignedBy: toHex(kp.pub),
      signingKey: toHex(kp.pub),
      signingKey_SECRET: toHex(kp.priv),
      id: id.addressString,
      roots: [{ identity: id.toString(false), stableEndpoints: [] }],
    };
    out(`${referenceJson(moon)}\n`);
  },
});

export const genmoonCommand = defineCommand({
  meta: { name: "genmoon", description: "Sign a moon (or planet) JSON definition; writes <16-hex-id>.moon in the current directory" },
  args: { moonJson: { type: "positional", description: "moon definition JSON (from initmoon, with stableEndpoints filled in)" } },
  run({ args }) {
    const file = args.moonJson as string;
    const text = readBytes(file);
    if (!text.ok) return fail(`cannot read ${file}`);
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(text.data));
    } catch (e) {
      return fail(`cannot parse ${file}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const now = BigInt(Date.now());
    const def = worldFromJson(json, { defaultType: null, now, baseDir: dirname(file), sortLikeGenmoon: true });
    if (!def.ok) return fail(`${file}: ${def.error}`);
    const world = World.make(def.def, def.signWith);
    const name = world.moonFileName;
    const err = writeFileChecked(name, world.serialize());
    if (err !== null) return fail(`cannot write ${name}: ${err}`);
    out(`wrote ${name} (signed world with timestamp ${world.timestamp})\n`);
  },
});
