import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SeededRng } from "../../src/util/random.ts";
import { Identity } from "../../src/vl1/identity.ts";
import { type InetAddress, ipv4 } from "../../src/vl1/inet-address.ts";
import type { Node } from "../../src/vl1/node.ts";
import { destination } from "../../src/vl1/packet.ts";
import { DROP_REASONS } from "../../src/vl1/stats.ts";
import { sendHello } from "../../src/vl1/verbs/hello.ts";
import { WAIT_QUEUE_SLOTS } from "../../src/vl1/whois.ts";
import { TEST_VERB, hostAddress, labIdentities, makeLab } from "./sim/setup.ts";

/** Everything about a node's peers that an unauthenticated packet must not change. */
function snapshot(node: Node): string {
  const peers = [...node.topology.peers.values()].map((p) => ({
    a: p.address,
    proto: p.remoteProtocol,
    v: [p.remoteMajor, p.remoteMinor, p.remoteRevision],
    lr: p.lastReceive,
    paths: p.paths.map((x) => [x.address.ip.join("."), x.address.port, x.lastIn, x.latency]),
  }));
  peers.sort((x, y) => x.a - y.a);
  return JSON.stringify({ peers, online: node.online, planet: node.planet?.timestamp.toString() });
}

function randomAddress(rng: SeededRng): InetAddress {
  return ipv4(11 + (rng.u32() % 100), rng.u32() & 255, rng.u32() & 255, 1 + (rng.u32() % 254), 1 + (rng.u32() % 65535));
}

function warmLab(seed: number) {
  const lab = makeLab(2, seed);
  const [a, b] = [lab.leaves[0]!, lab.leaves[1]!];
  lab.net.run(3000);
  a.node.send(b.node.address, TEST_VERB, new Uint8Array(40));
  b.node.send(a.node.address, TEST_VERB, new Uint8Array(3000).fill(1));
  lab.net.run(5000);
  for (let i = 0; i < 5; i++) {
    b.node.send(a.node.address, TEST_VERB, new Uint8Array(100 + i * 700).fill(i));
    lab.net.run(1000);
  }
  // Valid datagrams that were sent to a: the seeds for mutation.
  const toA = lab.net.log.filter((d) => d.data.length >= 16 && d.to.ip[2] === 1).map((d) => d.data);
  return { ...lab, a, b, toA };
}

