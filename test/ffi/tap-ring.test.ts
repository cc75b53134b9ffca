/**
 * The tap ring's slot arithmetic at the counters' wrap boundaries (2^31, where int32 turns negative,
 * and 2^32, where it returns to 0): every slot offset stays inside the ring, frames come out in the
 * order they went in, and a full ring refuses a slot. The kernel test pushes real frames through a
 * tap whose ring starts just before each boundary (root only).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { ETHERTYPE_IPV4, ipv4ToString } from "../../src/stack/link.ts";
import { RING_HEAD, RING_TAIL, RingConsumer, RingProducer, ringSlotCount, TapRing } from "../../ffi/tap-ring.ts";
import { createKernelNet, kernelTestsPossible, type KernelNet } from "../stack/kernel-harness.ts";
import { waitFor } from "../e2e/helpers.ts";
import { ioUringAllowed } from "./io-uring-allowed.ts";

const HEADROOM = 64;
const BOUNDARIES: [string, number][] = [
  ["2^31", 2 ** 31],
  ["2^32", 2 ** 32],
];

/** Push `n` frames through producer and consumer in bursts of `burst`; checks offsets and contents. */
function pump(ring: TapRing, n: number, burst: number): number[] {
  const producer = new RingProducer(ring);
  const consumer = new RingConsumer(ring);
  const out: number[] = [];
  const limit = ring.data.byteLength;
  let sent = 0;
  for (let rounds = 0; out.length < n; rounds++) {
    if (rounds > n) throw new Error(`ring stalled after ${out.length} of ${n} frames`);
    for (let k = 0; k < burst && sent < n; k++) {
      const off = producer.reserve();
      if (off < 0) break;
      expect(off).toBeGreaterThanOrEqual(HEADROOM);
      expect(off + ring.maxFrame).toBeLessThanOrEqual(limit);
      const len = 1 + (sent % ring.maxFrame);
      ring.data.fill(sent & 0xff, off, off + len);
      producer.commit(len);
      sent++;
    }
    producer.publish();
    consumer.drain((data, start, end) => {
      expect(start).toBeGreaterThanOrEqual(0);
      expect(end).toBeLessThanOrEqual(limit);
      const i = out.length;
      expect(end - start).toBe(1 + (i % ring.maxFrame));
      expect(data[start]).toBe(i & 0xff);
      expect(data[end - 1]).toBe(i & 0xff);
      out.push(i);
    });
  }
  return out;
}

describe("tap ring", () => {
  test("slot counts are powers of two; anything else is refused", () => {
    expect(ringSlotCount(902)).toBe(1024);
    expect(ringSlotCount(512)).toBe(512);
    expect(ringSlotCount(0)).toBe(1);
    expect(ringSlotCount(Number.NaN)).toBe(1);
    expect(ringSlotCount(2 ** 40)).toBe(1 << 20);
    expect(() => TapRing.create(902, 200, HEADROOM)).toThrow(RangeError);
    expect(() => TapRing.create(8, HEADROOM, HEADROOM)).toThrow(RangeError);
  });

  for (const [name, boundary] of BOUNDARIES) {
    test(`slot offsets stay in the ring for every counter around ${name}`, () => {
      const ring = TapRing.create(1024, 200, HEADROOM);
      for (let c = boundary - 3000; c < boundary + 3000; c++) {
        const counter = c | 0; // how the counter is stored in the Int32Array
        const slot = ring.slot(counter);
        expect(slot).toBeGreaterThanOrEqual(0);
        expect(slot).toBeLessThan(1024);
        // Continuous across the wrap: consecutive counters take consecutive slots.
        expect(slot).toBe(((c % 1024) + 1024) % 1024);
      }
    });

    test(`frames cross the ${name} wrap in order and intact, through a full ring`, () => {
      const ring = TapRing.create(8, 200, HEADROOM, boundary - 37);
      const out = pump(ring, 100, 11); // bursts larger than the ring: reserve() must refuse when full
      expect(out.length).toBe(100);
      const head = Atomics.load(ring.ctl, RING_HEAD);
      expect(head).toBe((boundary - 37 + 100) | 0);
      expect(Atomics.load(ring.ctl, RING_TAIL)).toBe(head);
    });
  }

  test("a full ring refuses a slot until the consumer frees one", () => {
    const ring = TapRing.create(4, 100, HEADROOM, 2 ** 31 - 2);
    const producer = new RingProducer(ring);
    for (let i = 0; i < 4; i++) {
      expect(producer.reserve()).toBeGreaterThanOrEqual(0);
      producer.commit(10);
    }
    expect(producer.reserve()).toBe(-1);
    producer.publish();
    expect(new RingConsumer(ring).drain(() => {})).toBe(4);
    expect(producer.reserve()).toBeGreaterThanOrEqual(0);
  });
});

