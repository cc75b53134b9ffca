/**
 * Vanity addresses for `generate [secret] [public] [vanity]`: keep generating until the address
 * starts with the given hex digits. Each digit multiplies the expected time by 16 (one identity
 * takes ~0.5 s), so this is for one or two digits in practice.
 */

import { addressToString } from "../../vl1/address.ts";

export interface VanityPrefix {
  /** Lowercase hex digits the address must start with. */
  readonly digits: string;
}

/**
 * Parses a vanity prefix: 1..10 hex digits. Prefixes no address can have (starting with "ff",
 * or all ten digits zero) are refused instead of searching forever.
 */
export function parseVanity(text: string): VanityPrefix | { error: string } {
  if (!/^[0-9a-fA-F]{1,10}$/.test(text)) return { error: `invalid vanity prefix "${text}" (1 to 10 hex digits)` };
  const digits = text.toLowerCase();
  if (digits.startsWith("ff")) return { error: `vanity prefix "${text}" can never match: addresses beginning with ff are reserved` };
  if (digits === "0000000000") return { error: `vanity prefix "${text}" can never match: 0000000000 is reserved` };
  return { digits };
}

export function vanityMatches(address: number, prefix: VanityPrefix): boolean {
  return addressToString(address).startsWith(prefix.digits);
}
