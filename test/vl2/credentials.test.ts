import { describe, expect, test } from "bun:test";
import { ByteReader } from "../../src/util/bytes.ts";
import { SeededRng } from "../../src/util/random.ts";
import type { Identity } from "../../src/vl1/identity.ts";
import { decodeCapability, encodeCapability, addCustody, issueCapability, verifyCapability } from "../../src/vl2/credentials/capability.ts";
import { ThingType, cooOwns, decodeCoo, encodeCoo, ownedThing, signCoo, verifyCoo } from "../../src/vl2/credentials/certificate-of-ownership.ts";
import { credentialPushPayloads, decodeNetworkCredentials, encodeNetworkCredentials } from "../../src/vl2/credentials/network-credentials.ts";
import { makeCom, signCom } from "../../src/vl2/com.ts";
import { CredentialType } from "../../src/vl2/credentials/credential.ts";
import { decodeRevocation, encodeRevocation, signRevocation, verifyRevocation } from "../../src/vl2/credentials/revocation.ts";
import { decodeTag, encodeTag, signTag, verifyTag } from "../../src/vl2/credentials/tag.ts";
import { Dictionary, NETWORK_CONFIG_DICT_CAPACITY } from "../../src/vl2/dictionary.ts";
import { type Rule, readRules } from "../../src/vl2/rules.ts";
import { networkConfigFromBytes } from "../../src/vl2/network-config.ts";
import { CAPTURES, controllerIdentity, controllerSecret, fixtureBytes, quickIdentity, wirePackets } from "./fixtures.ts";

const NWID = 0x3bc65e2b50b151d2n;
const controller = controllerSecret();
const member = quickIdentity(21);
const stranger = quickIdentity(22);
const TS = 1795900262521;

/** Every proper prefix must be refused with a reason and no exception. */
function expectTruncationsRejected(bytes: Uint8Array, decode: (b: Uint8Array, off: number, end: number) => { ok: boolean }): void {
  for (let n = 0; n < bytes.length; n++) expect(decode(bytes, 0, n).ok).toBe(false);
}

describe("Tag", () => {
  const tag = signTag({ networkId: NWID, timestamp: TS, id: 1000, value: 42, issuedTo: member.address }, controller);

  test("layout, round trip, verification", () => {
    const b = encodeTag(tag);
    expect(b.length).toBe(8 + 8 + 4 + 4 + 5 + 5 + 99 + 2);
    const d = decodeTag(b);
    expect(d.ok && d.value.tag).toEqual(tag);
    expect(verifyTag(tag, controllerIdentity())).toBeNull();
    expect(verifyTag({ ...tag, value: 43 }, controllerIdentity())).toBe("tag signature invalid");
    expect(verifyTag(signTag({ networkId: NWID, timestamp: TS, id: 1, value: 1, issuedTo: member.address }, stranger), controllerIdentity())).toContain("network's controller");
    expectTruncationsRejected(b, decodeTag);
  });

  test("a signature block of another type is skipped by its length (forward compatibility)", () => {
    const b = encodeTag(tag);
    const sigAt = 8 + 8 + 4 + 4 + 5 + 5;
    b[sigAt] = 9;
    const d = decodeTag(b);
    expect(d.ok && d.value.tag.signature).toEqual(new Uint8Array(96));
    expect(d.ok && verifyTag(d.value.tag, controllerIdentity())).toBe("tag signature invalid");
  });
});

describe("Certificate of ownership", () => {
  test("things, round trip, verification, the 16-thing limit", () => {
    const coo = signCoo(
      {
        networkId: NWID,
        timestamp: TS,
        flags: 0n,
        id: 1,
        things: [ownedThing(ThingType.IPV4, Uint8Array.of(10, 0, 0, 5)), ownedThing(ThingType.MAC, Uint8Array.of(2, 1, 2, 3, 4, 5))],
        issuedTo: member.address,
      },
      controller,
    );
    const b = encodeCoo(coo);
    const d = decodeCoo(b);
    expect(d.ok && d.value.coo).toEqual(coo);
    expect(verifyCoo(coo, controllerIdentity())).toBeNull();
    expect(cooOwns(coo, ThingType.IPV4, Uint8Array.of(10, 0, 0, 5))).toBe(true);
    expect(cooOwns(coo, ThingType.IPV6, Uint8Array.of(10, 0, 0, 5))).toBe(false);
    expect(cooOwns(coo, ThingType.MAC, Uint8Array.of(2, 1, 2, 3, 4, 5))).toBe(true);
    expect(verifyCoo({ ...coo, things: coo.things.slice(1) }, controllerIdentity())).toContain("signature invalid");
    expectTruncationsRejected(b, decodeCoo);
    const tooMany = b.slice();
    tooMany[8 + 8 + 8 + 4 + 1] = 17;
    const r = decodeCoo(tooMany);
    expect(!r.ok && r.error).toContain("17 things");
  });
});

