/**
 * networks.d/<nwid>.local.conf: per-network local settings in Dictionary text (allowManaged,
 * allowGlobal, allowDefault, allowDNS), written by zerotier-one when they change through the API.
 */
import { type InetAddress, inetAddressFromString } from "../vl1/inet-address.ts";
import { Dictionary } from "./dictionary.ts";
import { type Decoded, fail, ok } from "./result.ts";

export interface NetworkLocalSettings {
  /** Apply managed (controller-assigned) addresses and routes. */
  readonly allowManaged: boolean;
  /** Allow managed addresses/routes that overlap public (global) IP space. */
  readonly allowGlobal: boolean;
  /** Allow a default route from the controller. */
  readonly allowDefault: boolean;
  /** Apply DNS servers from the controller. */
  readonly allowDNS: boolean;
  /**
   * If non-empty, only these managed addresses are applied: zerotier-one accepts a comma-separated
   * list of IPs in place of the allowManaged boolean (values longer than 5 characters).
   */
  readonly allowManagedWhitelist: readonly InetAddress[];
}

/** zerotier-one's defaults for a newly joined network. The whitelist is never written back (as in zerotier-one). */
export const DEFAULT_LOCAL_SETTINGS: NetworkLocalSettings = { allowManaged: true, allowGlobal: false, allowDefault: false, allowDNS: false, allowManagedWhitelist: [] };

/** zerotier-one loads the file into a Dictionary<4096>. */
const LOCAL_CONF_CAPACITY = 4096;

export function encodeLocalConf(s: NetworkLocalSettings): Uint8Array {
  const d = new Dictionary().addBool("allowManaged", s.allowManaged).addBool("allowGlobal", s.allowGlobal).addBool("allowDefault", s.allowDefault).addBool("allowDNS", s.allowDNS);
  const b = d.toBytes();
  // zerotier-one ends the file with a newline
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  out[b.length] = 0x0a;
  return out;
}

/** Missing keys take zerotier-one's defaults; unknown keys are ignored. */
export function parseLocalConf(bytes: Uint8Array): Decoded<NetworkLocalSettings> {
  const d = Dictionary.parse(bytes, LOCAL_CONF_CAPACITY);
  if (!d.ok) return fail(`local.conf: ${d.error}`);
  const v = d.value;
  const managed = v.getString("allowManaged") ?? "";
  const whitelist: InetAddress[] = [];
  if (managed.length > 5) {
    for (const item of managed.split(",")) {
      const a = inetAddressFromString(item.trim());
      if (a === null) return fail(`local.conf: allowManaged entry ${JSON.stringify(item)} is not an IP address`);
      whitelist.push(a);
    }
  }
  return ok({
    // absent or empty means allowed, as in zerotier-one
    allowManaged: managed.length === 0 || whitelist.length > 0 || v.getBool("allowManaged", true),
    allowManagedWhitelist: whitelist,
    allowGlobal: v.getBool("allowGlobal", DEFAULT_LOCAL_SETTINGS.allowGlobal),
    allowDefault: v.getBool("allowDefault", DEFAULT_LOCAL_SETTINGS.allowDefault),
    allowDNS: v.getBool("allowDNS", DEFAULT_LOCAL_SETTINGS.allowDNS),
  });
}
