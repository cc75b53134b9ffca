import { describe, expect, test } from "bun:test";
import { SeededRng } from "../../src/util/random.ts";
import { writeAddress } from "../../src/vl1/address.ts";
import { Identity } from "../../src/vl1/identity.ts";
import { ipv4 } from "../../src/vl1/inet-address.ts";
import { endpointsEqual } from "../../src/vl1/ip-scope.ts";
import { IDX_PAYLOAD, Verb, cipher, writeHeader } from "../../src/vl1/packet.ts";
import { MAX_WHOIS_PER_WINDOW, WAIT_QUEUE_SLOTS } from "../../src/vl1/whois.ts";
import { SimNetwork } from "./sim/network.ts";
import { TEST_VERB, hostAddress, labIdentities, makeLab, makePlanet } from "./sim/setup.ts";

/** A suite-0 HELLO from a made-up identity (random key; the MAC cannot verify). */
function bogusHello(rng: SeededRng, dest: number): Uint8Array {
  const pkt = new Uint8Array(28 + 13 + 71 + 1 + 16 + 2);
  const addr = 0x1000000000 + (rng.u32() % 0x0fffffff);
  writeHeader(pkt, 0, rng.u32(), rng.u32(), dest, addr, Verb.HELLO);
  const p = IDX_PAYLOAD;
  pkt[p] = 12;
  pkt[p + 1] = 1;
  pkt[p + 2] = 14;
  writeAddress(pkt, p + 13, addr);
  pkt[p + 18] = 0;
  rng.fill(pkt, p + 19, p + 83);
  pkt[p + 83] = 0;
  return pkt;
}

describe("VL1 rate limits", () => {
  test("HELLOs from unknown identities: one identity check per source /24 per 2 s", () => {
    const { net, leaves } = makeLab(1, 41);
    const a = leaves[0]!;
    net.run(3000);
    const rng = new SeededRng(3);
    for (let i = 0; i < 200; i++) net.inject(a, ipv4(77, 1, 2, 1 + (i % 250), 4000 + i), bogusHello(rng, a.node.address));
    expect(a.node.stats.drops.hello_rate_limited).toBe(199);
    expect(a.node.stats.drops.mac_failed).toBe(1);
    // Another /24 has its own budget; the first one refills after 2 s.
    net.inject(a, ipv4(77, 1, 3, 1, 4000), bogusHello(rng, a.node.address));
    expect(a.node.stats.drops.mac_failed).toBe(2);
    net.run(2000);
    net.inject(a, ipv4(77, 1, 2, 9, 4000), bogusHello(rng, a.node.address));
    expect(a.node.stats.drops.mac_failed).toBe(3);
    expect(a.node.topology.peers.size).toBe(1);
  });

  test("a flood from unknown sources: bounded queue, WHOIS to the root capped per 500 ms", () => {
    const { net, root, leaves } = makeLab(1, 42);
    const a = leaves[0]!;
    net.run(3000);
    const rng = new SeededRng(4);
    const whoisBefore = a.node.stats.whoisSent;
    for (let i = 0; i < 1000; i++) {
      const pkt = new Uint8Array(60);
      rng.fill(pkt);
      writeHeader(pkt, 0, rng.u32(), rng.u32(), a.node.address, 0x2000000000 + i, TEST_VERB);
      pkt[18] = 3 << 3;
      net.inject(a, ipv4(78, 0, (i >> 8) & 255, i & 255, 9993), pkt);
    }
    expect(a.node.stats.whoisSent - whoisBefore).toBe(MAX_WHOIS_PER_WINDOW);
    expect(a.node.rxWait.count()).toBe(WAIT_QUEUE_SLOTS);
    expect(a.node.stats.drops.unknown_peer_queue_overflow + a.node.rxWait.overflows).toBe(1000 - WAIT_QUEUE_SLOTS);
    net.run(6000);
    // Nobody knows those addresses: the queued packets time out and are counted.
    expect(a.node.rxWait.count()).toBe(0);
    expect(a.node.stats.drops.unknown_peer_queue_timeout).toBe(WAIT_QUEUE_SLOTS);
    expect(root.node.topology.peers.size).toBe(1);
  });

  test("WHOIS: a leaf answers a peer at most every 100 ms, a root answers everyone", () => {
    const { net, root, leaves } = makeLab(2, 43);
    const [a, b] = [leaves[0]!, leaves[1]!];
    net.run(3000);
    a.node.send(b.node.address, TEST_VERB, new Uint8Array(4));
    net.run(5000);
    const q = new Uint8Array(5);
    writeAddress(q, 0, root.node.address);
    for (let i = 0; i < 10; i++) b.node.send(a.node.address, Verb.WHOIS, q, 0, 5, { expectReply: true });
    net.run(100);
    expect(a.node.stats.drops.whois_rate_limited).toBe(9);
    expect(a.node.stats.packetsOut[Verb.OK]).toBeGreaterThan(0);
    const rootOkBefore = root.node.stats.packetsOut[Verb.OK]!;
    writeAddress(q, 0, b.node.address);
    for (let i = 0; i < 10; i++) a.node.send(root.node.address, Verb.WHOIS, q, 0, 5, { expectReply: true });
    net.run(100);
    expect(root.node.stats.packetsOut[Verb.OK]! - rootOkBefore).toBe(10);
    expect(root.node.stats.drops.whois_rate_limited).toBe(0);
  });

  test("ECHO replies are rate limited per path", () => {
    const { net, leaves } = makeLab(2, 44);
    const [a, b] = [leaves[0]!, leaves[1]!];
    net.run(3000);
    a.node.send(b.node.address, TEST_VERB, new Uint8Array(4));
    net.run(5000);
    for (let i = 0; i < 10; i++) b.node.send(a.node.address, Verb.ECHO, new Uint8Array([i]), 0, 1, { expectReply: true });
    net.run(100);
    expect(a.node.stats.drops.echo_rate_limited).toBe(9);
    // The one reply came back and was accepted (it was expected).
    expect(b.received.filter((r) => r.verb === Verb.OK && r.payload[0] === Verb.ECHO).length).toBe(1);
  });

  test("an unexpected OK (unknown in-re packet ID) is ignored", () => {
    const { net, leaves } = makeLab(2, 45);
    const [a, b] = [leaves[0]!, leaves[1]!];
    net.run(3000);
    a.node.send(b.node.address, TEST_VERB, new Uint8Array(4));
    net.run(5000);
    const ok = new Uint8Array(9 + 4);
    ok[0] = Verb.NETWORK_CONFIG_REQUEST;
    new SeededRng(9).fill(ok, 1, 9);
    b.node.send(a.node.address, Verb.OK, ok);
    net.run(100);
    expect(a.node.stats.drops.ok_unexpected).toBe(1);
    expect(a.received.some((r) => r.verb === Verb.OK)).toBe(false);
  });
});

