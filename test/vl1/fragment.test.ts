import { describe, expect, test } from "bun:test";
import { SeededRng } from "../../src/util/random.ts";
import {
  DatagramKind,
  FRAGMENT_HEADER_LENGTH,
  classifyDatagram,
  fragmentCount,
  fragmentDestination,
  fragmentHops,
  fragmentNumber,
  fragmentTotal,
  isAcceptableFragment,
  setFragmentHops,
  splitPacket,
  writeFragment,
} from "../../src/vl1/fragment.ts";
import { DEFAULT_PHYSMTU, MAX_PACKET_LENGTH, Verb, setFragmented, writeHeader } from "../../src/vl1/packet.ts";

function packet(len: number, seed = 1): Uint8Array {
  const p = new Uint8Array(len);
  new SeededRng(seed).fill(p);
  writeHeader(p, 0, 0xa1a2a3a4, 0xb1b2b3b4, 0xc1c2c3c4c5, 0x1d2d3d4d5d, Verb.FRAME);
  setFragmented(p, 0, len > DEFAULT_PHYSMTU);
  return p;
}

describe("fragmentCount (spec 3.5)", () => {
  test("boundaries at the default MTU", () => {
    expect(fragmentCount(28)).toBe(1);
    expect(fragmentCount(1432)).toBe(1);
    expect(fragmentCount(1433)).toBe(2);
    expect(fragmentCount(1432 + 1416)).toBe(2);
    expect(fragmentCount(1432 + 1416 + 1)).toBe(3);
    expect(fragmentCount(1432 + 6 * 1416)).toBe(7);
    // 7 × 1432 = 10024 is the receive limit, but only 1432 + 6 × 1416 = 9928 bytes fit in 7 pieces
    // because every fragment spends 16 bytes on its header: larger packets cannot reach a 1.14 node.
    expect(fragmentCount(MAX_PACKET_LENGTH)).toBe(-1);
    expect(fragmentCount(1432 + 6 * 1416 + 1)).toBe(-1);
    expect(fragmentCount(1400 + 6 * 1384, 1400)).toBe(7);
    expect(fragmentCount(1400 + 6 * 1384 + 1, 1400)).toBe(-1);
  });
});

