/** Loads the known-answer vectors copied into test/fixtures/crypto/ and reads fields with type checks. */
import { readFileSync } from "node:fs";
import { join } from "node:path";

const dir = join(import.meta.dir, "..", "fixtures", "crypto");

export function loadVectors(name: "vectors-selftest.json" | "vectors-generated.json"): unknown {
  return JSON.parse(readFileSync(join(dir, name), "utf8")) as unknown;
}

/** Walk a dotted path ("a.b.0.c") through parsed JSON; throws (failing the test) if absent. */
export function at(root: unknown, path: string): unknown {
  let cur: unknown = root;
  for (const part of path.split(".")) {
    if (Array.isArray(cur)) cur = cur[Number(part)];
    else if (typeof cur === "object" && cur !== null && part in cur) cur = (cur as Record<string, unknown>)[part];
    else throw new Error(`vector path ${path} missing at ${part}`);
  }
  return cur;
}

export function str(root: unknown, path: string): string {
  const v = at(root, path);
  if (typeof v !== "string") throw new Error(`vector ${path} is not a string`);
  return v;
}

export function hex(root: unknown, path: string): Uint8Array {
  return fromHex(str(root, path));
}

export function list(root: unknown, path: string): unknown[] {
  const v = at(root, path);
  if (!Array.isArray(v)) throw new Error(`vector ${path} is not a list`);
  return v;
}

export function fromHex(h: string): Uint8Array {
  const clean = h.replace(/\s+/g, "");
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new Error(`bad hex: ${h.slice(0, 20)}`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}