describe("VL1 timers (spec 8.1, 8.2)", () => {
  test("active peers: ECHO on idle paths about every 15 s, HELLO every 60 s; roots: HELLO about every 224 s", () => {
    const { net, root, leaves } = makeLab(2, 46);
    const [a, b] = [leaves[0]!, leaves[1]!];
    net.run(3000);
    a.node.send(b.node.address, TEST_VERB, new Uint8Array(4));
    b.node.send(a.node.address, TEST_VERB, new Uint8Array(4));
    net.run(10_000);
    const mark = net.log.length;
    net.run(600_000);
    const aToB = net.log.slice(mark).filter((d) => endpointsEqual(d.from, a.address) && endpointsEqual(d.to, b.address));
    const hellos = aToB.filter((d) => cipher(d.data, 0) === 0 && d.data[27] === Verb.HELLO);
    const echoes = aToB.filter((d) => cipher(d.data, 0) === 3 && d.data.length === 28);
    // b stops being "active" 500 s after its last frame: keepalives stop then.
    expect(hellos.length).toBeGreaterThanOrEqual(7);
    expect(hellos.length).toBeLessThanOrEqual(10);
    expect(echoes.length).toBeGreaterThanOrEqual(20);
    expect(echoes.length).toBeLessThanOrEqual(40);
    const aToRoot = net.log.slice(mark).filter((d) => endpointsEqual(d.from, a.address) && endpointsEqual(d.to, root.address) && d.data[27] === Verb.HELLO);
    expect(aToRoot.length).toBeGreaterThanOrEqual(2);
    expect(aToRoot.length).toBeLessThanOrEqual(3);
    if (process.env.DBG) console.log("keepalives", hellos.length, echoes.length, aToRoot.length);
    expect(a.node.online).toBe(true);
  });

  test("online goes false 500 s after the root falls silent, and back when it answers", () => {
    const { net, root, leaves } = makeLab(1, 47);
    const a = leaves[0]!;
    net.run(3000);
    expect(a.node.online).toBe(true);
    net.setCut(a.address, root.address, true);
    net.run(400_000);
    expect(a.node.online).toBe(true);
    net.run(110_000);
    expect(a.node.online).toBe(false);
    net.setCut(a.address, root.address, false);
    net.run(10_000);
    expect(a.node.online).toBe(true);
  });
});

