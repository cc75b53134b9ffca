/**
 * Shared helpers for the zerotier-idtool commands: argument → identity resolution the way the
 * reference tool does it, error reporting (stderr + exit status 1), and file output.
 */

import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { Identity } from "../../vl1/identity.ts";

/** Prints msg on stderr and marks the process as failed (exit status 1). Returns nothing so callers can `return fail(...)`. */
export function fail(msg: string): void {
  process.stderr.write(`${msg}\n`);
  process.exitCode = 1;
}

export function out(text: string): void {
  process.stdout.write(text);
}

export type ReadResult = { ok: true; data: Uint8Array } | { ok: false; error: string };

export function readBytes(path: string): ReadResult {
  try {
    return { ok: true, data: new Uint8Array(readFileSync(path)) };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * An identity argument is either the identity text itself (recognised, as by the reference, by
 * being longer than 32 characters with ':' at index 10) or the name of a file holding it.
 */
export function identityFromArg(arg: string): Identity | null {
  if (arg.length > 32 && arg[10] === ":") return Identity.fromString(arg);
  const r = readBytes(arg);
  if (!r.ok) return null;
  return Identity.fromString(new TextDecoder().decode(r.data));
}

/** Writes a file; `secret` files get mode 0600 (also when they already existed). Returns an error message or null. */
export function writeFileChecked(path: string, data: string | Uint8Array, secret = false): string | null {
  try {
    writeFileSync(path, data, { mode: secret ? 0o600 : 0o644 });
    if (secret) chmodSync(path, 0o600);
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}
