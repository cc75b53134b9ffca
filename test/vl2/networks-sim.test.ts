/**
 * Networks over real VL1 nodes in the simulated underlay, with loss and jitter: a leaf hosts the
 * controller (ControllerResponder behind its VL2 hook, the multicast directory on the root), two
 * members join a private network with Networks as the service wires them, are refused until
 * authorized, get configs through retried requests (10% loss, duplicates, reordering), resolve each other by ARP (GATHER via the
 * root, MULTICAST_FRAME to the ADI group) and exchange unicast frames with COMs pushed first.
 */
import { describe, expect, test } from "bun:test";
import { Controller } from "../../src/controller/controller.ts";
import { ControllerResponder } from "../../src/controller/responder.ts";
import { MemoryStore } from "../../src/controller/store.ts";
import { SeededRng } from "../../src/util/random.ts";
import { packetIdBigInt, Verb } from "../../src/vl1/packet.ts";
import { defaultRequestMetadata } from "../../src/vl2/config-request.ts";
import { macFromAddress, writeMac } from "../../src/vl2/mac.ts";
import { MulticastDirectory } from "../../src/vl2/multicast-directory.ts";
import { MulticastDirectoryResponder } from "../../src/vl2/multicast-directory-responder.ts";
import { Networks, type NetworksStore } from "../../src/vl2/networks.ts";
import type { SimHost } from "../vl1/sim/network.ts";
import { makeLab } from "../vl1/sim/setup.ts";
import { RecordingPort } from "./network-support.ts";

class MemStore implements NetworksStore {
  readonly files = new Map<string, Uint8Array>();
  list(): bigint[] {
    return [];
  }
  read(n: string): Uint8Array | null {
    return this.files.get(n) ?? null;
  }
  write(n: string, d: Uint8Array): void {
    this.files.set(n, d.slice());
  }
  remove(n: string): void {
    this.files.delete(n);
  }
}

function member(lab: ReturnType<typeof makeLab>, h: SimHost, port: RecordingPort): Networks {
  const node = h.node;
  const nets = new Networks(
    {
      address: node.address,
      clock: lab.net.clock,
      rng: new SeededRng(node.address % 1000),
      tx: node.tx,
      send: (d, v, p, s, e, o) => node.send(d, v, p, s, e, o),
      sendTxTo: (d, v, end, flags) => node.sendTxTo(d, v, end, flags),
      identityOf: (a) => node.getPeer(a)?.identity ?? null,
      requestWhois: (a) => node.requestWhois(a),
      upstreams: () => node.topology.upstreamAddresses,
      localConfig: null,
      portFactory: { create: () => port },
      metadata: defaultRequestMetadata("linux/x86_64"),
    },
    new MemStore(),
  );
  node.setVl2Handler({ onPacket: (peer, verb, pkt, start, end) => nets.onPacket(peer.address, verb, pkt, start, end) });
  return nets;
}

function arpRequest(src: number, srcIp: Uint8Array, target: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + 28);
  writeMac(f, 0, 0xffffffffffff);
  writeMac(f, 6, src);
  f[12] = 0x08;
  f[13] = 0x06;
  f.set([0, 1, 8, 0, 6, 4, 0, 1], 14);
  writeMac(f, 22, src);
  f.set(srcIp, 28);
  f.set(target, 38);
  return f;
}

