/**
 * The node's physical path policy hooks: the pathCheck veto (local.conf blacklists, our own
 * networks' ranges, supplied by the service) and trusted paths (local.conf trustedPathId:
 * cipher suite 2, the ID in the MAC field, accepted only from inside the configured network).
 */
import { describe, expect, test } from "bun:test";
import { cidrContains, cidrFromString, type InetAddress } from "../../src/vl1/inet-address.ts";
import type { NodeOptions } from "../../src/vl1/node.ts";
import { IDX_MAC, Verb, cipher, destination, source } from "../../src/vl1/packet.ts";
import { SimNetwork } from "./sim/network.ts";
import { TEST_VERB, hostAddress, labIdentities, makePlanet } from "./sim/setup.ts";

function lab(seed: number, extra: (i: number) => Partial<NodeOptions>) {
  const ids = labIdentities();
  const net = new SimNetwork(seed);
  const planet = makePlanet([{ identity: ids[0]!, endpoint: hostAddress(0) }]);
  const root = net.addHost("root", ids[0]!, hostAddress(0), { planet, extra: extra(0) });
  const a = net.addHost("a", ids[1]!, hostAddress(1), { planet, extra: extra(1) });
  const b = net.addHost("b", ids[2]!, hostAddress(2), { planet, extra: extra(2) });
  return { net, root, a, b };
}

function cidr(text: string): InetAddress {
  const n = cidrFromString(text);
  if (n === null) throw new Error(text);
  return n;
}

describe("CIDR helpers", () => {
  test("containment by prefix length, family-checked; a bare address is one host", () => {
    expect(cidrContains(cidr("10.0.0.0/8"), cidr("10.255.1.2"))).toBe(true);
    expect(cidrContains(cidr("10.0.0.0/8"), cidr("11.0.0.1"))).toBe(false);
    expect(cidrContains(cidr("10.0.2.0/23"), cidr("10.0.3.9"))).toBe(true);
    expect(cidrContains(cidr("10.0.2.0/23"), cidr("10.0.4.1"))).toBe(false);
    expect(cidrContains(cidr("0.0.0.0/0"), cidr("1.2.3.4"))).toBe(true);
    expect(cidrContains(cidr("0.0.0.0/0"), cidr("::1"))).toBe(false);
    expect(cidrContains(cidr("fd00::/8"), cidr("fd12::1"))).toBe(true);
    expect(cidrContains(cidr("fd00::/9"), cidr("fd80::1"))).toBe(false);
    expect(cidrContains(cidr("10.1.2.3"), cidr("10.1.2.3"))).toBe(true);
    expect(cidrContains(cidr("10.1.2.3"), cidr("10.1.2.4"))).toBe(false);
    expect(cidrFromString("10.0.0.0/33")).toBeNull();
    expect(cidrFromString("fd00::/129")).toBeNull();
    expect(cidrFromString("10.0.0/8")).toBeNull();
  });
});

describe("pathCheck", () => {
  test("a vetoed address never becomes a path: RENDEZVOUS and HELLO from it are ignored, traffic stays relayed", () => {
    const vetoed: { peer: number; addr: string }[] = [];
    const { net, root, a, b } = lab(11, (i) =>
      i === 1
        ? {
            pathCheck: (peer, addr) => {
              const ok = !cidrContains(cidr("10.0.2.0/24"), addr);
              if (!ok) vetoed.push({ peer, addr: addr.ip.join(".") });
              return ok;
            },
          }
        : {},
    );
    net.run(3000);
    a.node.send(b.node.address, TEST_VERB, new Uint8Array(4));
    net.run(3000);
    b.node.send(a.node.address, TEST_VERB, new Uint8Array(4));
    net.run(5000);
    // b's HELLOs to a arrive from 10.0.2.1 and the root told a to meet b there: a refused both.
    expect(vetoed.some((v) => v.peer === b.node.address && v.addr === "10.0.2.1")).toBe(true);
    expect(a.node.getPeer(b.node.address)!.paths.length).toBe(0);
    // Traffic still flows, through the root.
    const relayed = root.node.stats.relayed;
    a.node.send(b.node.address, TEST_VERB, new TextEncoder().encode("via root"));
    net.run(500);
    expect(b.received.map((r) => new TextDecoder().decode(r.payload))).toContain("via root");
    expect(root.node.stats.relayed).toBeGreaterThan(relayed);
  });

  test("without a veto the same exchange ends with a direct path", () => {
    const { net, a, b } = lab(11, () => ({}));
    net.run(3000);
    a.node.send(b.node.address, TEST_VERB, new Uint8Array(4));
    net.run(3000);
    b.node.send(a.node.address, TEST_VERB, new Uint8Array(4));
    net.run(5000);
    expect(a.node.getPeer(b.node.address)!.paths.length).toBe(1);
  });
});

