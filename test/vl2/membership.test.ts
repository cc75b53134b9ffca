import { describe, expect, test } from "bun:test";
import type { Identity } from "../../src/vl1/identity.ts";
import { type CertificateOfMembership, makeCom, signCom } from "../../src/vl2/com.ts";
import { issueCapability } from "../../src/vl2/credentials/capability.ts";
import { CredentialType } from "../../src/vl2/credentials/credential.ts";
import { decodeNetworkCredentials } from "../../src/vl2/credentials/network-credentials.ts";
import { signRevocation } from "../../src/vl2/credentials/revocation.ts";
import { signTag } from "../../src/vl2/credentials/tag.ts";
import { rfc4193Address, sixPlaneAddress } from "../../src/vl2/managed-ipv6.ts";
import { Membership } from "../../src/vl2/membership.ts";
import { NetworkRuleContext } from "../../src/vl2/rule-context.ts";
import { SeededRng } from "../../src/util/random.ts";
import { type NetworkConfig, networkConfigFromBytes } from "../../src/vl2/network-config.ts";
import { controllerIdentity, controllerSecret, fixtureBytes, fixtureIdentity, quickIdentity, wirePackets } from "./fixtures.ts";

const CAP = "aes-gmac-siv";
const controller = controllerSecret();
const publicConfig = (() => {
  const r = networkConfigFromBytes(fixtureBytes(CAP, "ztcap.conf"));
  if (!r.ok) throw new Error(r.error);
  return r.value;
})();
/** ztcap's real config, but as a private network (the lab network was public). */
const privateConfig: NetworkConfig = { ...publicConfig, type: 0 };
const NWID = publicConfig.networkId;

/** The COM (and CoO) ztpeer really pushed to ztcap. */
function pushedByPeer() {
  const p = wirePackets(CAP).find((x) => x.verb === "NETWORK_CREDENTIALS" && x.src === "ztpeer")!;
  const d = decodeNetworkCredentials(new Uint8Array(Buffer.from(p.payload, "hex")));
  if (!d.ok) throw new Error(d.error);
  return d.value;
}
const peer = fixtureIdentity(CAP, "ztpeer.identity.public");

describe("membership gate with the real COMs", () => {
  test("public: always; private: only with an agreeing COM that is not revoked", () => {
    const m = new Membership();
    expect(m.isAllowedOnNetwork(publicConfig, peer)).toBe(true);
    expect(m.isAllowedOnNetwork(privateConfig, peer)).toBe(false);
    const com = pushedByPeer().coms[0]!;
    expect(m.addCom(privateConfig, com, null)).toEqual({ kind: "deferred", whois: 0x3bc65e2b50 });
    expect(m.addCom(privateConfig, com, controllerIdentity())).toEqual({ kind: "accepted-new" });
    expect(m.addCom(privateConfig, com, controllerIdentity())).toEqual({ kind: "accepted-redundant" });
    expect(m.isAllowedOnNetwork(privateConfig, peer)).toBe(true);
    // the COM is bound to ztpeer's full identity
    expect(m.isAllowedOnNetwork(privateConfig, quickIdentity(3, peer.address))).toBe(false);
    expect(m.recentlyAssociated(publicConfig.timestamp)).toBe(true);
    expect(m.recentlyAssociated(publicConfig.timestamp + 600_000)).toBe(false);
    // the controller revokes every COM of ztpeer up to now
    const rev = signRevocation({ id: 1, networkId: NWID, credentialId: 0, threshold: publicConfig.timestamp + 1, flags: 1n, target: peer.address, credentialType: CredentialType.COM }, controller);
    expect(m.addRevocation(privateConfig, rev, controllerIdentity())).toEqual({ kind: "accepted-new" });
    expect(m.isAllowedOnNetwork(privateConfig, peer)).toBe(false);
    const again = m.addCom(privateConfig, com, controllerIdentity());
    expect(again.kind === "rejected" && again.reason).toBe("COM revoked");
  });

  test("COMs: older, forged, or for another network are rejected", () => {
    const m = new Membership();
    const ts = publicConfig.timestamp;
    const newer = signCom(makeCom(ts + 1000, 1800000, NWID, peer), controller);
    const older = signCom(makeCom(ts, 1800000, NWID, peer), controller);
    expect(m.addCom(privateConfig, newer, controllerIdentity()).kind).toBe("accepted-new");
    const o = m.addCom(privateConfig, older, controllerIdentity());
    expect(o.kind === "rejected" && o.reason).toContain("older");
    const forged: CertificateOfMembership = { ...signCom(makeCom(ts + 2000, 1800000, NWID, peer), quickIdentity(9, 0x3bc65e2b50)) };
    const f = m.addCom(privateConfig, forged, controllerIdentity());
    expect(f.kind === "rejected" && f.reason).toContain("signature invalid");
    const other = signCom(makeCom(ts + 3000, 1800000, NWID + 1n, peer), controller);
    const w = m.addCom(privateConfig, other, controllerIdentity());
    expect(w.kind === "rejected" && w.reason).toContain("another network");
  });
});

