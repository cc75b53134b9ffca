/**
 * The controller serving members over real VL1 packets in the simulated network: a leaf node hosts
 * the controller (ControllerResponder behind its VL2 hook), two other leaves request configs as
 * 1.14 members do, and get errors, configs, pushes and revocations as zerotier-one sends them.
 */
import { describe, expect, test } from "bun:test";
import { Controller } from "../../src/controller/controller.ts";
import { ControllerResponder } from "../../src/controller/responder.ts";
import { MemoryStore } from "../../src/controller/store.ts";
import { SeededRng } from "../../src/util/random.ts";
import { packetIdBigInt, Verb } from "../../src/vl1/packet.ts";
import { inetAddressToString } from "../../src/vl1/inet-address.ts";
import { verifyCom } from "../../src/vl2/com.ts";
import { ConfigAssembler } from "../../src/vl2/config-chunks.ts";
import { decodeNetworkCredentials } from "../../src/vl2/credentials/network-credentials.ts";
import type { NetworkConfig } from "../../src/vl2/network-config.ts";
import { makeLab } from "../vl1/sim/setup.ts";
import type { SimHost } from "../vl1/sim/network.ts";

const enc = new TextEncoder();
const REQUEST_DICT = enc.encode("v=7\nvend=1\npv=c\nmajv=1\nminv=e\nrevv=1\nmr=400\nmc=80\nmcr=40\nmt=80\nf=0\nrevr=1\no=linux/x86_64");

function requestPayload(nwid: bigint): Uint8Array {
  const p = new Uint8Array(10 + REQUEST_DICT.length + 16);
  const v = new DataView(p.buffer);
  v.setBigUint64(0, nwid);
  v.setUint16(8, REQUEST_DICT.length);
  p.set(REQUEST_DICT, 10);
  return p;
}

describe("controller over VL1 (simulated network)", () => {
  test("deny, authorize, serve, push, revoke", async () => {
    const lab = makeLab(3, 99);
    const [ctlHost, m1, m2] = lab.leaves as [SimHost, SimHost, SimHost];
    const ctlId = ctlHost.node.identity;
    const wall = () => 1_795_900_000_000 + lab.net.clock.now();
    const controller = await Controller.open({ address: ctlId.addressString, store: new MemoryStore(), now: wall });
    const responder = new ControllerResponder(
      controller,
      ctlId,
      { send: (dest, verb, payload) => void ctlHost.node.send(dest, verb, payload, 0, payload.length, { compress: true }) },
      new SeededRng(5),
      wall,
    );
    responder.attach();
    ctlHost.node.setVl2Handler({
      onPacket(peer, verb, pkt, start, end) {
        if (verb === Verb.NETWORK_CONFIG_REQUEST) void responder.onConfigRequest(peer.identity, packetIdBigInt(pkt, start), pkt, start + 28, end);
        return false;
      },
    });
    const settle = async (ms: number) => {
      for (let t = 0; t < ms; t += 50) {
        lab.net.run(50);
        await Bun.sleep(0);
      }
    };
    await settle(3000);

    const created = await controller.postNetwork(`${ctlId.addressString}000001`, {
      name: "sim",
      private: true,
      ipAssignmentPools: [{ ipRangeStart: "10.77.0.10", ipRangeEnd: "10.77.0.200" }],
      routes: [{ target: "10.77.0.0/24", via: null }],
      v4AssignMode: { zt: true },
    });
    if (!created.ok) throw new Error(created.error);
    const nwid = BigInt(`0x${ctlId.addressString}000001`);

    const configs = new Map<number, ConfigAssembler>();
    const latest = new Map<number, NetworkConfig>();
    const ask = async (m: SimHost) => {
      m.received.length = 0;
      const p = requestPayload(nwid);
      m.node.send(ctlId.address, Verb.NETWORK_CONFIG_REQUEST, p, 0, p.length, { compress: true, expectReply: true });
      await settle(400);
      collect(m);
    };
    const collect = (m: SimHost) => {
      let asm = configs.get(m.node.address);
      if (asm === undefined) configs.set(m.node.address, (asm = new ConfigAssembler(nwid, m.node.address, () => ctlId.publicOnly())));
      for (const r of m.received) {
        const chunk = r.verb === Verb.OK && r.payload[0] === Verb.NETWORK_CONFIG_REQUEST ? r.payload.subarray(9) : r.verb === Verb.NETWORK_CONFIG ? r.payload : null;
        if (chunk === null) continue;
        const res = asm.accept(chunk, 0, chunk.length, { from: ctlId.address, packetId: 0n, legacyAllowed: false });
        if (res.kind === "complete") latest.set(m.node.address, res.config);
        expect(res.kind).not.toBe("rejected");
      }
    };
    const errors = (m: SimHost) => m.received.filter((r) => r.verb === Verb.ERROR).map((r) => r.payload[9]);

    // private network: refused until authorized
    await ask(m1);
    expect(errors(m1)).toEqual([0x07]);
    expect(latest.has(m1.node.address)).toBe(false);
    expect(controller.getMember(created.record.id as string, m1.node.identity.addressString)!.authorized).toBe(false);

    // authorized: a signed config with an address from the pool
    for (const m of [m1, m2]) await controller.postMember(created.record.id as string, m.node.identity.addressString, { authorized: true });
    await ask(m1);
    await ask(m2);
    const c1 = latest.get(m1.node.address)!;
    const c2 = latest.get(m2.node.address)!;
    expect(c1.name).toBe("sim");
    expect(verifyCom(c1.com!, ctlId)).toBeNull();
    const ip1 = inetAddressToString(c1.staticIps[0]!);
    const ip2 = inetAddressToString(c2.staticIps[0]!);
    expect(ip1).toMatch(/^10\.77\.0\.\d+\/24$/);
    expect(ip1).not.toBe(ip2);

    // an API change is pushed to both online members as NETWORK_CONFIG
    m1.received.length = 0;
    m2.received.length = 0;
    await controller.postNetwork(created.record.id as string, { mtu: 1500 });
    await settle(400);
    collect(m1);
    collect(m2);
    expect(m1.received.some((r) => r.verb === Verb.NETWORK_CONFIG)).toBe(true);
    expect(latest.get(m1.node.address)!.mtu).toBe(1500);
    expect(latest.get(m2.node.address)!.mtu).toBe(1500);

    // deauthorize m1: m2 (and m1) receive a signed COM revocation for m1; m1 is refused from now on
    m1.received.length = 0;
    m2.received.length = 0;
    await controller.postMember(created.record.id as string, m1.node.identity.addressString, { authorized: false });
    await settle(400);
    const cred = m2.received.find((r) => r.verb === Verb.NETWORK_CREDENTIALS);
    expect(cred).toBeDefined();
    const dec = decodeNetworkCredentials(cred!.payload);
    if (!dec.ok) throw new Error(dec.error);
    expect(dec.value.revocations.map((r) => r.target)).toEqual([m1.node.address]);
    await settle(1200);
    await ask(m1);
    expect(errors(m1)).toEqual([0x07]);
    expect(responder.stats.accessDenied).toBe(2);
    expect(responder.stats.configsSent).toBeGreaterThanOrEqual(4);
  }, 30_000);
});