describe("worlds via OK(HELLO) (spec 5.3)", () => {
  test("a newer planet signed by the current key is taken from the root; saved through the event", () => {
    const ids = labIdentities();
    const net = new SimNetwork(48);
    const planet = makePlanet([{ identity: ids[0]!, endpoint: hostAddress(0) }], 7, 1000n);
    const root = net.addHost("root", ids[0]!, hostAddress(0), { planet });
    const updates: bigint[] = [];
    const a = net.addHost("a", ids[1]!, hostAddress(1), { planet, extra: { events: { worldUpdated: (w) => void updates.push(w.timestamp) } } });
    net.run(3000);
    expect(a.node.planet!.timestamp).toBe(1000n);
    const v2 = makePlanet([{ identity: root.node.identity, endpoint: root.address }], 7, 2000n);
    expect(root.node.offerWorld(v2)).toBe(true);
    // a's next full HELLO to the root (≤ 224 s with a path) names the old timestamp; the OK carries v2.
    net.run(250_000);
    expect(a.node.planet!.timestamp).toBe(2000n);
    expect(updates).toEqual([2000n]);
    // A planet signed by some other key is refused.
    const forged = makePlanet([{ identity: root.node.identity, endpoint: root.address }], 8, 3000n);
    expect(root.node.offerWorld(forged)).toBe(false);
    expect(a.node.offerWorld(forged)).toBe(false);
  });
});

describe("status, identity collision, PUSH_DIRECT_PATHS", () => {
  test("statusInfo and peersInfo carry zerotier-one's field names and values", () => {
    const { net, root, leaves } = makeLab(1, 61);
    const a = leaves[0]!;
    net.run(3000);
    const s = a.node.statusInfo();
    expect(s.address).toBe(a.node.identity.addressString);
    expect(s.publicIdentity).toBe(a.node.identity.toString(false));
    expect(s.online).toBe(true);
    expect(s.planetWorldId).toBe(4242);
    expect(s.planetWorldTimestamp).toBe(1000);
    // The root told a where it sees it.
    expect(s.surfaceAddresses).toEqual(["10.0.1.1/9993"]);
    const peers = a.node.peersInfo();
    expect(peers.length).toBe(1);
    const p = peers[0]!;
    expect(p.address).toBe(root.node.identity.addressString);
    expect(p.role).toBe("PLANET");
    expect(p.version).toBe("1.14.1");
    expect([p.versionMajor, p.versionMinor, p.versionRev]).toEqual([1, 14, 1]);
    expect(p.latency).toBeGreaterThanOrEqual(0);
    expect(p.paths.length).toBe(1);
    expect(p.paths[0]!.address).toBe("10.0.0.1/9993");
    expect(p.paths[0]!.preferred).toBe(true);
    expect(p.paths[0]!.expired).toBe(false);
    expect(p.paths[0]!.lastReceive).toBeGreaterThan(1_700_000_000_000);
    const rootView = root.node.peersInfo()[0]!;
    expect(rootView.role).toBe("LEAF");
  });

  test("a root answers a HELLO claiming a taken address with IDENTITY_COLLISION; the claimant is told", () => {
    const ids = labIdentities();
    const net = new SimNetwork(62);
    const planet = makePlanet([{ identity: ids[0]!, endpoint: hostAddress(0) }]);
    const root = net.addHost("root", ids[0]!, hostAddress(0), { planet });
    net.addHost("a", ids[1]!, hostAddress(1), { planet });
    net.run(3000);
    let collisions = 0;
    const stolen = Identity.fromParts(ids[1]!.address, ids[5]!.publicKey, ids[5]!.privateKey);
    const thief = net.addHost("thief", stolen, hostAddress(9), { planet, extra: { events: { identityCollision: () => void collisions++ } } });
    net.run(3000);
    expect(root.node.stats.drops.identity_collision).toBeGreaterThan(0);
    expect(collisions).toBeGreaterThan(0);
    expect(root.node.getPeer(ids[1]!.address)!.identity.equals(ids[1]!)).toBe(true);
    void thief;
  });

  test("a peer with established trust pushes its addresses; the receiver contacts them", () => {
    const { net, leaves } = makeLab(2, 63);
    const [a, b] = [leaves[0]!, leaves[1]!];
    for (const h of [a, b]) {
      h.node.setLocalAddresses([h.address]);
      h.node.setVl2Handler({ onPacket: () => true });
    }
    net.run(3000);
    a.node.send(b.node.address, TEST_VERB, new Uint8Array(4));
    net.run(3000);
    expect(b.node.stats.packetsOut[Verb.PUSH_DIRECT_PATHS]).toBeGreaterThan(0);
    expect(a.node.stats.packetsIn[Verb.PUSH_DIRECT_PATHS]).toBeGreaterThan(0);
    expect(a.node.getPeer(b.node.address)!.paths.some((p) => endpointsEqual(p.address, b.address))).toBe(true);
  });
});
