import { describe, expect, test } from "bun:test";
import { endpointsEqual } from "../../src/vl1/ip-scope.ts";
import { inetAddressFromString, ipv4 } from "../../src/vl1/inet-address.ts";
import { Verb, cipher, destination, hops as headHops, source } from "../../src/vl1/packet.ts";
import { SimNetwork } from "./sim/network.ts";
import { TEST_VERB, hostAddress, labIdentities, makeLab, makePlanet } from "./sim/setup.ts";

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

describe("path rules (spec 8.3)", () => {
  test("a root's path is only accepted at its stable endpoint; other peers' OKs from new addresses add paths", () => {
    const { net, root, leaves } = makeLab(2, 3);
    const [a, b] = [leaves[0]!, leaves[1]!];
    net.run(3000);
    a.node.send(b.node.address, TEST_VERB, new Uint8Array(4));
    net.run(5000);
    // Frames from b make it "active" for a, so a sends ECHO keepalives that b answers with OK.
    b.node.send(a.node.address, TEST_VERB, new Uint8Array(4));
    b.node.send(a.node.address, TEST_VERB, new Uint8Array(5));
    net.run(20_000);
    const elsewhere = ipv4(10, 0, 200, 1, 5555);
    // Re-deliver the root's OK(HELLO) to a as if it came from another address.
    const rootOk = net.log.find((d) => endpointsEqual(d.from, root.address) && endpointsEqual(d.to, a.address) && d.data[18] === 0x88)!;
    expect(rootOk).toBeDefined();
    a.node.onDatagram(0, elsewhere, rootOk.data.slice());
    expect(a.node.getPeer(root.node.address)!.paths.length).toBe(1);
    expect(a.node.stats.packetsIn[Verb.OK]).toBeGreaterThan(0);
    // The same for b (a leaf): an authenticated OK from a new address is a new path (1.x has no
    // replay protection; the reference behaves the same).
    const fromB = net.log.filter((d) => endpointsEqual(d.from, b.address) && endpointsEqual(d.to, a.address) && cipher(d.data, 0) !== 0);
    expect(fromB.length).toBeGreaterThan(2);
    let learned = 0;
    let probes = 0;
    fromB.forEach((d, i) => {
      const at = ipv4(10, 0, 201, 1 + i, 7000);
      const n = a.node.getPeer(b.node.address)!.paths.length;
      const mark = net.log.length;
      a.node.onDatagram(0, at, d.data.slice());
      if (a.node.getPeer(b.node.address)!.paths.length > n) learned++;
      if (net.log.slice(mark).some((o) => endpointsEqual(o.to, at) && o.data[27] === Verb.HELLO)) probes++;
    });
    // Replayed OKs (b's OK(HELLO)/OK(ECHO)) add paths; other verbs only trigger a HELLO probe.
    expect(learned).toBeGreaterThan(0);
    expect(probes).toBeGreaterThan(0);
    expect(learned + probes).toBe(fromB.length);
    const bOk = fromB[0]!;
    // Loopback, link-local and multicast addresses are never paths (unless allowLoopbackPaths).
    const lo = ipv4(127, 0, 0, 1, 9993);
    const beforeLo = net.log.length;
    a.node.onDatagram(0, lo, bOk.data.slice());
    expect(net.log.slice(beforeLo).some((d) => endpointsEqual(d.to, lo))).toBe(false);
    expect(a.node.getPeer(b.node.address)!.paths.some((p) => endpointsEqual(p.address, lo))).toBe(false);
  });
});

