import { describe, expect, test } from "bun:test";
import { checkUdp, emitUdp, udpDstPort, udpLength, udpSrcPort } from "../../../src/stack/wire/udp.ts";

const SRC = 0xc0a80001;
const DST = 0xc0a800c7;

// A DNS query (10.0.0.1:53412 -> 10.0.0.2:53) header with checksum computed by hand:
// pseudo 0a00+0001+0a00+0002+0011+0010, header d0a4+0035+0010, data 1234+5678+9abc+def0.
const KNOWN = Uint8Array.from([0xd0, 0xa4, 0x00, 0x35, 0x00, 0x10, 0x00, 0x00, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0]);

describe("udp", () => {
  test("checksum matches a hand-computed value", () => {
    const b = KNOWN.slice();
    emitUdp(b, 0, b.length, 53412, 53, 0x0a000001, 0x0a000002);
    // sum = 0x0a00+0x0001+0x0a00+0x0002+0x0011+0x0010+0xd0a4+0x0035+0x0010+0x1234+0x5678+0x9abc+0xdef0
    let s = 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 0x0011 + 0x0010 + 0xd0a4 + 0x0035 + 0x0010 + 0x1234 + 0x5678 + 0x9abc + 0xdef0;
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    expect((b[6]! << 8) | b[7]!).toBe(~s & 0xffff);
    expect(checkUdp(b, 0, b.length, 0x0a000001, 0x0a000002)).toBe("ok");
    expect(udpSrcPort(b, 0)).toBe(53412);
    expect(udpDstPort(b, 0)).toBe(53);
    expect(udpLength(b, 0)).toBe(16);
  });

  test("checksum 0 means none; wrong addresses fail a real checksum", () => {
    const b = KNOWN.slice();
    expect(checkUdp(b, 0, b.length, SRC, DST)).toBe("ok");
    emitUdp(b, 0, b.length, 1, 2, SRC, DST);
    expect(checkUdp(b, 0, b.length, SRC, DST + 1)).toBe("bad-checksum");
  });

  test("a computed checksum of zero is sent as 0xffff", () => {
    // Search a payload word that makes the sum 0xffff, so the complement is 0.
    const b = new Uint8Array(10);
    for (let w = 0; w < 0x10000; w++) {
      b[8] = w >> 8;
      b[9] = w & 255;
      emitUdp(b, 0, 10, 7, 7, SRC, DST);
      if (b[6] === 0xff && b[7] === 0xff) break;
    }
    expect((b[6]! << 8) | b[7]!).toBe(0xffff);
    expect(checkUdp(b, 0, 10, SRC, DST)).toBe("ok");
  });

  test("length field shorter than the IP payload is allowed, longer is not", () => {
    const b = new Uint8Array(20);
    emitUdp(b, 0, 12, 1, 2, SRC, DST);
    expect(checkUdp(b, 0, 20, SRC, DST)).toBe("ok");
    expect(checkUdp(b, 0, 11, SRC, DST)).toBe("bad-length");
    b[4] = 0;
    b[5] = 7;
    expect(checkUdp(b, 0, 20, SRC, DST)).toBe("bad-length");
    expect(checkUdp(b, 0, 7, SRC, DST)).toBe("truncated");
  });
});
