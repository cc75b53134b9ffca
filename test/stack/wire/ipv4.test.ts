import { describe, expect, test } from "bun:test";
import { checksum } from "../../../src/stack/wire/checksum.ts";
import { emitIpv4, IPV4_FLAG_DF, IPV4_FLAG_MF, Ipv4Header, isMartianSource, parseIpv4, prefixMask } from "../../../src/stack/wire/ipv4.ts";

// The classic example header (192.168.0.1 -> 192.168.0.199, UDP, DF) with checksum 0xb861.
const HDR = Uint8Array.from([
  0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
]);

function datagram(): Uint8Array {
  const d = new Uint8Array(0x73);
  d.set(HDR);
  return d;
}

describe("ipv4 parse", () => {
  test("reads the example header", () => {
    const h = new Ipv4Header();
    const d = datagram();
    expect(parseIpv4(d, 0, d.length, h)).toBe("ok");
    expect(h.headerLen).toBe(20);
    expect(h.totalLen).toBe(0x73);
    expect(h.dontFragment).toBe(true);
    expect(h.moreFragments).toBe(false);
    expect(h.isFragment).toBe(false);
    expect(h.ttl).toBe(64);
    expect(h.proto).toBe(17);
    expect(h.src).toBe(0xc0a80001);
    expect(h.dst).toBe(0xc0a800c7);
  });

  test("link padding after totalLen is accepted", () => {
    const d = new Uint8Array(0x73 + 10);
    d.set(HDR);
    expect(parseIpv4(d, 0, d.length, new Ipv4Header())).toBe("ok");
  });

  test("options are skipped by IHL and covered by the checksum", () => {
    const d = new Uint8Array(60);
    emitIpv4(d, 0, 60, 7, 0, 64, 6, 0x0a000001, 0x0a000002);
    // Rebuild as IHL=6 with a NOP,NOP,NOP,EOL option word and a fresh checksum.
    const w = new Uint8Array(60);
    w.set(d.subarray(0, 20));
    w[0] = 0x46;
    w.set([1, 1, 1, 0], 20);
    w[10] = 0;
    w[11] = 0;
    const c = checksum(w, 0, 24);
    w[10] = c >> 8;
    w[11] = c & 255;
    const h = new Ipv4Header();
    expect(parseIpv4(w, 0, 60, h)).toBe("ok");
    expect(h.headerLen).toBe(24);
    w[21] = 0x44; // corrupt an option byte: checksum must catch it
    expect(parseIpv4(w, 0, 60, h)).toBe("bad-checksum");
  });

  test("malformed headers are classified", () => {
    const h = new Ipv4Header();
    const d = datagram();
    expect(parseIpv4(d, 0, 19, h)).toBe("truncated");
    expect(parseIpv4(d, 0, 0x72, h)).toBe("bad-total-length");
    const mut = (i: number, v: number) => {
      const c = datagram();
      c[i] = v;
      return parseIpv4(c, 0, c.length, h);
    };
    expect(mut(0, 0x65)).toBe("bad-version");
    expect(mut(0, 0x44)).toBe("bad-header-length");
    expect(mut(0, 0x4f)).toBe("bad-checksum"); // 60-byte header fits in 0x73 bytes; checksum now wrong
    expect(mut(2, 0x01)).toBe("bad-total-length"); // totalLen 0x173: longer than the bytes present
    expect(mut(3, 0x10)).toBe("bad-total-length"); // 16 < header length
    expect(mut(12, 0xc1)).toBe("bad-checksum");
    // IHL bigger than the bytes present
    const short = HDR.slice();
    short[0] = 0x4f;
    expect(parseIpv4(short, 0, 20, h)).toBe("bad-header-length");
  });

  test("fragment fields", () => {
    const d = new Uint8Array(48);
    emitIpv4(d, 0, 48, 0x1234, IPV4_FLAG_MF | 185, 64, 1, 1, 2);
    const h = new Ipv4Header();
    expect(parseIpv4(d, 0, 48, h)).toBe("ok");
    expect(h.moreFragments).toBe(true);
    expect(h.fragOffset).toBe(185 * 8);
    expect(h.isFragment).toBe(true);
    expect(h.id).toBe(0x1234);
  });
});

describe("ipv4 emit", () => {
  test("reproduces the example header exactly", () => {
    const b = new Uint8Array(24);
    emitIpv4(b, 2, 0x73, 0, IPV4_FLAG_DF, 64, 17, 0xc0a80001, 0xc0a800c7);
    expect([...b.subarray(2, 22)]).toEqual([...HDR]);
  });
});

describe("ipv4 helpers", () => {
  test("prefix masks", () => {
    expect(prefixMask(0)).toBe(0);
    expect(prefixMask(8)).toBe(0xff000000);
    expect(prefixMask(24)).toBe(0xffffff00);
    expect(prefixMask(32)).toBe(0xffffffff);
  });
  test("martian sources", () => {
    expect(isMartianSource(0x7f000001)).toBe(true);
    expect(isMartianSource(0xe0000001)).toBe(true);
    expect(isMartianSource(0xffffffff)).toBe(true);
    expect(isMartianSource(0x0afb0101)).toBe(false);
  });
});