describe("trusted paths (cipher suite 2)", () => {
  const ID = 0x0123456789abcdefn;
  const trustAll = (id: bigint) => (): Partial<NodeOptions> => ({ trustedPaths: [{ network: cidr("10.0.0.0/16"), id }] });

  test("inside the configured network packets go unencrypted with the ID, and are accepted", () => {
    const { net, a, b } = lab(12, trustAll(ID));
    net.run(3000);
    const mark = net.log.length;
    const text = "plain over a trusted path";
    a.node.send(b.node.address, TEST_VERB, new TextEncoder().encode(text));
    net.run(3000);
    expect(b.received.map((r) => new TextDecoder().decode(r.payload))).toContain(text);
    const sent = net.log.slice(mark).filter((d) => d.data.length > 28 && source(d.data, 0) === a.node.address);
    const frames = sent.filter((d) => d.data[27] === TEST_VERB);
    expect(frames.length).toBeGreaterThan(0);
    for (const f of frames) {
      expect(cipher(f.data, 0)).toBe(2);
      expect(f.data[18]! & 0x80).toBe(0);
      expect(new DataView(f.data.buffer, f.data.byteOffset).getBigUint64(IDX_MAC)).toBe(ID);
      expect(new TextDecoder().decode(f.data.subarray(28))).toBe(text);
    }
    // HELLO is never sent over a trusted path (as zerotier-one): it stays armored.
    const hellos = net.log.filter((d) => d.data.length > 28 && d.data[27] === Verb.HELLO);
    expect(hellos.length).toBeGreaterThan(0);
    for (const h of hellos) expect(cipher(h.data, 0)).not.toBe(2);
    expect(a.node.peerInfo(a.node.getPeer(b.node.address)!).paths.every((p) => p.trustedPathId === Number(ID))).toBe(true);
  });

  test("a suite 2 packet with another ID, or from outside the network, is dropped", () => {
    const { net, a, b } = lab(13, (i) => (i < 2 ? trustAll(ID)() : { trustedPaths: [{ network: cidr("10.0.0.0/16"), id: ID + 1n }] }));
    net.run(3000);
    const dropped = b.node.stats.drops.path_not_trusted;
    a.node.send(b.node.address, TEST_VERB, new TextEncoder().encode("wrong id"));
    net.run(3000);
    expect(b.received.map((r) => new TextDecoder().decode(r.payload))).not.toContain("wrong id");
    expect(b.node.stats.drops.path_not_trusted).toBeGreaterThan(dropped);

    // A node without trusted paths drops every suite 2 packet, whatever its ID.
    const plain = lab(14, (i) => (i < 2 ? trustAll(ID)() : {}));
    plain.net.run(3000);
    plain.a.node.send(plain.b.node.address, TEST_VERB, new TextEncoder().encode("not configured"));
    plain.net.run(3000);
    expect(plain.b.received.length).toBe(0);
    expect(plain.b.node.stats.drops.path_not_trusted).toBeGreaterThan(0);
    // From outside its network: the right ID (relayed from 10.0.0.1) into a node trusting only 10.0.9.0/24.
    const narrow = lab(15, (i) => (i < 2 ? trustAll(ID)() : { trustedPaths: [{ network: cidr("10.0.9.0/24"), id: ID }] }));
    narrow.net.run(3000);
    narrow.a.node.send(narrow.b.node.address, TEST_VERB, new TextEncoder().encode("outside"));
    narrow.net.run(3000);
    expect(narrow.b.received.length).toBe(0);
    const toB = narrow.net.log.filter(
      (d) => d.data.length > 28 && destination(d.data, 0) === narrow.b.node.address && cipher(d.data, 0) === 2,
    );
    expect(toB.length).toBeGreaterThan(0);
  });
});
