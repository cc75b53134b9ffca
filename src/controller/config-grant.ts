/**
 * Everything needed to build a member's NetworkConfig (spec 6.5) once the controller has decided
 * to serve it: typed values, rules already in wire form, managed IPs with prefix bits. Signing
 * (COM, tags, capabilities, CoO) and the dictionary/chunk encoding are done by the VL2 side,
 * which holds the controller's secret identity.
 */

import type { JsonObject } from "../util/json.ts";
import type { Identity } from "../vl1/identity.ts";
import type { InetAddress } from "../vl1/inet-address.ts";
import type { RequestMetadata } from "./request-metadata.ts";
import type { Rule } from "../vl2/rules.ts";

/** NetworkConfig `f` flag bits the controller sets. */
export const CONFIG_FLAG_ENABLE_BROADCAST = 0x2;
export const CONFIG_FLAG_ENABLE_IPV6_NDP_EMULATION = 0x4;

export interface ConfigRoute {
  /** Network address, port = prefix bits. */
  readonly target: InetAddress;
  /** Gateway, or null for "directly on the virtual LAN". */
  readonly via: InetAddress | null;
  readonly flags: number;
  readonly metric: number;
}

export interface ConfigGrant {
  readonly kind: "ok";
  /** 16-hex network ID and its numeric form. */
  readonly nwid: string;
  readonly networkId: bigint;
  /** Member's full identity (issued-to = its address). */
  readonly identity: Identity;
  readonly memberAddress: string;
  /** Wall-clock ms: config `ts`, COM timestamp and credential timestamps. */
  readonly timestamp: number;
  /** `ctmd`. */
  readonly credentialTimeMaxDelta: number;
  /** `r`: the network record's revision. */
  readonly revision: number;
  /** `t` = 0 when private. */
  readonly private: boolean;
  readonly name: string;
  readonly mtu: number;
  readonly multicastLimit: number;
  /** `f`: CONFIG_FLAG_* bits. */
  readonly flags: number;
  /** `tt` / `tl` (member's setting wins over the network's). */
  readonly remoteTraceTarget: string | null;
  readonly remoteTraceLevel: number;
  /** `S`: addresses of active bridges (specialist flag 0x0000020000000000). */
  readonly activeBridges: readonly string[];
  /** `R`: rule table. A single accept for members with revr = 0. */
  readonly rules: readonly Rule[];
  /** `CAP`: capabilities to sign for this member (custody chain length 1). */
  readonly capabilities: readonly { readonly id: number; readonly rules: readonly Rule[] }[];
  /** `TAG`: tags to sign for this member, ordered by id. */
  readonly tags: readonly { readonly id: number; readonly value: number }[];
  /** `RT`. */
  readonly routes: readonly ConfigRoute[];
  /** `I`: managed addresses, port = prefix bits. Also the things of the single CoO (ID 1). */
  readonly staticIps: readonly InetAddress[];
  /** `DNS` (domain, up to 4 servers); null = none (send an empty DNS block). */
  readonly dns: { readonly domain: string; readonly servers: readonly InetAddress[] } | null;
  /** The member asked with config version < 6 (legacy format). */
  readonly legacy: boolean;
  /** The member's request metadata, as given. */
  readonly metadata: RequestMetadata;
  /** The stored records after this request (copies). */
  readonly network: JsonObject;
  readonly member: JsonObject;
}

export type ConfigDecision =
  | ConfigGrant
  /** No such network here: answer ERROR OBJ_NOT_FOUND (+nwid). */
  | { readonly kind: "not-found" }
  /** Not authorized, identity mismatch or invalid identity: answer ERROR NETWORK_ACCESS_DENIED_ (+nwid). */
  | { readonly kind: "access-denied"; readonly reason: string }
  /** Not ours (nwid prefix ≠ our address) or a repeat within 1 s: send nothing. */
  | { readonly kind: "ignored"; readonly reason: string };
