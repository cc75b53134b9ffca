import { describe, expect, test } from "bun:test";
import { endpointsEqual } from "../../src/vl1/ip-scope.ts";
import { destination, hops as headHops } from "../../src/vl1/packet.ts";
import { TEST_VERB, hostAddress, makeLab } from "./sim/setup.ts";

describe("VL1 node on a simulated network", () => {
  test("leaves HELLO the root, learn paths and come online", () => {
    const { net, root, leaves } = makeLab(2, 1);
    net.run(3000);
    for (const l of leaves) {
      expect(l.node.online).toBe(true);
      const rp = l.node.getPeer(root.node.address)!;
      expect(rp.remoteProtocol).toBe(12);
      expect(rp.paths.length).toBe(1);
      expect(rp.paths[0]!.latency).toBeGreaterThanOrEqual(0);
      expect(rp.paths[0]!.latency).toBeLessThan(100);
      // The root learned each leaf (its HELLO), with a confirmed path after its own probe.
      const lp = root.node.getPeer(l.node.address)!;
      expect(lp).not.toBeNull();
      expect(lp.paths.length).toBe(1);
    }
    expect(root.node.online).toBe(true);
  });

  test("WHOIS, relayed delivery, then RENDEZVOUS and direct traffic", () => {
    const { net, root, leaves } = makeLab(2, 2);
    const [a, b] = leaves as [(typeof leaves)[0], (typeof leaves)[0]];
    net.run(3000);
    expect(a.node.getPeer(b.node.address)).toBeNull();
    const before = net.log.length;
    a.node.send(b.node.address, TEST_VERB, new TextEncoder().encode("hello b"));
    net.run(2000);
    expect(b.received.map((r) => new TextDecoder().decode(r.payload))).toContain("hello b");
    expect(b.received[0]!.from).toBe(a.node.address);
    expect(a.node.stats.whoisSent).toBeGreaterThan(0);
    // The first datagram a→b went to the root's address with destination b (relayed).
    const relayedOut = net.log
      .slice(before)
      .filter((d) => d.from === a.address && d.data.length >= 28 && destination(d.data, 0) === b.node.address);
    expect(relayedOut.length).toBeGreaterThan(0);
    expect(endpointsEqual(relayedOut[0]!.to, hostAddress(0))).toBe(true);
    expect(root.node.stats.relayed).toBeGreaterThan(0);
    expect(root.node.stats.rendezvousSent).toBeGreaterThanOrEqual(2);
    // After RENDEZVOUS both sides have a direct path.
    net.run(3000);
    expect(a.node.getPeer(b.node.address)!.paths.map((p) => p.address.ip[2])).toContain(2);
    expect(b.node.getPeer(a.node.address)!.paths.map((p) => p.address.ip[2])).toContain(1);
    const relayedBefore = root.node.stats.relayed;
    const mark = net.log.length;
    b.node.send(a.node.address, TEST_VERB, new TextEncoder().encode("direct"));
    net.run(500);
    expect(a.received.map((r) => new TextDecoder().decode(r.payload))).toContain("direct");
    expect(root.node.stats.relayed).toBe(relayedBefore);
    const sent = net.log.slice(mark).filter((d) => d.from === b.address);
    expect(sent.length).toBe(1);
    expect(sent[0]!.to.ip[2]).toBe(1);
    expect(headHops(sent[0]!.data, 0)).toBe(0);
  });
});
