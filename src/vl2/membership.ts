/**
 * What we know about one other member of a network (1.14's Membership): the COM and credentials
 * it pushed to us, revocation thresholds, and the answers the gate and the rules engine need.
 * Pure bookkeeping: the caller routes each credential to the membership of its holder (the
 * credential's issued-to), passes identities it knows (null → ask WHOIS and retry), and the
 * membership decides accept / reject / redundant exactly as 1.14 does.
 *
 * Deviation: 1.14 stores a tag/capability/CoO revocation's threshold as the COM threshold (so
 * revoking a tag also cuts the member off); we record it for that credential, as intended.
 */
import { bytesEqual } from "../util/bytes.ts";
import type { Address } from "../vl1/address.ts";
import type { Identity } from "../vl1/identity.ts";
import { type CertificateOfMembership, comAgrees, comEquals, comNetworkId, comTimestamp, verifyCom } from "./com.ts";
import { type Capability, encodeCapability, verifyCapability } from "./credentials/capability.ts";
import { type CertificateOfOwnership, ThingType, cooOwns, encodeCoo, verifyCoo } from "./credentials/certificate-of-ownership.ts";
import { CredentialType } from "./credentials/credential.ts";
import { type Revocation, verifyRevocation } from "./credentials/revocation.ts";
import { type Tag, encodeTag, verifyTag } from "./credentials/tag.ts";
import { type Mac, writeMac } from "./mac.ts";
import { rfc4193Address, sixPlaneAddress } from "./managed-ipv6.ts";
import { type NetworkConfig, ndpEmulationEnabled } from "./network-config.ts";
import type { Rule } from "./rules.ts";

/** ZT_PEER_ACTIVITY_TIMEOUT: a COM this recent means the peer is "recently associated". */
export const PEER_ACTIVITY_TIMEOUT = 500000;

export type AddCredentialResult =
  | { readonly kind: "accepted-new" }
  | { readonly kind: "accepted-redundant" }
  | { readonly kind: "rejected"; readonly reason: string }
  | { readonly kind: "deferred"; readonly whois: Address };

const macScratch = new Uint8Array(6);
const NEW: AddCredentialResult = { kind: "accepted-new" };
const REDUNDANT: AddCredentialResult = { kind: "accepted-redundant" };
const rejected = (reason: string): AddCredentialResult => ({ kind: "rejected", reason });

export class Membership {
  private com: CertificateOfMembership | null = null;
  private comRevocationThreshold = 0;
  /** Per (credential type, id): credentials with timestamp ≤ threshold are revoked. */
  private readonly revocations = new Map<number, number>();
  private readonly tags = new Map<number, Tag>();
  private readonly caps = new Map<number, Capability>();
  private readonly coos = new Map<number, CertificateOfOwnership>();
  /** Last time we announced our multicast groups / pushed our credentials to this member. */
  lastMulticastAnnounce = 0;
  lastPushedCredentials = 0;
  /**
   * The network's answers about this member, each valid for the config generation it names
   * (src/vl2/network.ts; -1: none). Fields rather than the network's WeakMaps: a frame of sparse
   * traffic consulted three of those, each a hash table on its own cold pages.
   */
  pushedGeneration = -1;
  gateGeneration = -1;
  gateCom: CertificateOfMembership | null = null;
  gateOk = false;
  capsGeneration = -1;
  capsRules: readonly (readonly Rule[])[] = [];

  get certificateOfMembership(): CertificateOfMembership | null {
    return this.com;
  }

  private static key(type: number, id: number): number {
    return type * 0x100000000 + id;
  }

  // ---- gate ----

  /** Spec 6.12: public network, or a non-revoked COM that agrees with ours. */
  isAllowedOnNetwork(nconf: NetworkConfig, peer: Identity): boolean {
    if (nconf.type === 1) return true;
    if (this.com === null || nconf.com === null) return false;
    return comTimestamp(this.com) > this.comRevocationThreshold && comAgrees(nconf.com, this.com, peer);
  }

  recentlyAssociated(now: number): boolean {
    return this.com !== null && now - comTimestamp(this.com) < PEER_ACTIVITY_TIMEOUT;
  }

  // ---- adding credentials ----

  addCom(nconf: NetworkConfig, com: CertificateOfMembership, controller: Identity | null): AddCredentialResult {
    if (comNetworkId(com) !== nconf.networkId) return rejected("COM for another network");
    const ts = comTimestamp(com);
    if (ts <= this.comRevocationThreshold) return rejected("COM revoked");
    if (this.com !== null && ts < comTimestamp(this.com)) return rejected("COM older than the one held");
    if (this.com !== null && comEquals(this.com, com)) return REDUNDANT;
    if (controller === null) return { kind: "deferred", whois: com.signedBy };
    const bad = verifyCom(com, controller);
    if (bad !== null) return rejected(bad);
    this.com = com;
    return NEW;
  }

  private addCred<C extends { networkId: bigint; timestamp: number; id: number }>(
    nconf: NetworkConfig,
    store: Map<number, C>,
    type: number,
    cred: C,
    encode: (c: C) => Uint8Array,
    verify: () => AddCredentialResult | null,
  ): AddCredentialResult {
    if (cred.networkId !== nconf.networkId) return rejected("credential for another network");
    const held = store.get(cred.id);
    if (held !== undefined) {
      if (held.timestamp > cred.timestamp) return rejected("credential older than the one held");
      if (bytesEqual(encode(held), encode(cred))) return REDUNDANT;
    }
    const threshold = this.revocations.get(Membership.key(type, cred.id));
    if (threshold !== undefined && threshold >= cred.timestamp) return rejected("credential revoked");
    const v = verify();
    if (v !== null) return v;
    store.set(cred.id, cred);
    return NEW;
  }

