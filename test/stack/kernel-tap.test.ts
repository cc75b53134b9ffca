/**
 * The tap device itself: every frame the kernel sends arrives whole and alone (boundaries kept by
 * the reader worker's one-read-per-frame ring), and frames we write reach the kernel. Needs root.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ETHERTYPE_IPV4, ipv4ToString } from "../../src/stack/link.ts";
import { macToString } from "../../src/stack/wire/ethernet.ts";
import { createKernelNet, type KernelNet } from "./kernel-harness.ts";
import { ipv4Frame } from "./frames.ts";

const PEER = new URL("./kernel-peer.ts", import.meta.url).pathname;
const OUR_MAC = 0x02aabbcc0003;

let net: KernelNet;
const frames: { len: number; ipLen: number; type: number; udpLen: number }[] = [];

beforeAll(async () => {
  net = await createKernelNet({ mtu: 1500 });
  // A static neighbour entry: the kernel sends to us without ARP, so only the frames under test flow.
  const neigh = ["neigh", "replace", ipv4ToString(net.stackIp), "lladdr", macToString(OUR_MAC), "dev", net.ifname, "nud", "permanent"];
  await net.exec(["ip", ...neigh]);
  net.tap.start({
    receiveFrame: (b, s, e) => {
      const type = (b[s + 12]! << 8) | b[s + 13]!;
      const ipLen = type === ETHERTYPE_IPV4 ? (b[s + 16]! << 8) | b[s + 17]! : -1;
      const udpLen = type === ETHERTYPE_IPV4 && b[s + 23] === 17 ? (b[s + 38]! << 8) | b[s + 39]! : -1;
      frames.push({ len: e - s, ipLen, type, udpLen });
    },
  });
});

afterAll(async () => {
  await net?.close();
});

describe("tap device", () => {
  test("3,000 UDP datagrams of varied sizes arrive one frame each, lengths intact", async () => {
    const n = 3000;
    await net.exec([process.execPath, PEER, "udp-burst", ipv4ToString(net.stackIp), "9999", String(n)], { timeoutMs: 30_000 });
    // Wait until every frame the kernel put on the tap (sent minus its queue drops) came out of the ring.
    const txDropped = async () => {
      const stats = (await net.exec(["ip", "-s", "link", "show", net.ifname])).stdout;
      return Number(/TX:.*\n\s*\d+\s+\d+\s+\d+\s+(\d+)/.exec(stats)?.[1] ?? "0");
    };
    const deadline = Date.now() + 10_000;
    while (frames.filter((f) => f.udpLen > 0).length + (await txDropped()) < n && Date.now() < deadline) await Bun.sleep(20);
    const udp = frames.filter((f) => f.udpLen > 0);
    // Every frame is exactly one datagram: Ethernet 14 + IPv4 total length, UDP length = IP payload.
    for (const f of udp) {
      expect(f.len).toBe(14 + f.ipLen);
      expect(f.udpLen).toBe(f.ipLen - 20);
    }
    const dropped = await txDropped();
    // The kernel may drop on its own queue under CPU contention; whatever it sent, we saw.
    expect(udp.length + dropped).toBe(n);
    expect(udp.length).toBeGreaterThan(n * 0.5);
    const sizes = new Set(udp.map((f) => f.udpLen - 8));
    expect(sizes.size).toBeGreaterThan(1000);
  }, 40_000);

  test("every frame we write reaches the kernel (its RX counter)", async () => {
    const rx = async () => {
      const stats = (await net.exec(["ip", "-s", "link", "show", net.ifname])).stdout;
      return Number(/RX:.*\n\s*\d+\s+(\d+)/.exec(stats)?.[1] ?? "-1");
    };
    const before = await rx();
    const n = 500;
    for (let i = 0; i < n; i++) {
      const payload = new Uint8Array(1 + ((i * 131) % 1400));
      const f = ipv4Frame({ ethDst: net.kernelMac, ethSrc: OUR_MAC, src: net.stackIp, dst: net.kernelIp, proto: 253, payload });
      const b = new Uint8Array(64 + f.length);
      b.set(f, 64);
      net.tap.sendFrame(b, 64, b.length);
    }
    expect(net.tap.stats.txErrors).toBe(0);
    expect((await rx()) - before).toBe(n);
  });
});