describe("tags, capabilities, certificates of ownership", () => {
  const ts = publicConfig.timestamp;

  test("a valid tag answers the rules engine; outside ctmd or revoked it does not", () => {
    const m = new Membership();
    const tag = signTag({ networkId: NWID, timestamp: ts, id: 7, value: 42, issuedTo: peer.address }, controller);
    expect(m.addTag(publicConfig, tag, controllerIdentity()).kind).toBe("accepted-new");
    expect(m.addTag(publicConfig, tag, controllerIdentity()).kind).toBe("accepted-redundant");
    expect(m.tag(publicConfig, 7)).toBe(42);
    expect(m.tag(publicConfig, 8)).toBeUndefined();
    expect(m.tag({ ...publicConfig, timestamp: ts + 1800001 }, 7)).toBeUndefined();
    const older = signTag({ networkId: NWID, timestamp: ts - 1, id: 7, value: 1, issuedTo: peer.address }, controller);
    expect(m.addTag(publicConfig, older, controllerIdentity()).kind).toBe("rejected");
    const rev = signRevocation({ id: 2, networkId: NWID, credentialId: 7, threshold: ts, flags: 0n, target: peer.address, credentialType: CredentialType.TAG }, controller);
    expect(m.addRevocation(publicConfig, rev, controllerIdentity()).kind).toBe("accepted-new");
    expect(m.addRevocation(publicConfig, rev, controllerIdentity()).kind).toBe("accepted-redundant");
    expect(m.tag(publicConfig, 7)).toBeUndefined();
    const forged = signTag({ networkId: NWID, timestamp: ts + 5, id: 9, value: 1, issuedTo: peer.address }, quickIdentity(4, 0x3bc65e2b50));
    expect(m.addTag(publicConfig, forged, controllerIdentity()).kind).toBe("rejected");
    m.clean({ ...publicConfig, timestamp: ts + 10_000_000 });
    expect(m.tag(publicConfig, 7)).toBeUndefined();
  });

  test("capabilities: the peer's valid rule sets; unknown signer → deferred for WHOIS", () => {
    const m = new Membership();
    const cap = issueCapability({ networkId: NWID, timestamp: ts, id: 3, rules: [{ type: 1, not: false, or: false }] }, peer.address, controller);
    expect(m.addCapability(publicConfig, cap, () => null)).toEqual({ kind: "deferred", whois: 0x3bc65e2b50 });
    const lookup = (a: number): Identity | null => (a === 0x3bc65e2b50 ? controllerIdentity() : null);
    expect(m.addCapability(publicConfig, cap, lookup).kind).toBe("accepted-new");
    expect(m.capabilityRules(publicConfig)).toEqual([[{ type: 1, not: false, or: false }]]);
    expect(m.capabilityRules({ ...publicConfig, timestamp: ts + 1800001 })).toEqual([]);
  });

  test("the real CoO ztpeer pushed makes its IP sender-authenticated; NDP emulation for managed IPv6", () => {
    const m = new Membership();
    const coo = pushedByPeer().certificatesOfOwnership[0]!;
    expect(m.addCoo(publicConfig, coo, controllerIdentity()).kind).toBe("accepted-new");
    const ip = coo.things[0]!.value.subarray(0, 4);
    expect(m.ownsIp(publicConfig, ip, 0, 4)).toBe(true);
    expect(m.ownsIp(publicConfig, Uint8Array.of(172, 28, 0, 9), 0, 4)).toBe(false);
    expect(m.ownsMac(publicConfig, 0x020000000001)).toBe(false);
    const mine6 = sixPlaneAddress(NWID, publicConfig.issuedTo);
    const theirs6 = sixPlaneAddress(NWID, peer.address);
    const ndp = { ...publicConfig, flags: publicConfig.flags | 0x4, staticIps: [...publicConfig.staticIps, mine6] };
    expect(m.ownsIp(ndp, theirs6.ip, 0, 16)).toBe(true);
    expect(m.ownsIp(publicConfig, theirs6.ip, 0, 16)).toBe(false);
    expect(m.ownsIp(ndp, rfc4193Address(NWID, peer.address).ip, 0, 16)).toBe(false);
  });
});

describe("NetworkRuleContext", () => {
  test("our tags from the config, the peer's from its membership, ownership by direction", () => {
    const ts = publicConfig.timestamp;
    const ours = { ...publicConfig, tags: [signTag({ networkId: NWID, timestamp: ts, id: 5, value: 50, issuedTo: publicConfig.issuedTo }, controller)] };
    const m = new Membership();
    m.addTag(ours, signTag({ networkId: NWID, timestamp: ts, id: 5, value: 9, issuedTo: peer.address }, controller), controllerIdentity());
    m.addCoo(ours, pushedByPeer().certificatesOfOwnership[0]!, controllerIdentity());
    const ctx = new NetworkRuleContext(publicConfig.issuedTo, ours, new SeededRng(1));
    ctx.use(ours, m, true);
    expect([ctx.localTag(5), ctx.remoteTag(5), ctx.localTag(6)]).toEqual([50, 9, undefined]);
    const peerIp = pushedByPeer().certificatesOfOwnership[0]!.things[0]!.value.subarray(0, 4);
    const myIp = ours.staticIps[0]!.ip;
    expect([ctx.senderOwnsIp(peerIp, 0, 4), ctx.senderOwnsIp(myIp, 0, 4)]).toEqual([true, false]);
    ctx.use(ours, m, false);
    expect([ctx.senderOwnsIp(peerIp, 0, 4), ctx.senderOwnsIp(myIp, 0, 4)]).toEqual([false, true]);
    ctx.use(ours, null, false);
    expect(ctx.remoteTag(5)).toBeUndefined();
    expect(ctx.networkFlags).toBe(ours.flags);
  });
});
