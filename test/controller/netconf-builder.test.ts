import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { configChunksFromGrant, deauthorizationRevocation, networkConfigFromGrant } from "../../src/controller/netconf-builder.ts";
import { METADATA_1_14 } from "../../src/controller/request-metadata.ts";
import { Identity } from "../../src/vl1/identity.ts";
import { verifyCom } from "../../src/vl2/com.ts";
import { ConfigAssembler } from "../../src/vl2/config-chunks.ts";
import { verifyRevocation } from "../../src/vl2/credentials/revocation.ts";
import { verifyTag } from "../../src/vl2/credentials/tag.ts";
import { networkConfigFromBytes } from "../../src/vl2/network-config.ts";
import { FIXTURES, fixture, openTestController, VECTOR_NWID } from "./helpers.ts";

function identity(text: string): Identity {
  const p = Identity.parse(text);
  if (!p.ok) throw new Error(p.error);
  return p.identity;
}
const controllerId = identity(readFileSync(join(FIXTURES, "controller-3bc65e2b50.identity.secret"), "utf8"));
const realConf = new Uint8Array(readFileSync(join(FIXTURES, "member-ddb1763ec1.conf")));

async function labGrant(body: Record<string, unknown> = {}) {
  const { controller, clock } = await openTestController();
  await controller.postNetwork(VECTOR_NWID, {
    name: "ztlab",
    private: false,
    ipAssignmentPools: [{ ipRangeStart: "172.28.0.100", ipRangeEnd: "172.28.0.250" }],
    routes: [{ target: "172.28.0.0/16", via: null }],
    v4AssignMode: { zt: true },
    ...body,
  });
  const member = identity(fixture("controller-member-ddb1763ec1.json").identity as string);
  clock.t = 1795900106354; // the real config's ts
  const d = await controller.handleConfigRequest({ networkId: VECTOR_NWID, identity: member, metadata: METADATA_1_14 });
  if (d.kind !== "ok") throw new Error(d.kind);
  return { grant: d, member, controller };
}

describe("grant -> signed NetworkConfig -> chunks", () => {
  test("our config for the lab member is byte-identical to what zerotier-one 1.14.1 sent it", async () => {
    const { grant } = await labGrant();
    const r = configChunksFromGrant(grant, controllerId, 0x1234n);
    if (!r.ok) throw new Error(r.error);
    expect(new TextDecoder("latin1").decode(r.value.dictionary)).toBe(new TextDecoder("latin1").decode(realConf));
    expect(Buffer.from(r.value.dictionary).equals(Buffer.from(realConf))).toBe(true);
  });

  test("chunks verify and reassemble on a member; credentials verify against the controller", async () => {
    const member = identity(fixture("controller-member-ddb1763ec1.json").identity as string);
    const { controller } = await openTestController();
    await controller.postNetwork(VECTOR_NWID, {
      private: true,
      ipAssignmentPools: [{ ipRangeStart: "172.28.0.100", ipRangeEnd: "172.28.0.250" }],
      routes: [{ target: "172.28.0.0/16", via: null }],
      v4AssignMode: { zt: true },
      v6AssignMode: { rfc4193: true },
      tags: [{ id: 1, default: 5 }],
      capabilities: [{ id: 2, default: true, rules: [{ type: "ACTION_ACCEPT" }] }],
      rules: [{ type: "MATCH_ETHERTYPE", etherType: 2048, not: true }, { type: "ACTION_DROP" }, { type: "ACTION_ACCEPT" }],
    });
    // capability 2 given explicitly: a member whose record was made by POST gets no default capability (as 1.14.1)
    await controller.postMember(VECTOR_NWID, member.addressString, { authorized: true, capabilities: [2] });
    const g = await controller.handleConfigRequest({ networkId: VECTOR_NWID, identity: member, metadata: METADATA_1_14 });
    if (g.kind !== "ok") throw new Error(g.kind);
    const r = configChunksFromGrant(g, controllerId, 0xabcdefn);
    if (!r.ok) throw new Error(r.error);
    const asm = new ConfigAssembler(g.networkId, member.address, () => controllerId.publicOnly());
    let assembled: Uint8Array | null = null;
    for (const c of r.value.chunks) {
      const res = asm.accept(c, 0, c.length, { from: controllerId.address, packetId: 1n, legacyAllowed: false });
      if (res.kind === "complete") assembled = res.dictionary;
      else expect(res.kind).not.toBe("rejected");
    }
    expect(assembled).not.toBeNull();
    expect(Buffer.from(assembled!).equals(Buffer.from(r.value.dictionary))).toBe(true);
    const nc = networkConfigFromBytes(assembled!);
    if (!nc.ok) throw new Error(nc.error);
    expect(nc.value.type).toBe(0);
    expect(nc.value.issuedTo).toBe(member.address);
    expect(verifyCom(nc.value.com!, controllerId)).toBeNull();
    expect(nc.value.tags.map((t) => [t.id, t.value])).toEqual([[1, 5]]);
    expect(verifyTag(nc.value.tags[0]!, controllerId)).toBeNull();
    expect(nc.value.capabilities.map((c) => c.id)).toEqual([2]);
    expect(nc.value.rules.length).toBe(3);
    expect(nc.value.staticIps.length).toBe(2); // rfc4193 + pool address
    expect(nc.value.certificatesOfOwnership[0]!.things.length).toBe(2);
    expect(nc.value.flags & 0x4).toBe(0x4);
  });

  test("refuses to sign for a network of another controller; revocations verify", async () => {
    const { grant } = await labGrant();
    const other = Identity.generate();
    const r = networkConfigFromGrant(grant, other);
    expect(r.ok).toBe(false);
    const rev = deauthorizationRevocation(grant.networkId, 0xddb1763ec1, 1795900200000, 7, controllerId);
    expect(verifyRevocation(rev, controllerId)).toBeNull();
    expect(rev.threshold).toBe(1795900200000);
    expect(rev.credentialType).toBe(1);
  });
});