describe("networks over simulated VL1 with loss", () => {
  test("private network: refused, authorized, configured, ARP via the root's directory, unicast both ways", async () => {
    const lab = makeLab(3, 4242);
    const [ctlHost, h1, h2] = lab.leaves as [SimHost, SimHost, SimHost];
    const wall = () => 1_795_900_000_000 + lab.net.clock.now();
    const ctlId = ctlHost.node.identity;
    const controller = await Controller.open({ address: ctlId.addressString, store: new MemoryStore(), now: wall });
    const responder = new ControllerResponder(controller, ctlId, { send: (d, v, p) => void ctlHost.node.send(d, v, p, 0, p.length, { compress: true }) }, new SeededRng(5), wall);
    responder.attach();
    ctlHost.node.setVl2Handler({
      onPacket(peer, verb, pkt, start, end) {
        if (verb === Verb.NETWORK_CONFIG_REQUEST) void responder.onConfigRequest(peer.identity, packetIdBigInt(pkt, start), pkt, start + 28, end);
        return false;
      },
    });
    const dir = new MulticastDirectoryResponder(new MulticastDirectory(new SeededRng(9)), lab.root.node, () => lab.net.clock.now(), () => true);
    lab.root.node.setVl2Handler({
      onPacket: (peer, verb, pkt, start, end) => {
        dir.onPacket(peer.address, verb, pkt, start, end);
        return false;
      },
    });
    const ports = [new RecordingPort(), new RecordingPort()];
    const nets = [member(lab, h1, ports[0]!), member(lab, h2, ports[1]!)];
    const settle = async (ms: number) => {
      for (let t = 0; t < ms; t += 100) {
        lab.net.run(100);
        for (const n of nets) n.tick();
        await Bun.sleep(0);
      }
    };
    await settle(3000);
    // VL1 paths are up (a lost first HELLO would leave a leaf unreachable via the root for minutes,
    // as in 1.14): from here on the underlay loses, delays and reorders
    lab.net.faults = { loss: 0.1, duplicate: 0.02, delayMs: 2, jitterMs: 5 };
    const created = await controller.postNetwork(`${ctlId.addressString}000001`, {
      name: "sim",
      private: true,
      ipAssignmentPools: [{ ipRangeStart: "10.77.0.10", ipRangeEnd: "10.77.0.200" }],
      routes: [{ target: "10.77.0.0/24", via: null }],
      v4AssignMode: { zt: true },
    });
    if (!created.ok) throw new Error(created.error);
    const nwid = BigInt(`0x${ctlId.addressString}000001`);
    for (const n of nets) n.join(nwid);
    const until = async (cond: () => boolean, simMs: number) => {
      for (let t = 0; t < simMs && !cond(); t += 1000) await settle(1000);
    };
    // requests are retried every 5 s until the controller's answer gets through
    await until(() => nets.every((n) => n.get(nwid)!.status === "ACCESS_DENIED"), 60_000);
    for (const n of nets) expect(n.get(nwid)!.status).toBe("ACCESS_DENIED");
    for (const h of [h1, h2]) await controller.postMember(created.record.id as string, h.node.identity.addressString, { authorized: true });
    await until(() => nets.every((n) => n.get(nwid)!.status === "OK"), 60_000);
    const net = nets.map((n) => n.get(nwid)!);
    for (const n of net) expect(n.status).toBe("OK");
    const ip = net.map((n) => n.config!.staticIps[0]!.ip);
    const mac = [h1, h2].map((h) => macFromAddress(h.node.address, nwid));

    // h1 asks who has h2's IP until the ARP reaches h2's port (the first GATHER may be lost)
    for (let i = 0; i < 30 && ports[1]!.delivered.length === 0; i++) {
      ports[0]!.send(arpRequest(mac[0]!, ip[0]!, ip[1]!));
      await settle(1000);
    }
    const arp = ports[1]!.delivered.find((f) => f[12] === 0x08 && f[13] === 0x06);
    expect(arp).toBeDefined();
    expect(Array.from(arp!.subarray(0, 6))).toEqual([255, 255, 255, 255, 255, 255]);
    expect(Array.from(arp!.subarray(38, 42))).toEqual(Array.from(ip[1]!));

    // unicast both ways (COMs pushed before the first frame; retried by the sender like TCP would)
    const unicast = (from: number, to: number, tag: number) => {
      const f = new Uint8Array(14 + 100).fill(tag);
      writeMac(f, 0, mac[to]!);
      writeMac(f, 6, mac[from]!);
      f[12] = 0x08;
      f[13] = 0x00;
      ports[from]!.send(f);
    };
    for (const [from, to, tag] of [[0, 1, 0xa1], [1, 0, 0xb2]] as const) {
      const got = () => ports[to]!.delivered.some((f) => f[12] === 0x08 && f[13] === 0x00 && f[20] === tag);
      for (let i = 0; i < 30 && !got(); i++) {
        unicast(from, to, tag);
        await settle(500);
      }
      expect(got()).toBe(true);
    }
    expect(net[1]!.drops.get("sender is not a member (no agreeing COM)")).toBeLessThan(10);
  }, 60_000);
});
