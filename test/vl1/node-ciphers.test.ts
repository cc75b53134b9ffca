import { describe, expect, test } from "bun:test";
import { endpointsEqual } from "../../src/vl1/ip-scope.ts";
import { FLAG_ENCRYPTED, Verb, cipher, destination, source } from "../../src/vl1/packet.ts";
import type { Datagram } from "./sim/network.ts";
import { TEST_VERB, makeLab } from "./sim/setup.ts";

const suiteOf = (d: Datagram): number => cipher(d.data, 0);
const isHead = (d: Datagram): boolean => d.data.length >= 28 && d.data[13] !== 0xff;

describe("cipher suites on the wire (spec 2.7)", () => {
  test("HELLO suite 0; first OK(HELLO) to a new peer suite 1; then suite 3", () => {
    const { net, root, leaves } = makeLab(1, 11);
    const leaf = leaves[0]!;
    net.run(3000);
    const fromLeaf = net.log.filter((d) => endpointsEqual(d.from, leaf.address) && isHead(d));
    const fromRoot = net.log.filter((d) => endpointsEqual(d.from, root.address) && endpointsEqual(d.to, leaf.address) && isHead(d));
    // The leaf's first datagram is its HELLO to the root: suite 0, clear verb, flags byte 0x00.
    expect(fromLeaf[0]!.data[27]).toBe(Verb.HELLO);
    expect(fromLeaf[0]!.data[18]).toBe(0x00);
    // Same sizes as 1.14.1's on the lab capture: HELLO to an IPv4 address 137, OK(HELLO) 59, WHOIS 33.
    expect(fromLeaf[0]!.data.length).toBe(137);
    // The root's first reply is OK(HELLO), armored before it recorded the leaf's version: suite 1 with 0x80.
    expect(suiteOf(fromRoot[0]!)).toBe(1);
    expect(fromRoot[0]!.data.length).toBe(59);
    expect(fromRoot[0]!.data[18]! & FLAG_ENCRYPTED).toBe(FLAG_ENCRYPTED);
    // Then the root probes the leaf's address with its own HELLO (suite 0).
    expect(suiteOf(fromRoot[1]!)).toBe(0);
    expect(fromRoot[1]!.data[27]).toBe(Verb.HELLO);
    // Everything else either side sends is suite 3 (AES-GMAC-SIV), legacy flag clear.
    const later = [...fromLeaf.slice(1), ...fromRoot.slice(2)].filter((d) => suiteOf(d) !== 0);
    expect(later.length).toBeGreaterThan(0);
    for (const d of later) {
      expect(suiteOf(d)).toBe(3);
      expect(d.data[18]! & FLAG_ENCRYPTED).toBe(0);
    }
  });

  test("packets relayed before the peers exchanged HELLO are suite 1; direct ones after are suite 3", () => {
    const { net, leaves } = makeLab(2, 12);
    const [a, b] = [leaves[0]!, leaves[1]!];
    net.run(3000);
    const mark = net.log.length;
    a.node.send(b.node.address, TEST_VERB, new Uint8Array(100));
    net.run(3000);
    const aToB = net.log.slice(mark).filter((d) => isHead(d) && source(d.data, 0) === a.node.address && destination(d.data, 0) === b.node.address);
    // First a→b packet: a knows b only from OK(WHOIS) (version unknown) → suite 1.
    expect(aToB[0]!.data[27]).not.toBe(Verb.HELLO);
    expect(suiteOf(aToB[0]!)).toBe(1);
    const mark2 = net.log.length;
    a.node.send(b.node.address, TEST_VERB, new Uint8Array(100));
    net.run(100);
    const direct = net.log.slice(mark2).filter((d) => isHead(d) && source(d.data, 0) === a.node.address && destination(d.data, 0) === b.node.address);
    expect(direct.length).toBe(1);
    expect(endpointsEqual(direct[0]!.to, b.address)).toBe(true);
    expect(suiteOf(direct[0]!)).toBe(3);
    expect(b.received.length).toBe(2);
  });

  test("a peer announcing protocol 11 gets suite 1", () => {
    const { net, root, leaves } = makeLab(1, 13);
    net.run(3000);
    const peer = root.node.getPeer(leaves[0]!.node.address)!;
    expect(peer.suite).toBe(3);
    peer.setRemoteVersion(11, 1, 14, 1);
    expect(peer.suite).toBe(1);
    const mark = net.log.length;
    root.node.send(leaves[0]!.node.address, TEST_VERB, new Uint8Array(10));
    net.run(100);
    const out = net.log.slice(mark).filter((d) => endpointsEqual(d.from, root.address));
    expect(out.length).toBe(1);
    expect(suiteOf(out[0]!)).toBe(1);
    expect(leaves[0]!.received.length).toBe(1);
  });
});
