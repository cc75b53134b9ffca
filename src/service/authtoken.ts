import type { Rng } from "../util/random.ts";
import type { HomeDir } from "./home.ts";

const TOKEN_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
const TOKEN_LENGTH = 24;

/** A new API token as zerotier-one makes them: 24 characters of [a-z0-9]. */
export function makeToken(rng: Rng): string {
  const bytes = new Uint8Array(TOKEN_LENGTH);
  rng.fill(bytes);
  let s = "";
  for (const b of bytes) s += TOKEN_ALPHABET[b % TOKEN_ALPHABET.length];
  return s;
}

/**
 * Read `name` (authtoken.secret, metricstoken.secret) from the home directory, creating it with mode
 * 0600 if missing. The stored token is whitespace-trimmed, as zerotier-one does; an empty file is
 * refused rather than silently accepting an empty token.
 */
export function loadOrCreateToken(home: HomeDir, name: string, rng: Rng): string {
  const existing = home.readText(name);
  if (existing !== null) {
    const t = existing.trim();
    if (t.length === 0) throw new Error(`${home.path(name)} is empty; delete it to have a new token generated`);
    return t;
  }
  const token = makeToken(rng);
  home.write(name, token, 0o600);
  return token;
}

/** Constant-time string comparison for tokens. */
export function tokenEquals(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return d === 0;
}
