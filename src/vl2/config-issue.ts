/**
 * What a controller attaches to a member's config, as 1.14's EmbeddedNetworkController does it:
 * a COM with the identity hash, one certificate of ownership (ID 1) for all static IPs, and the
 * member's tags and capabilities, all signed by the controller and timestamped "now". The
 * controller then serializes the config (encodeNetworkConfig) and chunks it (makeConfigChunks).
 */
import type { Identity } from "../vl1/identity.ts";
import type { InetAddress } from "../vl1/inet-address.ts";
import { makeCom, signCom } from "./com.ts";
import { type Capability, issueCapability } from "./credentials/capability.ts";
import { type CertificateOfOwnership, ThingType, ownedThing, signCoo } from "./credentials/certificate-of-ownership.ts";
import { type Tag, signTag } from "./credentials/tag.ts";
import type { NetworkConfig } from "./network-config.ts";
import type { Rule } from "./rules.ts";

export const CREDENTIAL_TIME_MAX_DELTA_DEFAULT = 30 * 60 * 1000;
export const CREDENTIAL_TIME_MAX_DELTA_MIN = 5 * 60 * 1000;
export const CREDENTIAL_TIME_MAX_DELTA_MAX = 2 * 60 * 60 * 1000;

/** ctmd from the network's certificateTimeoutWindowSize (if any), clamped as the reference does. */
export function credentialTimeMaxDelta(windowSize?: number): number {
  const v = windowSize ?? CREDENTIAL_TIME_MAX_DELTA_DEFAULT;
  return Math.max(Math.min(v, CREDENTIAL_TIME_MAX_DELTA_MAX), CREDENTIAL_TIME_MAX_DELTA_MIN);
}

/** The single CoO 1.14 issues: ID 1, flags 0, every static IP as a thing (at most 16). */
export function issueStaticIpCoo(config: NetworkConfig, controller: Identity): CertificateOfOwnership | null {
  if (config.staticIps.length === 0) return null;
  const things = config.staticIps
    .slice(0, 16)
    .map((a: InetAddress) => ownedThing(a.family === 4 ? ThingType.IPV4 : ThingType.IPV6, a.ip));
  return signCoo({ networkId: config.networkId, timestamp: config.timestamp, flags: 0n, id: 1, things, issuedTo: config.issuedTo }, controller);
}

export interface MemberGrants {
  /** (tag id, value) pairs; rendered sorted by id. */
  readonly tags?: readonly (readonly [number, number])[];
  readonly capabilities?: readonly { readonly id: number; readonly rules: readonly Rule[] }[];
}

/**
 * Completes a config built by the controller (network fields, static IPs, routes, rules…) with
 * the signed credentials for `member`. `config.timestamp` is "now" and `config.issuedTo` must be
 * the member's address.
 */
export function attachCredentials(config: NetworkConfig, member: Identity, controller: Identity, grants: MemberGrants = {}): NetworkConfig {
  if (config.issuedTo !== member.address) throw new RangeError("config is not issued to this member");
  if (Number(config.networkId >> 24n) !== controller.address) throw new RangeError("controller does not own this network");
  const ts = config.timestamp;
  const tags: Tag[] = [...(grants.tags ?? [])]
    .sort((a, b) => a[0] - b[0])
    .map(([id, value]) => signTag({ networkId: config.networkId, timestamp: ts, id, value, issuedTo: member.address }, controller));
  const capabilities: Capability[] = [...(grants.capabilities ?? [])]
    .sort((a, b) => a.id - b.id)
    .map((c) => issueCapability({ networkId: config.networkId, timestamp: ts, id: c.id, rules: c.rules }, member.address, controller));
  const coo = issueStaticIpCoo(config, controller);
  return {
    ...config,
    tags,
    capabilities,
    certificatesOfOwnership: coo === null ? [] : [coo],
    com: signCom(makeCom(ts, config.credentialTimeMaxDelta, config.networkId, member), controller),
  };
}