describe("relaying (spec 3.9)", () => {
  test("fragments of a large packet are relayed through the root before a direct path exists", () => {
    const { net, root, leaves } = makeLab(2, 4);
    const [a, b] = [leaves[0]!, leaves[1]!];
    net.run(3000);
    const big = new Uint8Array(5000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 255;
    a.node.send(b.node.address, TEST_VERB, big);
    net.run(1000);
    const got = b.received.find((r) => r.payload.length === 5000);
    expect(got).toBeDefined();
    expect(got!.payload).toEqual(big);
    // The fragments went through the root (hop count 1 on arrival).
    expect(root.node.stats.relayed).toBeGreaterThanOrEqual(4);
    expect(b.node.stats.reassembled).toBe(1);
  });

  test("hop limit: a root does not relay a packet that already made 3 hops; leaves never relay", () => {
    const { net, root, leaves } = makeLab(2, 5);
    const [a, b] = [leaves[0]!, leaves[1]!];
    net.run(3000);
    a.node.send(b.node.address, TEST_VERB, new Uint8Array(10));
    net.run(1000);
    const relayed = net.log.find((d) => endpointsEqual(d.to, hostAddress(0)) && d.data.length >= 28 && destination(d.data, 0) === b.node.address)!;
    expect(relayed).toBeDefined();
    const pkt = relayed.data.slice();
    pkt[18] = (pkt[18]! & 0xf8) | 3;
    const before = root.node.stats.relayed;
    root.node.onDatagram(0, a.address, pkt);
    expect(root.node.stats.drops.relay_max_hops).toBe(1);
    expect(root.node.stats.relayed).toBe(before);
    pkt[18] = pkt[18]! & 0xf8;
    root.node.onDatagram(0, a.address, pkt.slice());
    expect(root.node.stats.relayed).toBe(before + 1);
    // A leaf receiving a packet for someone else drops it.
    const c = relayed.data.slice();
    c[8] ^= 1;
    b.node.onDatagram(0, a.address, c);
    expect(b.node.stats.drops.relay_not_allowed).toBe(1);
  });
});

describe("leaf relaying over trusted paths (spec 3.9)", () => {
  test("a leaf relays for a peer whose path carried trusted (network) traffic, not for others", () => {
    const { net, leaves } = makeLab(3, 6);
    const [a, b, c] = [leaves[0]!, leaves[1]!, leaves[2]!];
    // b's VL2 says frames from a pass a network gate (trust); nothing else does.
    b.node.setVl2Handler({ onPacket: (peer) => peer.address === a.node.address });
    net.run(3000);
    a.node.send(b.node.address, TEST_VERB, new Uint8Array(4));
    c.node.send(b.node.address, TEST_VERB, new Uint8Array(4));
    b.node.send(c.node.address, TEST_VERB, new Uint8Array(4));
    net.run(5000);
    // Trust belongs to the direct path the frame came over: send again now that it exists.
    a.node.send(b.node.address, TEST_VERB, new Uint8Array(4));
    c.node.send(b.node.address, TEST_VERB, new Uint8Array(4));
    net.run(1000);
    expect(b.node.getPeer(a.node.address)!.bestPath(net.clock.now())).not.toBeNull();
    expect(b.node.getPeer(c.node.address)!.bestPath(net.clock.now())).not.toBeNull();
    // A packet for c handed to b by a (over a's trusted path) is forwarded to c with one more hop.
    const forC = net.log.find((d) => d.data.length >= 28 && d.data[13] !== 0xff && destination(d.data, 0) === c.node.address && source(d.data, 0) === b.node.address)!;
    const relayedBefore = b.node.stats.relayed;
    b.node.onDatagram(0, a.address, forC.data.slice());
    expect(b.node.stats.relayed).toBe(relayedBefore + 1);
    // The same from c's address (no trust) is refused.
    b.node.onDatagram(0, c.address, forC.data.slice());
    expect(b.node.stats.drops.relay_not_allowed).toBe(1);
  });
});

describe("IPv6 underlay", () => {
  test("HELLO, WHOIS, relay and RENDEZVOUS (16-byte address) over IPv6", () => {
    const ids = labIdentities();
    const net = new SimNetwork(8);
    const v6 = (n: number) => inetAddressFromString(`fd00:${n}::1/9993`)!;
    const planet = makePlanet([{ identity: ids[0]!, endpoint: v6(100) }]);
    const root = net.addHost("root", ids[0]!, v6(100), { planet });
    const a = net.addHost("a", ids[1]!, v6(1), { planet });
    const b = net.addHost("b", ids[2]!, v6(2), { planet });
    net.run(3000);
    expect(a.node.online && b.node.online).toBe(true);
    a.node.send(b.node.address, TEST_VERB, new TextEncoder().encode("v6"));
    net.run(3000);
    expect(b.received.map((r) => new TextDecoder().decode(r.payload))).toContain("v6");
    expect(root.node.stats.rendezvousSent).toBeGreaterThanOrEqual(2);
    expect(a.node.getPeer(b.node.address)!.paths.some((p) => endpointsEqual(p.address, b.address))).toBe(true);
    expect(b.node.peersInfo().find((p) => p.address === a.node.identity.addressString)!.paths[0]!.address).toBe("fd00:1::1/9993");
  });
});
