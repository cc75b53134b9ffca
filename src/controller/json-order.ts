import type { JsonValue } from "../util/json.ts";

/**
 * A copy with object keys sorted, recursively. zerotier-one's JSON library keeps keys sorted,
 * so records written this way read the same as the reference's (and diff cleanly).
 */
export function sortedJson<T extends JsonValue>(v: T): T {
  if (Array.isArray(v)) return v.map((x) => sortedJson(x)) as T;
  if (typeof v === "object" && v !== null) {
    const out: { [k: string]: JsonValue } = {};
    for (const k of Object.keys(v).sort()) out[k] = sortedJson(v[k]!);
    return out as T;
  }
  return v;
}

/** Deep equality of JSON values, ignoring the listed top-level keys. */
export function jsonEqual(a: JsonValue, b: JsonValue, ignoreTopLevel: readonly string[] = []): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => jsonEqual(x, b[i]!));
  }
  if (typeof a !== "object" || a === null || typeof b !== "object" || b === null || Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => !ignoreTopLevel.includes(k));
  const kb = Object.keys(b).filter((k) => !ignoreTopLevel.includes(k));
  if (ka.length !== kb.length) return false;
  return ka.every((k) => k in b && jsonEqual(a[k]!, b[k]!));
}
