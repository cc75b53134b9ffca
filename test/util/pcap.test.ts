import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, readPcapUdp } from "../../src/util/pcap.ts";

// Copied into a plain Uint8Array: Buffer.slice() would share memory and let one test corrupt another.
const capture = new Uint8Array(readFileSync(join(import.meta.dir, "..", "fixtures", "captures", "aes-gmac-siv", "join.pcap")));

interface PacketsJsonEntry {
  src: string;
  dst: string;
  udp_payload_len: number;
  udp_payload_hex: string;
}

function u32le(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
}

/** A tiny little-endian pcap with the given link type and records. */
function pcap(linkType: number, records: number[][]): Uint8Array {
  const out: number[] = [...u32le(0xa1b2c3d4), 2, 0, 4, 0, ...u32le(0), ...u32le(0), ...u32le(65535), ...u32le(linkType)];
  records.forEach((r, i) => out.push(...u32le(1000 + i), ...u32le(500000), ...u32le(r.length), ...u32le(r.length), ...r));
  return new Uint8Array(out);
}

function ipv4Udp(payload: number[], frag = 0): number[] {
  const udp = [0x26, 0xf9, 0x26, 0xf9, 0, 8 + payload.length, 0, 0, ...payload];
  const total = 20 + udp.length;
  return [0x45, 0, 0, total, 0, 0, frag >> 8, frag & 0xff, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...udp];
}

describe("readPcapUdp", () => {
  test("the lab capture: Ethernet, every record a UDP datagram on port 9993 between lab addresses", () => {
    const r = readPcapUdp(capture);
    if (!r.ok) throw new Error(r.error);
    expect(r.linkType).toBe(LINKTYPE_ETHERNET);
    expect(r.skipped).toBe(0);
    const entries = JSON.parse(
      readFileSync(join(import.meta.dir, "..", "fixtures", "captures", "aes-gmac-siv", "packets.json"), "utf8"),
    ) as { packets: PacketsJsonEntry[] };
    expect(r.datagrams.length).toBe(entries.packets.length);
    r.datagrams.forEach((d, i) => {
      expect(d.payload.length).toBe(entries.packets[i]!.udp_payload_len);
      expect(Buffer.from(d.payload).toString("hex")).toBe(entries.packets[i]!.udp_payload_hex);
      expect(d.frame).toBe(i + 1);
      expect(d.srcPort === 9993 || d.dstPort === 9993).toBe(true);
      expect(d.src.startsWith("10.77.0.")).toBe(true);
    });
    expect(r.datagrams[0]!.src).toBe("10.77.0.4");
    expect(r.datagrams[0]!.dst).toBe("10.77.0.2");
    expect(r.datagrams[0]!.payload.length).toBe(137); // the first HELLO, per the capture README
    expect(r.datagrams[1]!.time).toBeGreaterThan(r.datagrams[0]!.time);
    expect(r.datagrams[0]!.time).toBeGreaterThan(1.79e9);
  });

  test("Linux cooked (SLL) records and IP fragments / non-UDP records are skipped", () => {
    const sllHeader = [0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00];
    const bytes = pcap(LINKTYPE_LINUX_SLL, [
      [...sllHeader, ...ipv4Udp([1, 2, 3])],
      [...sllHeader, ...ipv4Udp([1, 2, 3], 0x2000)], // more-fragments set
      [...sllHeader, 0x45, 0], // truncated IP
    ]);
    const r = readPcapUdp(bytes);
    if (!r.ok) throw new Error(r.error);
    expect(r.datagrams.length).toBe(1);
    expect(r.skipped).toBe(2);
    expect([...r.datagrams[0]!.payload]).toEqual([1, 2, 3]);
    expect(r.datagrams[0]!.time).toBe(1000.5);
  });

  test("bad files give a clear error instead of throwing", () => {
    expect(readPcapUdp(new Uint8Array(10))).toEqual({ ok: false, error: "pcap: shorter than the 24-byte global header" });
    const bad = capture.slice();
    bad[0] = 0;
    expect(readPcapUdp(bad).ok).toBe(false);
    const truncated = capture.subarray(0, capture.length - 5);
    const r = readPcapUdp(truncated);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain("runs past the end");
    expect(readPcapUdp(pcap(105, [])).ok).toBe(false); // 802.11 not supported
  });

  test("5,000 truncated and mutated captures never throw", () => {
    let state = 12345;
    const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0);
    let ok = 0;
    for (let k = 0; k < 5000; k++) {
      const b = capture.slice(0, 24 + (next() % (capture.length - 24)));
      for (let f = 0; f < 4; f++) b[next() % b.length] = next() & 0xff;
      const r = readPcapUdp(b);
      if (r.ok) {
        ok++;
        for (const d of r.datagrams) expect(d.payload.length).toBeLessThanOrEqual(65535);
      } else expect(r.error.startsWith("pcap: ")).toBe(true);
    }
    expect(ok).toBeGreaterThan(0);
  });
});