const kernel = kernelTestsPossible();

describe.skipIf(!kernel)("tap device ring at the wrap (root)", () => {
  const nets: KernelNet[] = [];
  afterAll(async () => {
    for (const n of nets) await n.close();
  });

  /** 400 UDP datagrams of varied sizes from the kernel into the tap; checks them; returns the frames seen. */
  async function burst(net: KernelNet): Promise<number> {
    const ourMac = "02:aa:bb:cc:00:07";
    await net.exec(["ip", "neigh", "replace", ipv4ToString(net.stackIp), "lladdr", ourMac, "dev", net.ifname, "nud", "permanent"]);
    const sizes: number[] = [];
    let corrupt = 0;
    let total = 0;
    net.tap.start({
      receiveFrame: (b, s, e) => {
        total++;
        const type = (b[s + 12]! << 8) | b[s + 13]!;
        if (type !== ETHERTYPE_IPV4 || b[s + 23] !== 17) return;
        const udpLen = (b[s + 38]! << 8) | b[s + 39]!;
        if (e - s !== 14 + 20 + udpLen) corrupt++;
        for (let i = s + 42; i < e; i++) if (b[i] !== 0x5a) corrupt++;
        sizes.push(udpLen - 8);
      },
    });
    const n = 400;
    const peer = new URL("../stack/kernel-peer.ts", import.meta.url).pathname;
    await net.exec([process.execPath, peer, "udp-burst", ipv4ToString(net.stackIp), "9999", String(n)], { timeoutMs: 30_000 });
    // Everything the kernel put on the tap (sent minus its own queue drops) must come out.
    const dropped = async () =>
      Number(/TX:.*\n\s*\d+\s+\d+\s+\d+\s+(\d+)/.exec((await net.exec(["ip", "-s", "link", "show", net.ifname])).stdout)?.[1] ?? "0");
    // Wait for the fact (all delivered or dropped); on a timeout the assertions below say how many are missing.
    await waitFor("every datagram delivered or dropped", async () => (sizes.length + (await dropped()) >= n ? true : null), 10_000).catch(() => undefined);
    expect(corrupt).toBe(0);
    expect(sizes.length + (await dropped())).toBe(n);
    // In order: the sizes received are a subsequence of the sizes sent (1 + (i * 97) % 1472).
    let i = 0;
    for (const size of sizes) {
      while (i < n && 1 + ((i * 97) % 1472) !== size) i++;
      expect(i).toBeLessThan(n);
      i++;
    }
    return total;
  }

  for (const [name, boundary] of BOUNDARIES) {
    test(`UDP datagrams from the kernel cross the ${name} wrap of an 8-slot ring intact (reader thread)`, async () => {
      const start = boundary - 150;
      const net = await createKernelNet({ mtu: 1500, tap: { slots: 8, ringStart: start, reader: "thread" } });
      nets.push(net);
      const total = await burst(net);
      expect(net.tap.reader).toBe("thread");
      const counters = net.tap.ringCounters()!;
      // The counters went past the boundary (as int32: from positive to negative, or from -1 to 0).
      expect(counters.tail).toBe((start + total) | 0);
      expect(total).toBeGreaterThan(150);
    }, 40_000);
  }

  test("the doorbell reader (where io_uring is allowed) delivers the same burst intact and in order", async () => {
    const net = await createKernelNet({ mtu: 1500, tap: { reader: "doorbell" } });
    nets.push(net);
    const total = await burst(net);
    expect(net.tap.reader).toBe(ioUringAllowed() ? "doorbell" : "thread");
    if (net.tap.reader === "doorbell") expect(net.tap.ringCounters()).toBeUndefined(); // no ring in between
    expect(net.tap.stats.rxFrames).toBe(total);
    expect(total).toBeGreaterThan(150);
  }, 40_000);
});