describe("Revocation", () => {
  test("layout, round trip, verification", () => {
    const rev = signRevocation(
      { id: 7, networkId: NWID, credentialId: 0, threshold: TS, flags: 1n, target: member.address, credentialType: CredentialType.COM },
      controller,
    );
    const b = encodeRevocation(rev);
    expect(b.length).toBe(4 + 4 + 8 + 4 + 4 + 8 + 8 + 5 + 5 + 1 + 99 + 2);
    const d = decodeRevocation(b);
    expect(d.ok && d.value.revocation).toEqual(rev);
    expect(verifyRevocation(rev, controllerIdentity())).toBeNull();
    expect(verifyRevocation({ ...rev, threshold: TS + 1 }, controllerIdentity())).toContain("invalid");
    expectTruncationsRejected(b, decodeRevocation);
  });
});

describe("Capability", () => {
  const rules: Rule[] = [
    { type: 37, not: false, or: false, etherType: 0x0800 },
    { type: 40, not: false, or: false, low: 22, high: 22 },
    { type: 1, not: false, or: false },
  ];
  const lookup = (a: number): Identity | null => (a === controller.address ? controllerIdentity() : a === member.address ? member : null);

  test("issued by the controller: round trip and chain verification", () => {
    const cap = issueCapability({ networkId: NWID, timestamp: TS, id: 5, rules }, member.address, controller);
    const b = encodeCapability(cap);
    const d = decodeCapability(b);
    expect(d.ok && d.value.capability).toEqual(cap);
    expect(verifyCapability(cap, lookup)).toEqual({ ok: true });
    expectTruncationsRejected(b, decodeCapability);
  });

  test("custody chain: forwarding by the holder verifies; by someone else, or from a non-controller root, does not", () => {
    const base = { networkId: NWID, timestamp: TS, id: 6, rules, maxCustodyChainLength: 3, custody: [] };
    const first = addCustody(base, member.address, controller);
    const second = addCustody(first, stranger.address, member);
    expect(verifyCapability(second, lookup)).toEqual({ ok: true });
    const wrongHolder = addCustody(first, stranger.address, stranger);
    const w = verifyCapability(wrongHolder, lookup);
    expect(!w.ok && w.reason).toContain("previous holder");
    const rogue = addCustody(base, member.address, stranger);
    const r = verifyCapability(rogue, lookup);
    expect(!r.ok && r.reason).toContain("controller");
    const unknown = verifyCapability(first, () => null);
    expect(!unknown.ok && unknown.whois).toBe(controller.address);
    const d = decodeCapability(encodeCapability(second));
    expect(d.ok && verifyCapability(d.value.capability, lookup)).toEqual({ ok: true });
  });

  test("more than 64 rules or a chain longer than its maximum is refused", () => {
    const cap = issueCapability({ networkId: NWID, timestamp: TS, id: 5, rules }, member.address, controller);
    const b = encodeCapability(cap);
    const many = b.slice();
    many[8 + 8 + 4] = 0;
    many[8 + 8 + 4 + 1] = 65;
    expect(decodeCapability(many).ok).toBe(false);
    expect(() => issueCapability({ networkId: NWID, timestamp: TS, id: 5, rules: Array(65).fill(rules[2]) }, member.address, controller)).toThrow(RangeError);
    const two = addCustody(addCustody({ ...cap, maxCustodyChainLength: 2, custody: [] }, member.address, controller), stranger.address, member);
    const enc = encodeCapability(two);
    const maxAt = 8 + 8 + 4 + 2 + 4 + 6 + 2; // after the three rules (ethertype 4, port range 6, accept 2)
    expect(enc[maxAt]).toBe(2);
    expect(decodeCapability(enc).ok).toBe(true);
    const forged = enc.slice();
    forged[maxAt] = 1;
    const f = decodeCapability(forged);
    expect(!f.ok && f.error).toContain("longer than its maximum");
  });
});