describe("VL1 node against hostile input", () => {
  test("unauthenticated input changes no state and every drop is counted by reason", () => {
    const { net, a, b, toA } = warmLab(31);
    const rng = new SeededRng(99);
    const before = snapshot(a.node);
    const dropsBefore = a.node.stats.totalDrops();
    const heads = toA.filter((d) => d.length >= 28 && d[13] !== 0xff && destination(d, 0) === a.node.address);
    expect(heads.length).toBeGreaterThan(5);
    let n = 0;
    for (let i = 0; i < 5000; i++) {
      const from = randomAddress(rng);
      let data: Uint8Array;
      if (i % 2 === 0) {
        data = new Uint8Array(rng.u32() % 1500);
        rng.fill(data);
      } else {
        // A genuine packet with authenticated bytes changed (never only the hop bits).
        data = heads[rng.u32() % heads.length]!.slice();
        const flips = 1 + (rng.u32() % 3);
        for (let k = 0; k < flips; k++) {
          let at = rng.u32() % data.length;
          if (at === 18) at = 19;
          data[at] = data[at]! ^ (1 + (rng.u32() % 255));
        }
        if (rng.u32() % 4 === 0) data = data.slice(0, 28 + (rng.u32() % Math.max(1, data.length - 28)));
      }
      net.inject(a, from, data);
      n++;
    }
    expect(n).toBe(5000);
    expect(snapshot(a.node)).toBe(before);
    const drops = a.node.stats.drops;
    expect(a.node.stats.totalDrops() - dropsBefore).toBeGreaterThan(1000);
    expect(drops.mac_failed).toBeGreaterThan(100);
    expect(drops.too_short).toBeGreaterThan(10);
    for (const r of Object.keys(drops)) expect(DROP_REASONS as readonly string[]).toContain(r);
    // Packets from unknown sources wait in a bounded queue.
    expect(a.node.rxWait.count()).toBeLessThanOrEqual(WAIT_QUEUE_SLOTS);
    void b;
  });

  test("HELLO with a valid MAC but a failing proof of work is dropped; a claimed address collision is answered, not believed", () => {
    const { net, a, b } = warmLab(32);
    const known = JSON.parse(readFileSync(join(import.meta.dir, "..", "fixtures", "vl1", "identity-known.json"), "utf8")) as {
      selftest: { known_bad: { string: string } };
    };
    const bad = Identity.fromString(known.selftest.known_bad.string)!;
    expect(bad.locallyValidate()).toBe(false);
    const before = snapshot(a.node);
    const planet = a.node.planet;
    const liar = net.addHost("liar", bad, ipv4(10, 0, 50, 1, 9993), { planet });
    liar.node.send(a.node.address, TEST_VERB, new Uint8Array(8));
    // Someone claiming b's address with another key pair.
    const other = labIdentities()[6]!;
    const imposterId = Identity.fromParts(b.node.address, other.publicKey, other.privateKey);
    const imposter = net.addHost("imposter", imposterId, ipv4(10, 0, 51, 1, 9993), { planet });
    const mark = net.log.length;
    // Only let the two strangers talk to a (their root traffic is irrelevant here).
    net.hosts.splice(net.hosts.indexOf(liar), 1);
    net.hosts.splice(net.hosts.indexOf(imposter), 1);
    // Fire their HELLOs at a directly.
    liar.node.tick();
    imposter.node.tick();
    const liarPeerOfA = liar.node.topology.addPeer(a.node.identity)!;
    const impPeerOfA = imposter.node.topology.addPeer(a.node.identity)!;
    sendHello(liar.node, liarPeerOfA, 0, a.address);
    sendHello(imposter.node, impPeerOfA, 0, a.address);
    for (const d of net.log.slice(mark)) {
      if (d.to.ip[2] === 1 && (d.from.ip[2] === 50 || d.from.ip[2] === 51)) a.node.onDatagram(0, d.from, d.data.slice());
    }
    expect(a.node.stats.drops.hello_identity_invalid).toBe(1);
    expect(a.node.stats.drops.identity_collision).toBeGreaterThanOrEqual(1);
    expect(a.node.getPeer(bad.address)).toBeNull();
    expect(a.node.getPeer(b.node.address)!.identity.equals(b.node.identity)).toBe(true);
    expect(snapshot(a.node)).toBe(before);
    // a told the imposter (ERROR in re HELLO, code IDENTITY_COLLISION) on the imposter's address.
    const replies = net.log.slice(mark).filter((d) => d.from.ip[2] === 1 && d.to.ip[2] === 51);
    expect(replies.length).toBe(1);
  });

  test("100,000 random and mutated datagrams: no crash, bounded memory, node still works", () => {
    const { net, a, b, toA } = warmLab(33);
    net.logEnabled = false;
    const rng = new SeededRng(1234);
    const senders = [hostAddress(0), hostAddress(2)];
    Bun.gc(true);
    const heapBefore = process.memoryUsage().heapUsed;
    const N = 100_000;
    for (let i = 0; i < N; i++) {
      const kind = rng.u32() % 10;
      let data: Uint8Array;
      let from: InetAddress;
      if (kind < 3) {
        data = new Uint8Array(rng.u32() % 1600);
        rng.fill(data);
        from = randomAddress(rng);
      } else {
        data = toA[rng.u32() % toA.length]!.slice();
        const flips = rng.u32() % 4;
        for (let k = 0; k < flips; k++) {
          const at = rng.u32() % data.length;
          data[at] = rng.u32() & 255;
        }
        if (kind === 9) data = data.slice(0, rng.u32() % (data.length + 1));
        from = kind < 6 ? senders[rng.u32() & 1]! : randomAddress(rng);
      }
      a.node.onDatagram(0, from, data, 0, data.length);
      if (i % 2000 === 1999) net.run(50);
    }
    net.run(10_000);
    Bun.gc(true);
    const growth = process.memoryUsage().heapUsed - heapBefore;
    expect(growth).toBeLessThan(32 * 1024 * 1024);
    expect(a.node.stats.datagramsIn).toBeGreaterThanOrEqual(N);
    expect(a.node.stats.totalDrops()).toBeGreaterThan(N / 4);
    expect(a.node.rxWait.count()).toBeLessThanOrEqual(WAIT_QUEUE_SLOTS);
    // Only real peers (root, b) exist: garbage never creates a peer.
    expect(a.node.topology.peers.size).toBe(2);
    const mark = b.received.length;
    a.node.send(b.node.address, TEST_VERB, new TextEncoder().encode("still alive"));
    net.run(1000);
    expect(b.received.slice(mark).some((r) => new TextDecoder().decode(r.payload) === "still alive")).toBe(true);
  }, 60_000);
});
