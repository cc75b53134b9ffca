import { describe, expect, test } from "bun:test";
import { verifyCom } from "../../src/vl2/com.ts";
import { ConfigAssembler, makeConfigChunks } from "../../src/vl2/config-chunks.ts";
import { attachCredentials, credentialTimeMaxDelta } from "../../src/vl2/config-issue.ts";
import { verifyCapability } from "../../src/vl2/credentials/capability.ts";
import { verifyTag } from "../../src/vl2/credentials/tag.ts";
import { encodeNetworkConfig, networkConfigFromBytes } from "../../src/vl2/network-config.ts";
import { STORED_CONFIGS, controllerIdentity, controllerSecret, fixtureBytes, fixtureIdentity, quickIdentity } from "./fixtures.ts";

describe("issuing credentials as the reference controller", () => {
  for (const [label, dir, conf, , identityFile] of STORED_CONFIGS) {
    test(`${label}: re-issuing the stored config's credentials with the controller key reproduces the file byte for byte`, () => {
      const stored = fixtureBytes(dir, conf);
      const nc = networkConfigFromBytes(stored);
      if (!nc.ok) throw new Error(nc.error);
      const bare = { ...nc.value, com: null, certificatesOfOwnership: [] };
      const issued = attachCredentials(bare, fixtureIdentity(dir, identityFile), controllerSecret());
      const bytes = encodeNetworkConfig(issued);
      if (!bytes.ok) throw new Error(bytes.error);
      expect(Buffer.from(bytes.value).equals(Buffer.from(stored))).toBe(true);
    });
  }

  test("tags and capabilities are signed for the member, sorted by id, and survive chunked delivery", () => {
    const nc = networkConfigFromBytes(fixtureBytes("netconf", "member.conf"));
    if (!nc.ok) throw new Error(nc.error);
    const member = quickIdentity(77);
    const issued = attachCredentials({ ...nc.value, issuedTo: member.address }, member, controllerSecret(), {
      tags: [
        [2000, 5],
        [1000, 1],
      ],
      capabilities: [{ id: 9, rules: [{ type: 1, not: false, or: false }] }],
    });
    expect(issued.tags.map((t) => t.id)).toEqual([1000, 2000]);
    for (const t of issued.tags) expect(verifyTag(t, controllerIdentity())).toBeNull();
    expect(verifyCapability(issued.capabilities[0]!, (a) => (a === controllerIdentity().address ? controllerIdentity() : null))).toEqual({ ok: true });
    expect(verifyCom(issued.com!, controllerIdentity())).toBeNull();
    const bytes = encodeNetworkConfig(issued);
    if (!bytes.ok) throw new Error(bytes.error);
    const chunks = makeConfigChunks(issued.networkId, bytes.value, controllerSecret(), 0xabcn, 300);
    const a = new ConfigAssembler(issued.networkId, member.address, controllerIdentity);
    const results = chunks.map((c) => a.accept(c, 0, c.length, { from: controllerIdentity().address, packetId: 1n, legacyAllowed: false }));
    const done = results[results.length - 1]!;
    expect(done.kind === "complete" && done.config).toEqual(issued);
    expect(() => attachCredentials(nc.value, member, controllerSecret())).toThrow("not issued to this member");
  });

  test("ctmd defaults to 30 minutes and is clamped to [5 min, 2 h]", () => {
    expect(credentialTimeMaxDelta()).toBe(1800000);
    expect(credentialTimeMaxDelta(1000)).toBe(300000);
    expect(credentialTimeMaxDelta(10 * 3600 * 1000)).toBe(7200000);
  });
});
