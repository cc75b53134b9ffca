/**
 * The parts of a NETWORK_CONFIG_REQUEST's metadata dictionary (spec 6.4) the controller uses.
 * Taken through a key lookup function so this does not depend on a dictionary implementation:
 * the node passes `(k) => dict.get(k)` with values as text.
 */

export interface RequestMetadata {
  /** `v`: config format version the member understands; < 6 means legacy-format configs. */
  readonly configVersion: number;
  /** `pv`, `majv`, `minv`, `revv`: recorded in the member record as vProto/vMajor/vMinor/vRev. */
  readonly protocolVersion: number;
  readonly vMajor: number;
  readonly vMinor: number;
  readonly vRev: number;
  /** `revr`: rules engine revision; 0 gets a single accept-all rule instead of the network's. */
  readonly rulesEngineRev: number;
  /** `a` = "token:<t>": a join token checked against the network's authTokens, or null. */
  readonly authToken: string | null;
}

/** Values are hexadecimal as the reference writes them; a missing or bad value reads as 0. */
export function metadataFromDictionary(get: (key: string) => string | undefined): RequestMetadata {
  const hex = (k: string): number => {
    const s = get(k);
    if (s === undefined || !/^[0-9a-fA-F]{1,16}$/.test(s)) return 0;
    const v = BigInt(`0x${s}`);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  };
  const a = get("a");
  return {
    configVersion: hex("v"),
    protocolVersion: hex("pv"),
    vMajor: hex("majv"),
    vMinor: hex("minv"),
    vRev: hex("revv"),
    rulesEngineRev: hex("revr"),
    authToken: a !== undefined && a.startsWith("token:") && a.length > 6 ? a.slice(6, 511) : null,
  };
}

/** What a 1.14 member sends (handy for tests and for the node's own requests). */
export const METADATA_1_14: RequestMetadata = {
  configVersion: 7,
  protocolVersion: 12,
  vMajor: 1,
  vMinor: 14,
  vRev: 1,
  rulesEngineRev: 1,
  authToken: null,
};