  addTag(nconf: NetworkConfig, tag: Tag, controller: Identity | null): AddCredentialResult {
    return this.addCred(nconf, this.tags, CredentialType.TAG, tag, encodeTag, () => {
      if (controller === null) return { kind: "deferred", whois: tag.signedBy };
      const bad = verifyTag(tag, controller);
      return bad === null ? null : rejected(bad);
    });
  }

  addCoo(nconf: NetworkConfig, coo: CertificateOfOwnership, controller: Identity | null): AddCredentialResult {
    return this.addCred(nconf, this.coos, CredentialType.COO, coo, encodeCoo, () => {
      if (controller === null) return { kind: "deferred", whois: coo.signedBy };
      const bad = verifyCoo(coo, controller);
      return bad === null ? null : rejected(bad);
    });
  }

  /** `lookup` gives the identities of the custody chain's signers (controller first). */
  addCapability(nconf: NetworkConfig, cap: Capability, lookup: (a: Address) => Identity | null): AddCredentialResult {
    return this.addCred(nconf, this.caps, CredentialType.CAPABILITY, cap, encodeCapability, () => {
      const r = verifyCapability(cap, lookup);
      if (r.ok) return null;
      return r.whois !== undefined ? { kind: "deferred", whois: r.whois } : rejected(r.reason);
    });
  }

  addRevocation(nconf: NetworkConfig, rev: Revocation, controller: Identity | null): AddCredentialResult {
    if (rev.networkId !== nconf.networkId) return rejected("revocation for another network");
    if (controller === null) return { kind: "deferred", whois: rev.signedBy };
    const bad = verifyRevocation(rev, controller);
    if (bad !== null) return rejected(bad);
    switch (rev.credentialType) {
      case CredentialType.COM:
        if (rev.threshold > this.comRevocationThreshold) {
          this.comRevocationThreshold = rev.threshold;
          return NEW;
        }
        return REDUNDANT;
      case CredentialType.CAPABILITY:
      case CredentialType.TAG:
      case CredentialType.COO: {
        const k = Membership.key(rev.credentialType, rev.credentialId);
        if ((this.revocations.get(k) ?? 0) < rev.threshold) {
          this.revocations.set(k, rev.threshold);
          return NEW;
        }
        return REDUNDANT;
      }
      default:
        return rejected(`revocation of unsupported credential type ${rev.credentialType}`);
    }
  }

  // ---- answers for the rules engine ----

  private valid(nconf: NetworkConfig, type: number, c: { timestamp: number; id: number }): boolean {
    if (Math.abs(c.timestamp - nconf.timestamp) > nconf.credentialTimeMaxDelta) return false;
    const t = this.revocations.get(Membership.key(type, c.id));
    return t === undefined || c.timestamp > t;
  }

  /** The peer's tag value if we hold a currently valid tag with this id. */
  tag(nconf: NetworkConfig, id: number): number | undefined {
    const t = this.tags.get(id);
    return t !== undefined && this.valid(nconf, CredentialType.TAG, t) ? t.value : undefined;
  }

  /** Rule sets of the peer's currently valid capabilities (evaluated on inbound frames). */
  capabilityRules(nconf: NetworkConfig): (readonly Rule[])[] {
    const out: (readonly Rule[])[] = [];
    for (const c of this.caps.values()) if (this.valid(nconf, CredentialType.CAPABILITY, c)) out.push(c.rules);
    return out;
  }

  /** Does the peer own this IP (4 or 16 bytes at buf[off])? Valid CoOs, or NDP-emulated managed IPv6. */
  ownsIp(nconf: NetworkConfig, buf: Uint8Array, off: number, len: number): boolean {
    const type = len === 4 ? ThingType.IPV4 : ThingType.IPV6;
    for (const c of this.coos.values()) if (this.valid(nconf, CredentialType.COO, c) && cooOwns(c, type, buf, off, len)) return true;
    return len === 16 && isNdpEmulated(nconf, buf, off);
  }

  ownsMac(nconf: NetworkConfig, mac: Mac): boolean {
    const b = macScratch;
    writeMac(b, 0, mac);
    for (const c of this.coos.values()) if (this.valid(nconf, CredentialType.COO, c) && cooOwns(c, ThingType.MAC, b)) return true;
    return false;
  }

  /** Drops credentials that are no longer valid against our current config. */
  clean(nconf: NetworkConfig): void {
    for (const [id, t] of this.tags) if (!this.valid(nconf, CredentialType.TAG, t)) this.tags.delete(id);
    for (const [id, c] of this.caps) if (!this.valid(nconf, CredentialType.CAPABILITY, c)) this.caps.delete(id);
    for (const [id, c] of this.coos) if (!this.valid(nconf, CredentialType.COO, c)) this.coos.delete(id);
  }
}

/**
 * With NDP emulation on, IPv6 sources inside our own 6plane /40 or rfc4193 /88 (when we were
 * assigned that scheme) count as owned: those addresses are derived from member addresses.
 */
function isNdpEmulated(nconf: NetworkConfig, buf: Uint8Array, off: number): boolean {
  if (!ndpEmulationEnabled(nconf)) return false;
  for (const [mine, prefix] of [
    [sixPlaneAddress(nconf.networkId, nconf.issuedTo), 5],
    [rfc4193Address(nconf.networkId, nconf.issuedTo), 11],
  ] as const) {
    const assigned = nconf.staticIps.some((s) => s.family === 6 && bytesEqual(s.ip, mine.ip));
    if (!assigned) continue;
    let match = true;
    for (let j = 0; j < prefix; j++) if (buf[off + j] !== mine.ip[j]) match = false;
    if (match) return true;
  }
  return false;
}
