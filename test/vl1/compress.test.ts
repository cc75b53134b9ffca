import { describe, expect, test } from "bun:test";
import { SeededRng } from "../../src/util/random.ts";
import { DECOMPRESS_CORRUPT, DECOMPRESS_NO_ROOM, PayloadCompression } from "../../src/vl1/compress.ts";
import { MAX_PACKET_LENGTH, Verb, isCompressed, verb, writeHeader } from "../../src/vl1/packet.ts";
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