describe("splitPacket / writeFragment", () => {
  test("a 2800-byte packet: head = first 1432 bytes as a view of the packet, one fragment", () => {
    const p = packet(2800);
    const scratch = new Uint8Array(DEFAULT_PHYSMTU);
    const got: { bytes: Uint8Array; same: boolean; n: number; t: number }[] = [];
    const t = splitPacket(p, 0, p.length, DEFAULT_PHYSMTU, scratch, (b, s, e, n, total) =>
      got.push({ bytes: b.slice(s, e), same: b === p, n, t: total }),
    );
    expect(t).toBe(2);
    expect(got.map((g) => [g.n, g.t, g.bytes.length, g.same])).toEqual([
      [0, 2, 1432, true],
      [1, 2, 16 + 2800 - 1432, false],
    ]);
    expect(got[0]!.bytes).toEqual(p.subarray(0, 1432));
    const f = got[1]!.bytes;
    expect(f.subarray(0, 8)).toEqual(p.subarray(0, 8));
    expect(fragmentDestination(f, 0)).toBe(0xc1c2c3c4c5);
    expect(f[13]).toBe(0xff);
    expect(f[14]).toBe(0x21);
    expect(fragmentHops(f, 0)).toBe(0);
    expect(f.subarray(16)).toEqual(p.subarray(1432));
    expect(classifyDatagram(f, 0, f.length)).toBe(DatagramKind.FRAGMENT);
    expect(classifyDatagram(got[0]!.bytes, 0, 1432)).toBe(DatagramKind.HEAD);
  });

  test("max-size packet: 7 pieces, data in order, sizes sum up; works at an offset and other MTU", () => {
    for (const mtu of [DEFAULT_PHYSMTU, 1400]) {
      const len = mtu + 6 * (mtu - 16) - 3;
      const buf = new Uint8Array(len + 10);
      buf.set(packet(len, 9), 10);
      const parts: Uint8Array[] = [];
      const t = splitPacket(buf, 10, 10 + len, mtu, new Uint8Array(mtu), (b, s, e) => parts.push(b.slice(s, e)));
      expect(t).toBe(7);
      expect(parts.every((x) => x.length <= mtu)).toBe(true);
      const joined = [parts[0]!, ...parts.slice(1).map((x) => x.subarray(FRAGMENT_HEADER_LENGTH))];
      const total = joined.reduce((a, x) => a + x.length, 0);
      expect(total).toBe(len);
      const re = new Uint8Array(total);
      let o = 0;
      for (const x of joined) {
        re.set(x, o);
        o += x.length;
      }
      expect(re).toEqual(buf.subarray(10, 10 + len));
      for (let n = 1; n < 7; n++) {
        expect(fragmentTotal(parts[n]!, 0)).toBe(7);
        expect(fragmentNumber(parts[n]!, 0)).toBe(n);
      }
    }
  });

  test("refuses packets needing more than 7 pieces, without emitting anything", () => {
    const p = packet(MAX_PACKET_LENGTH + 1);
    let calls = 0;
    expect(splitPacket(p, 0, p.length, DEFAULT_PHYSMTU, new Uint8Array(DEFAULT_PHYSMTU), () => calls++)).toBe(-1);
    expect(calls).toBe(0);
  });

  test("small packets pass through as a single head", () => {
    const p = packet(100);
    const seen: number[] = [];
    expect(splitPacket(p, 0, 100, DEFAULT_PHYSMTU, new Uint8Array(0), (_b, s, e) => seen.push(e - s))).toBe(1);
    expect(seen).toEqual([100]);
  });

  test("writeFragment rejects bad indexes and too-small outputs", () => {
    const p = packet(3000);
    const out = new Uint8Array(DEFAULT_PHYSMTU);
    expect(writeFragment(p, 0, 3000, DEFAULT_PHYSMTU, 3, out, 0)).toBe(-1);
    expect(writeFragment(p, 0, 3000, DEFAULT_PHYSMTU, -1, out, 0)).toBe(-1);
    expect(writeFragment(p, 0, 3000, DEFAULT_PHYSMTU, 1, new Uint8Array(100), 0)).toBe(-1);
    expect(writeFragment(p, 0, 3000, DEFAULT_PHYSMTU, 2, out, 0)).toBe(16 + 3000 - 1432 - 1416);
    expect(writeFragment(p, 0, 3000, DEFAULT_PHYSMTU, 0, out, 0)).toBe(1432);
  });
});

describe("classification and fragment header rules", () => {
  test("classifyDatagram: beacon, junk, short fragments, heads", () => {
    const b = new Uint8Array(40);
    expect(classifyDatagram(b, 0, 4)).toBe(DatagramKind.INVALID); // the NAT-opening junk datagram
    expect(classifyDatagram(b, 0, 13)).toBe(DatagramKind.BEACON);
    expect(classifyDatagram(b, 0, 27)).toBe(DatagramKind.INVALID);
    expect(classifyDatagram(b, 0, 28)).toBe(DatagramKind.HEAD);
    b[13] = 0xff;
    expect(classifyDatagram(b, 0, 16)).toBe(DatagramKind.INVALID); // header only, no data
    expect(classifyDatagram(b, 0, 17)).toBe(DatagramKind.FRAGMENT);
  });

  test("isAcceptableFragment: 1 < T <= 7 and 1 <= n < T", () => {
    const f = new Uint8Array(20);
    f[13] = 0xff;
    const ok = (t: number, n: number) => {
      f[14] = (t << 4) | n;
      return isAcceptableFragment(f, 0, f.length);
    };
    expect(ok(2, 1)).toBe(true);
    expect(ok(7, 6)).toBe(true);
    expect(ok(8, 1)).toBe(false); // T > 7
    expect(ok(15, 3)).toBe(false);
    expect(ok(1, 0)).toBe(false); // T = 1
    expect(ok(3, 0)).toBe(false); // n = 0 is the head
    expect(ok(3, 3)).toBe(false); // n >= T
    expect(ok(3, 5)).toBe(false);
    f[14] = 0x21;
    expect(isAcceptableFragment(f, 0, 16)).toBe(false); // no data
    f[13] = 0xfe;
    expect(isAcceptableFragment(f, 0, 20)).toBe(false);
  });

  test("fragment hops are the low 3 bits of byte 15", () => {
    const f = new Uint8Array(17);
    f[15] = 0xf8;
    setFragmentHops(f, 0, 2);
    expect(f[15]).toBe(0xfa);
    expect(fragmentHops(f, 0)).toBe(2);
  });
});
