import { describe, expect, test } from "bun:test";
import { ManualClock } from "../../src/util/clock.ts";
import { SeededRng } from "../../src/util/random.ts";
import { PeerKeys, armor, dearmor } from "../../src/vl1/armor.ts";
import { fragmentCount, splitPacket } from "../../src/vl1/fragment.ts";
import { ReassemblyQueue } from "../../src/vl1/reassembly.ts";
import { DECOMPRESS_CORRUPT, DECOMPRESS_NO_ROOM, PayloadCompression } from "../../src/vl1/compress.ts";
import { DEFAULT_PHYSMTU, MAX_PACKET_LENGTH, Verb, isCompressed, setFragmented, verb, writeHeader } from "../../src/vl1/packet.ts";
import { hex, loadVectors, toHex } from "../crypto/fixtures.ts";

const vectors = loadVectors("vectors-generated.json");
const pc = new PayloadCompression();

describe("packet payload compression (spec 3.7)", () => {
  test("reference compressed USER_MESSAGE decompresses to the reference plain packet", () => {
    const before = hex(vectors, "lz4.before");
    const after = hex(vectors, "lz4.after");
    const buf = new Uint8Array(MAX_PACKET_LENGTH);
    buf.set(after);
    expect(isCompressed(buf, 0)).toBe(true);
    const end = pc.decompress(buf, 0, after.length);
    expect(end).toBe(before.length);
    expect(toHex(buf.subarray(0, end))).toBe(toHex(before));
  });

  test("compress sets the flag, shrinks, and decompress restores the same bytes", () => {
    const before = hex(vectors, "lz4.before");
    const buf = new Uint8Array(MAX_PACKET_LENGTH);
    buf.set(before, 3);
    const end = pc.compress(buf, 3, 3 + before.length);
    expect(end - 3).toBeLessThan(before.length);
    expect(buf[3 + 27]).toBe(0x80 | Verb.USER_MESSAGE);
    expect(toHex(buf.subarray(3, 3 + 27))).toBe(toHex(before.subarray(0, 27))); // header untouched
    const back = pc.decompress(buf, 3, end);
    expect(toHex(buf.subarray(3, back))).toBe(toHex(before));
  });

  test("packets of 92 bytes or less are never compressed; incompressible ones are left as is", () => {
    const buf = new Uint8Array(2000);
    writeHeader(buf, 0, 1, 2, 0x1111111111, 0x2222222222, Verb.FRAME);
    expect(pc.compress(buf, 0, 92)).toBe(92); // zeros would compress, but too short
    expect(pc.compress(buf, 0, 93)).toBeLessThan(93);
    const rnd = new Uint8Array(2000);
    new SeededRng(3).fill(rnd);
    writeHeader(rnd, 0, 1, 2, 0x1111111111, 0x2222222222, Verb.FRAME);
    expect(pc.compress(rnd, 0, 1500)).toBe(1500);
    expect(verb(rnd, 0)).toBe(Verb.FRAME);
    expect(isCompressed(rnd, 0)).toBe(false);
  });

  test("an uncompressed packet passes through decompress unchanged", () => {
    const plain = hex(vectors, "packet_armor.plain");
    const copy = plain.slice();
    expect(pc.decompress(copy, 0, copy.length)).toBe(plain.length);
    expect(toHex(copy)).toBe(toHex(plain));
  });

  test("corrupt payload is a drop code, and a buffer too small to hold the output is reported", () => {
    const buf = new Uint8Array(200);
    writeHeader(buf, 0, 1, 2, 3, 4, Verb.MULTICAST_LIKE);
    buf[27] |= 0x80;
    buf.set([0x10, 0x61, 0x05, 0x00], 28); // offset 5 > 1 byte produced
    expect(pc.decompress(buf, 0, 32)).toBe(DECOMPRESS_CORRUPT);
    // a valid block that expands to 1000 bytes does not fit a 200-byte packet buffer
    const big = new Uint8Array(1028);
    writeHeader(big, 0, 1, 2, 3, 4, Verb.MULTICAST_LIKE);
    const end = pc.compress(big, 0, 1028);
    const small = big.slice(0, 200);
    expect(end).toBeLessThan(200);
    expect(pc.decompress(small, 0, end)).toBe(DECOMPRESS_NO_ROOM);
  });
});

describe("send/receive pipeline: compress -> armor -> fragment -> reassemble -> dearmor -> decompress", () => {
  test("a 9000-byte half-compressible packet: compressed to several fragments and restored exactly", () => {
    const keys = new PeerKeys(new Uint8Array(48).fill(7));
    const pkt = new Uint8Array(MAX_PACKET_LENGTH);
    writeHeader(pkt, 0, 0x0badf00d, 0x12345678, 0x3bc65e2b50, 0xe09cc51f00, Verb.NETWORK_CONFIG);
    new SeededRng(11).fill(pkt, 28, 4500); // incompressible half
    pkt.set(new TextEncoder().encode("I=172.28.0.124/16\nRT=172.28.0.0/16\n".repeat(200)).subarray(0, 4500), 4500);
    const original = pkt.slice(0, 9000);

    let end = new PayloadCompression().compress(pkt, 0, 9000);
    expect(end).toBeLessThan(9000);
    const total = fragmentCount(end);
    expect(total).toBeGreaterThan(2); // still needs fragments after compression
    setFragmented(pkt, 0, true); // decided before armoring: it is authenticated
    armor(pkt, 0, end, keys, 3);

    const q = new ReassemblyQueue(new ManualClock());
    let got = 0;
    const parts: [Uint8Array, number, number][] = [];
    splitPacket(pkt, 0, end, DEFAULT_PHYSMTU, new Uint8Array(DEFAULT_PHYSMTU), (b, s, e) => parts.push([b.slice(s, e), 0, e - s]));
    for (const [b, s, e] of parts.reverse()) {
      const r = b[s + 13] === 0xff ? q.addFragment(b, s, e) : q.addHead(b, s, e);
      if (r > 0) got = r;
    }
    expect(got).toBe(end);
    const rx = q.out;
    expect(dearmor(rx, 0, got, keys)).toBe(true);
    expect(isCompressed(rx, 0)).toBe(true);
    end = new PayloadCompression().decompress(rx, 0, got);
    expect(end).toBe(9000);
    expect(toHex(rx.subarray(0, 8))).not.toBe(toHex(original.subarray(0, 8))); // suite 3 rewrote the ID
    expect(toHex(rx.subarray(8, 18))).toBe(toHex(original.subarray(8, 18)));
    expect(toHex(rx.subarray(28, 9000))).toBe(toHex(original.subarray(28)));
    expect(verb(rx, 0)).toBe(Verb.NETWORK_CONFIG);
    expect(isCompressed(rx, 0)).toBe(false);
  });
});