describe("NETWORK_CREDENTIALS payload", () => {
  test("all sections round-trip; missing trailing sections are accepted; garbage is a reason", () => {
    const tag = signTag({ networkId: NWID, timestamp: TS, id: 1, value: 2, issuedTo: member.address }, controller);
    const rev = signRevocation({ id: 1, networkId: NWID, credentialId: 1, threshold: TS, flags: 0n, target: member.address, credentialType: CredentialType.TAG }, controller);
    const cap = issueCapability({ networkId: NWID, timestamp: TS, id: 5, rules: [{ type: 1, not: false, or: false }] }, member.address, controller);
    const creds = { coms: [], capabilities: [cap], tags: [tag], revocations: [rev], certificatesOfOwnership: [] };
    const b = encodeNetworkCredentials(creds);
    const d = decodeNetworkCredentials(b);
    expect(d.ok && d.value).toEqual(creds);
    const short = decodeNetworkCredentials(Uint8Array.of(0));
    expect(short.ok && short.value.tags.length).toBe(0);
    const rng = new SeededRng(4);
    for (let i = 0; i < 1000; i++) {
      const g = b.slice(0, rng.u32() % b.length);
      if (g.length > 0) g[rng.u32() % g.length] = rng.u32() & 0xff;
      const r = decodeNetworkCredentials(g);
      if (!r.ok) expect(r.error).toContain("NETWORK_CREDENTIALS");
    }
  });
});

describe("rules inside the real config", () => {
  test("R of the stored config is the single accept rule", () => {
    const d = Dictionary.parse(fixtureBytes("netconf", "member.conf"), NETWORK_CONFIG_DICT_CAPACITY);
    if (!d.ok) throw new Error(d.error);
    expect(readRules(new ByteReader(d.value.get("R")!), undefined, 1024)).toEqual([{ type: 1, not: false, or: false }]);
  });
});

describe("credential pushes", () => {
  for (const cap of CAPTURES) {
    test(`${cap}: what we would push from ztcap's config is byte-identical to its real NETWORK_CREDENTIALS`, () => {
      const nc = networkConfigFromBytes(fixtureBytes(cap, "ztcap.conf"));
      if (!nc.ok) throw new Error(nc.error);
      const real = wirePackets(cap).filter((p) => p.verb === "NETWORK_CREDENTIALS" && p.src === "ztcap");
      expect(real.length).toBeGreaterThan(0);
      const ours = credentialPushPayloads(nc.value);
      expect(ours.length).toBe(1);
      for (const p of real) expect(Buffer.from(ours[0]!).toString("hex")).toBe(p.payload);
    });
  }

  test("everything we hold, split to fit the packet size, COM in the first payload only", () => {
    const com = signCom(makeCom(TS, 1800000, NWID, member), controller);
    const tags = Array.from({ length: 128 }, (_, i) => signTag({ networkId: NWID, timestamp: TS, id: i, value: i, issuedTo: member.address }, controller));
    const capabilities = Array.from({ length: 20 }, (_, i) =>
      issueCapability({ networkId: NWID, timestamp: TS, id: i, rules: Array(64).fill({ type: 51, not: false, or: false, start: 1n, end: 2n, index: 0, format: 7 }) }, member.address, controller),
    );
    const coo = signCoo({ networkId: NWID, timestamp: TS, flags: 0n, id: 1, things: [ownedThing(ThingType.IPV4, Uint8Array.of(10, 0, 0, 5))], issuedTo: member.address }, controller);
    const payloads = credentialPushPayloads({ com, capabilities, tags, certificatesOfOwnership: [coo] }, 9972);
    expect(payloads.length).toBeGreaterThan(2);
    const got = { coms: 0, caps: [] as number[], tags: [] as number[], coos: 0 };
    payloads.forEach((p, i) => {
      expect(p.length).toBeLessThanOrEqual(9972);
      const d = decodeNetworkCredentials(p);
      if (!d.ok) throw new Error(d.error);
      if (i > 0) expect(d.value.coms.length).toBe(0);
      got.coms += d.value.coms.length;
      got.caps.push(...d.value.capabilities.map((c) => c.id));
      got.tags.push(...d.value.tags.map((t) => t.id));
      got.coos += d.value.certificatesOfOwnership.length;
      expect(d.value.revocations.length).toBe(0);
    });
    expect(got).toEqual({ coms: 1, caps: capabilities.map((c) => c.id), tags: tags.map((t) => t.id), coos: 1 });
    // nothing to push but a COM: one payload, as 1.14 sends it
    expect(credentialPushPayloads({ com, capabilities: [], tags: [], certificatesOfOwnership: [] })).toEqual([encodeNetworkCredentials({ coms: [com], capabilities: [], tags: [], revocations: [], certificatesOfOwnership: [] })]);
    // an item larger than the budget still goes out, alone
    expect(credentialPushPayloads({ com: null, capabilities: capabilities.slice(0, 2), tags: [], certificatesOfOwnership: [] }, 100).length).toBe(2);
  });
});
