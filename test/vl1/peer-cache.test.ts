import { describe, expect, test } from "bun:test";
import { type Address, addressToString } from "../../src/vl1/address.ts";
import { ipv4, inetAddressFromString } from "../../src/vl1/inet-address.ts";
import { endpointsEqual } from "../../src/vl1/ip-scope.ts";
import type { PeerStore } from "../../src/vl1/node.ts";
import { PEER_CACHE_FORMAT, decodePeerCache, encodePeerCache } from "../../src/vl1/peer-cache.ts";
import { SimNetwork } from "./sim/network.ts";
import { TEST_VERB, hostAddress, labIdentities, makePlanet } from "./sim/setup.ts";

class MemoryStore implements PeerStore {
  readonly files = new Map<Address, Uint8Array>();
  loads = 0;
  loadPeer(a: Address): Uint8Array | null {
    this.loads++;
    return this.files.get(a) ?? null;
  }
  savePeer(a: Address, data: Uint8Array): void {
    this.files.set(a, data.slice());
  }
}

describe("peers.d format (spec 9)", () => {
  test("round trip with versions and addresses; byte layout", () => {
    const id = labIdentities()[2]!.publicOnly();
    const addrs = [ipv4(10, 1, 2, 3, 9993), inetAddressFromString("2001:db8::7/9994")!];
    const bytes = encodePeerCache({ identity: id, protocol: 12, major: 1, minor: 14, revision: 1, addresses: addrs });
    expect(bytes[0]).toBe(PEER_CACHE_FORMAT);
    expect(bytes.length).toBe(1 + 71 + 10 + 7 + 19);
    // protocol version, then major/minor/revision, then the address count, all 16-bit big-endian
    expect([...bytes.subarray(72, 82)]).toEqual([0, 12, 0, 1, 0, 14, 0, 1, 0, 2]);
    const d = decodePeerCache(bytes);
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(d.peer.identity.equals(id)).toBe(true);
    expect([d.peer.protocol, d.peer.major, d.peer.minor, d.peer.revision]).toEqual([12, 1, 14, 1]);
    expect(d.peer.addresses.length).toBe(2);
    expect(endpointsEqual(d.peer.addresses[1]!, addrs[1]!)).toBe(true);
  });

  test("unknown versions survive as -1; corrupt entries are rejected, never thrown", () => {
    const id = labIdentities()[3]!.publicOnly();
    const bytes = encodePeerCache({ identity: id, protocol: 0, major: -1, minor: -1, revision: -1, addresses: [] });
    const d = decodePeerCache(bytes);
    expect(d.ok && [d.peer.major, d.peer.minor, d.peer.revision]).toEqual([-1, -1, -1]);
    expect(decodePeerCache(new Uint8Array(0)).ok).toBe(false);
    const wrongFormat = bytes.slice();
    wrongFormat[0] = 3;
    expect(decodePeerCache(wrongFormat).ok).toBe(false);
    for (let cut = 0; cut < bytes.length; cut++) expect(decodePeerCache(bytes.slice(0, cut)).ok).toBe(false);
    const badAddr = encodePeerCache({ identity: id, protocol: 12, major: 1, minor: 14, revision: 1, addresses: [ipv4(1, 2, 3, 4, 5)] });
    badAddr[82] = 9;
    expect(decodePeerCache(badAddr).ok).toBe(false);
  });
});

describe("a node restarted with its peer cache", () => {
  test("contacts cached peers at their cached address without WHOIS", () => {
    const ids = labIdentities();
    const net = new SimNetwork(51);
    const planet = makePlanet([{ identity: ids[0]!, endpoint: hostAddress(0) }]);
    net.addHost("root", ids[0]!, hostAddress(0), { planet });
    const store = new MemoryStore();
    const a = net.addHost("a", ids[1]!, hostAddress(1), { planet, store });
    const b = net.addHost("b", ids[2]!, hostAddress(2), { planet });
    net.run(3000);
    a.node.send(b.node.address, TEST_VERB, new Uint8Array(4));
    net.run(5000);
    a.node.savePeers();
    expect(store.files.has(b.node.address)).toBe(true);
    const cached = decodePeerCache(store.files.get(b.node.address)!);
    expect(cached.ok && cached.peer.addresses.length).toBe(1);
    expect(cached.ok && addressToString(cached.peer.identity.address)).toBe(b.node.identity.addressString);

    // "Restart" a: a fresh node with the same identity and the same store.
    net.hosts.splice(net.hosts.indexOf(a), 1);
    const a2 = net.addHost("a2", ids[1]!, hostAddress(1), { planet, store });
    net.run(3000);
    const whoisBefore = a2.node.stats.whoisSent;
    const mark = net.log.length;
    a2.node.send(b.node.address, TEST_VERB, new TextEncoder().encode("from cache"));
    net.run(2000);
    expect(a2.node.stats.whoisSent).toBe(whoisBefore);
    // A HELLO went straight to b's cached address, and its OK gave a2 a direct path.
    const hellos = net.log.slice(mark).filter((d) => endpointsEqual(d.from, a2.address) && endpointsEqual(d.to, b.address) && d.data[27] === 1);
    expect(hellos.length).toBeGreaterThanOrEqual(1);
    expect(a2.node.getPeer(b.node.address)!.paths.some((p) => endpointsEqual(p.address, b.address))).toBe(true);
    expect(b.received.some((r) => new TextDecoder().decode(r.payload) === "from cache")).toBe(true);
  });

  test("peers silent for 500 s are saved to the cache and dropped from memory (roots are kept)", () => {
    const ids = labIdentities();
    const net = new SimNetwork(52);
    const planet = makePlanet([{ identity: ids[0]!, endpoint: hostAddress(0) }]);
    const root = net.addHost("root", ids[0]!, hostAddress(0), { planet });
    const store = new MemoryStore();
    const a = net.addHost("a", ids[1]!, hostAddress(1), { planet, store });
    const b = net.addHost("b", ids[2]!, hostAddress(2), { planet });
    net.run(3000);
    a.node.send(b.node.address, TEST_VERB, new Uint8Array(4));
    net.run(5000);
    net.hosts.splice(net.hosts.indexOf(b), 1);
    net.run(600_000);
    expect(a.node.getPeer(b.node.address)).toBeNull();
    expect(store.files.has(b.node.address)).toBe(true);
    expect(a.node.getPeer(root.node.address)).not.toBeNull();
  });
});
