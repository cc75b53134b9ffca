/**
 * Turns a network record and an authorized member record into a ConfigGrant (spec 6.10 step 6):
 * rules (or accept-all for members without a rules engine), default capabilities for new members,
 * default tags, routes, managed IPs and DNS. Mutates the member record where the reference does
 * (default capabilities/tags are recorded); the caller records the returned new IP assignments.
 */

import type { JsonObject } from "../util/json.ts";
import type { Identity } from "../vl1/identity.ts";
import { type Assignment, assignIps } from "./ip-assignment.ts";
import { CONFIG_FLAG_ENABLE_BROADCAST, CONFIG_FLAG_ENABLE_IPV6_NDP_EMULATION, type ConfigGrant } from "./config-grant.ts";
import { memberSettings } from "./member-json.ts";
import { MAX_CAPABILITIES, MAX_TAGS, type NetworkSettings } from "./network-json.ts";
import type { RequestMetadata } from "./request-metadata.ts";
import { ACCEPT_ALL } from "../vl2/rules.ts";

export interface GrantInput {
  nwid: string;
  identity: Identity;
  metadata: RequestMetadata;
  now: number;
  net: NetworkSettings;
  /** The member record being served (mutated: default capabilities and tags). */
  member: JsonObject;
  /**
   * No record of this member existed before this request (one made by POST or a denied request
   * counts): network default capabilities are granted.
   */
  newMember: boolean;
  /** Addresses recorded for members of the network. */
  taken: { has(ip: string): boolean };
  activeBridges: readonly string[];
}

export type GrantBody = Omit<ConfigGrant, "networkId" | "network" | "member">;

export function buildGrant(g: GrantInput): { grant: GrantBody; assignment: Assignment } {
  const { net, member, metadata } = g;
  const withRules = metadata.rulesEngineRev > 0;
  const capabilities: { id: number; rules: ConfigGrant["rules"] }[] = [];
  const tags: { id: number; value: number }[] = [];

  if (withRules) {
    const memberCaps = Array.isArray(member.capabilities) ? [...member.capabilities] : [];
    if (g.newMember) {
      for (const c of net.capabilities) if (c.default && !memberCaps.includes(c.id)) memberCaps.push(c.id);
      member.capabilities = memberCaps;
    }
    const view = memberSettings(member);
    const capsById = new Map(net.capabilities.map((c) => [c.id, c]));
    for (const id of view.capabilities) {
      const c = capsById.get(id);
      if (c !== undefined && capabilities.length < MAX_CAPABILITIES) capabilities.push({ id, rules: c.rules });
    }
    const tagValues = new Map(view.tags);
    const memberTags = Array.isArray(member.tags) ? [...member.tags] : [];
    for (const t of net.tags) {
      if (t.default !== null && !tagValues.has(t.id)) {
        tagValues.set(t.id, t.default);
        memberTags.push([t.id, t.default]);
      }
    }
    member.tags = memberTags;
    for (const [id, value] of [...tagValues.entries()].sort((a, b) => a[0] - b[0])) {
      if (tags.length < MAX_TAGS) tags.push({ id, value });
    }
  }

  const view = memberSettings(member);
  const assignment = assignIps(g.nwid, g.identity.addressString, net, view, g.taken);
  let flags = net.enableBroadcast ? CONFIG_FLAG_ENABLE_BROADCAST : 0;
  if (assignment.ndpEmulation) flags |= CONFIG_FLAG_ENABLE_IPV6_NDP_EMULATION;
  const memberTrace = view.remoteTraceTarget !== null;

  return {
    assignment,
    grant: {
      kind: "ok",
      nwid: g.nwid,
      identity: g.identity,
      memberAddress: g.identity.addressString,
      timestamp: g.now,
      credentialTimeMaxDelta: net.credentialTimeMaxDelta,
      revision: net.revision,
      private: net.private,
      name: net.name,
      mtu: net.mtu,
      multicastLimit: net.multicastLimit,
      flags,
      remoteTraceTarget: memberTrace ? view.remoteTraceTarget : net.remoteTraceTarget,
      remoteTraceLevel: memberTrace ? view.remoteTraceLevel : net.remoteTraceLevel,
      activeBridges: g.activeBridges,
      rules: withRules ? net.rules : ACCEPT_ALL,
      capabilities,
      tags,
      routes: net.routes.map((r) => ({ target: r.target, via: r.via, flags: 0, metric: 0 })),
      staticIps: assignment.staticIps,
      dns: net.dns === null ? null : { domain: net.dns.domain, servers: net.dns.servers },
      legacy: metadata.configVersion < 6,
      metadata,
    },
  };
}
