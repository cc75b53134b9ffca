/**
 * From a ConfigGrant to what goes on the wire (spec 6.10 steps 6-7): the NetworkConfig with the
 * member's signed COM, tags, capabilities and one certificate of ownership for its managed IPs,
 * its dictionary text, and the signed chunks for OK(NETWORK_CONFIG_REQUEST) / NETWORK_CONFIG.
 * Also the revocation a controller sends when a member is deauthorized.
 */

import type { Identity } from "../vl1/identity.ts";
import { makeConfigChunks } from "../vl2/config-chunks.ts";
import { attachCredentials } from "../vl2/config-issue.ts";
import { CredentialType } from "../vl2/credentials/credential.ts";
import { REVOCATION_FLAG_FAST_PROPAGATE, type Revocation, signRevocation } from "../vl2/credentials/revocation.ts";
import { SPECIALIST_ACTIVE_BRIDGE } from "../vl2/network-config-binary.ts";
import { encodeNetworkConfig, makeNetworkConfig, type NetworkConfig, NetworkType } from "../vl2/network-config.ts";
import type { NetworkId } from "../vl2/network-id.ts";
import { type Decoded, fail, ok } from "../vl2/result.ts";
import type { Rule } from "../vl2/rules.ts";
import type { ConfigGrant } from "./config-grant.ts";

/** The member's NetworkConfig, every credential signed by `controller` (which must hold its secret). */
export function networkConfigFromGrant(g: ConfigGrant, controller: Identity): Decoded<NetworkConfig> {
  if (controller.addressString !== g.nwid.slice(0, 10)) return fail(`controller ${controller.addressString} does not own network ${g.nwid}`);
  const capabilities: { id: number; rules: Rule[] }[] = g.capabilities.map((c) => ({ id: c.id, rules: [...c.rules] }));
  const base = makeNetworkConfig({
    networkId: g.networkId,
    issuedTo: g.identity.address,
    timestamp: g.timestamp,
    credentialTimeMaxDelta: g.credentialTimeMaxDelta,
    revision: g.revision,
    remoteTraceTarget: g.remoteTraceTarget === null ? 0 : parseInt(g.remoteTraceTarget, 16),
    remoteTraceLevel: g.remoteTraceLevel,
    flags: g.flags,
    multicastLimit: g.multicastLimit,
    type: g.private ? NetworkType.PRIVATE : NetworkType.PUBLIC,
    name: g.name,
    mtu: g.mtu,
    specialists: g.activeBridges.map((a) => BigInt(`0x${a}`) | SPECIALIST_ACTIVE_BRIDGE),
    routes: g.routes.map((r) => ({ target: r.target, via: r.via, flags: r.flags, metric: r.metric })),
    staticIps: g.staticIps,
    rules: [...g.rules],
    dns: g.dns === null ? { domain: "", servers: [] } : { domain: g.dns.domain, servers: g.dns.servers.map((s) => ({ ...s, port: 0 })) },
  });
  // COM, the static-IP certificate of ownership, tags and capabilities, as the reference issues them.
  return ok(attachCredentials(base, g.identity, controller, { tags: g.tags.map((t) => [t.id, t.value] as const), capabilities }));
}

/**
 * The signed chunks carrying the member's config: the payload of OK(NETWORK_CONFIG_REQUEST)
 * after its in-re header, or of a NETWORK_CONFIG push. `updateId` must be random and non-zero.
 */
export function configChunksFromGrant(g: ConfigGrant, controller: Identity, updateId: bigint): Decoded<{ config: NetworkConfig; dictionary: Uint8Array; chunks: Uint8Array[] }> {
  const nc = networkConfigFromGrant(g, controller);
  if (!nc.ok) return nc;
  const dict = encodeNetworkConfig(nc.value);
  if (!dict.ok) return dict;
  return ok({ config: nc.value, dictionary: dict.value, chunks: makeConfigChunks(g.networkId, dict.value, controller, updateId) });
}

/**
 * What the reference sends to a network's online members when one is deauthorized: a
 * fast-propagating revocation of every COM of `target` issued up to `now`.
 */
export function deauthorizationRevocation(networkId: NetworkId, target: number, now: number, revocationId: number, controller: Identity): Revocation {
  return signRevocation(
    { id: revocationId >>> 0, networkId, credentialId: 0, threshold: now, flags: REVOCATION_FLAG_FAST_PROPAGATE, target, credentialType: CredentialType.COM },
    controller,
  );
}
