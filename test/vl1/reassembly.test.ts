import { describe, expect, test } from "bun:test";
import { ManualClock } from "../../src/util/clock.ts";
import { SeededRng } from "../../src/util/random.ts";
import { PeerKeys, armor, dearmor } from "../../src/vl1/armor.ts";
import { setFragmentHops, splitPacket } from "../../src/vl1/fragment.ts";
import { DEFAULT_PHYSMTU, Verb, setFragmented, writeHeader } from "../../src/vl1/packet.ts";
import { RX_QUEUE_SLOTS, Reassembly, ReassemblyQueue } from "../../src/vl1/reassembly.ts";

const { PENDING, DUPLICATE, BAD_FRAGMENT, BAD_HEAD, TOO_LONG } = Reassembly;

/** An "armored" packet with a given ID, already cut into datagrams (copies). */
function pieces(len: number, id: number, seed = id): { packet: Uint8Array; parts: Uint8Array[] } {
  const p = new Uint8Array(len);
  new SeededRng(seed).fill(p);
  writeHeader(p, 0, 0x5a5a0000 + id, id * 7919, 0x0102030405, 0x0a0b0c0d0e, Verb.FRAME);
  setFragmented(p, 0, true);
  const parts: Uint8Array[] = [];
  splitPacket(p, 0, len, DEFAULT_PHYSMTU, new Uint8Array(DEFAULT_PHYSMTU), (b, s, e) => parts.push(b.slice(s, e)));
  return { packet: p, parts };
}

function offer(q: ReassemblyQueue, d: Uint8Array): number {
  return d[13] === 0xff ? q.addFragment(d, 0, d.length) : q.addHead(d, 0, d.length);
}

describe("ReassemblyQueue", () => {
  test("in order: pending until the last piece, then the exact packet", () => {
    const q = new ReassemblyQueue(new ManualClock());
    const { packet, parts } = pieces(5000, 1);
    expect(parts.length).toBe(4);
    expect(offer(q, parts[0]!)).toBe(PENDING);
    expect(offer(q, parts[1]!)).toBe(PENDING);
    expect(offer(q, parts[2]!)).toBe(PENDING);
    expect(offer(q, parts[3]!)).toBe(5000);
    expect(q.out.subarray(0, 5000)).toEqual(packet);
    expect(q.stats.completed).toBe(1);
    expect(q.pendingCount()).toBe(0);
  });

  test("every arrival order of a 4-piece packet assembles the same bytes", () => {
    const { packet, parts } = pieces(4500, 2);
    const perms: number[][] = [];
    const permute = (rest: number[], acc: number[]) => {
      if (rest.length === 0) perms.push(acc);
      for (let i = 0; i < rest.length; i++) permute([...rest.slice(0, i), ...rest.slice(i + 1)], [...acc, rest[i]!]);
    };
    permute([0, 1, 2, 3], []);
    expect(perms.length).toBe(24);
    for (const order of perms) {
      const q = new ReassemblyQueue(new ManualClock());
      const results = order.map((i) => offer(q, parts[i]!));
      expect(results).toEqual([PENDING, PENDING, PENDING, 4500]);
      expect(q.out.subarray(0, 4500)).toEqual(packet);
    }
  });

  test("7 pieces (the maximum) at a buffer offset", () => {
    const q = new ReassemblyQueue(new ManualClock());
    const { packet, parts } = pieces(1432 + 6 * 1416, 3);
    expect(parts.length).toBe(7);
    const results: number[] = [];
    for (const part of [...parts].reverse()) {
      const b = new Uint8Array(part.length + 9);
      b.set(part, 9);
      results.push(b[9 + 13] === 0xff ? q.addFragment(b, 9, b.length) : q.addHead(b, 9, b.length));
    }
    expect(results.slice(0, 6)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(results[6]).toBe(packet.length);
    expect(q.out.subarray(0, packet.length)).toEqual(packet);
  });

  test("duplicates are ignored, before and after completion", () => {
    const q = new ReassemblyQueue(new ManualClock());
    const { packet, parts } = pieces(3000, 4);
    expect(offer(q, parts[1]!)).toBe(PENDING);
    expect(offer(q, parts[1]!)).toBe(DUPLICATE);
    expect(offer(q, parts[0]!)).toBe(PENDING);
    expect(offer(q, parts[0]!)).toBe(DUPLICATE);
    expect(offer(q, parts[2]!)).toBe(3000);
    expect(q.out.subarray(0, 3000)).toEqual(packet);
    // a late copy of any piece does not deliver the packet a second time
    expect(offer(q, parts[2]!)).toBe(DUPLICATE);
    expect(offer(q, parts[0]!)).toBe(DUPLICATE);
    expect(q.stats.duplicates).toBe(4);
    expect(q.stats.completed).toBe(1);
  });

  test("bad fragments: T > 7, T = 1, n = 0, n >= T, header-only, T disagreeing with earlier pieces", () => {
    const q = new ReassemblyQueue(new ManualClock());
    const { parts } = pieces(3000, 5);
    const f = parts[1]!.slice();
    const withNumbers = (b: number) => {
      const c = f.slice();
      c[14] = b;
      return q.addFragment(c, 0, c.length);
    };
    expect(withNumbers(0x81)).toBe(BAD_FRAGMENT);
    expect(withNumbers(0xf1)).toBe(BAD_FRAGMENT);
    expect(withNumbers(0x10)).toBe(BAD_FRAGMENT);
    expect(withNumbers(0x30)).toBe(BAD_FRAGMENT);
    expect(withNumbers(0x33)).toBe(BAD_FRAGMENT);
    expect(withNumbers(0x37)).toBe(BAD_FRAGMENT);
    expect(q.addFragment(f, 0, 16)).toBe(BAD_FRAGMENT); // header only
    expect(q.addFragment(parts[0]!, 0, parts[0]!.length)).toBe(BAD_FRAGMENT); // a head is not a fragment
    expect(q.pendingCount()).toBe(0); // none of the above took a slot
    expect(q.addFragment(f, 0, f.length)).toBe(PENDING); // T=3 n=1
    expect(withNumbers(0x42)).toBe(BAD_FRAGMENT); // T=4 now disagrees
    expect(q.stats.badFragments).toBe(9);
  });

  test("bad heads: shorter than 28 bytes or not flagged fragmented", () => {
    const q = new ReassemblyQueue(new ManualClock());
    const { parts } = pieces(3000, 6);
    expect(q.addHead(parts[0]!, 0, 27)).toBe(BAD_HEAD);
    const unflagged = parts[0]!.slice();
    unflagged[18] = 0;
    expect(q.addHead(unflagged, 0, unflagged.length)).toBe(BAD_HEAD);
    expect(q.stats.badHeads).toBe(2);
  });

  test("entries time out after 5 s (injected clock): late pieces start over", () => {
    const clock = new ManualClock(1000);
    const q = new ReassemblyQueue(clock);
    const { packet, parts } = pieces(3000, 7);
    expect(offer(q, parts[0]!)).toBe(PENDING);
    expect(offer(q, parts[1]!)).toBe(PENDING);
    clock.advance(5000);
    expect(offer(q, parts[2]!)).toBe(PENDING); // old entry abandoned, this piece starts a new one
    expect(q.stats.expired).toBe(1);
    expect(offer(q, parts[0]!)).toBe(PENDING);
    clock.advance(4999);
    expect(offer(q, parts[1]!)).toBe(3000);
    expect(q.out.subarray(0, 3000)).toEqual(packet);
  });

  test("32-slot ring: the 33rd new packet overwrites the oldest incomplete one", () => {
    const q = new ReassemblyQueue(new ManualClock());
    const all = Array.from({ length: RX_QUEUE_SLOTS + 1 }, (_, i) => pieces(2000, 100 + i));
    for (const p of all) expect(offer(q, p.parts[0]!)).toBe(PENDING);
    expect(q.stats.evicted).toBe(1);
    expect(q.pendingCount()).toBe(RX_QUEUE_SLOTS);
    // the oldest (first) lost its head: its fragment now starts a fresh entry (and evicts the 2nd)
    expect(offer(q, all[0]!.parts[1]!)).toBe(PENDING);
    expect(q.stats.evicted).toBe(2);
    // the 3rd .. 33rd still complete
    for (let i = 2; i <= RX_QUEUE_SLOTS; i++) {
      expect(offer(q, all[i]!.parts[1]!)).toBe(2000);
      expect(q.out.subarray(0, 2000)).toEqual(all[i]!.packet);
    }
    expect(offer(q, all[1]!.parts[1]!)).toBe(PENDING); // its head was evicted
  });

  test("pieces whose total exceeds 10024 bytes abandon the packet", () => {
    const q = new ReassemblyQueue(new ManualClock());
    const { parts } = pieces(3000, 8);
    // forge oversized fragments (receivers must bound memory even if a sender uses a huge MTU)
    const big = new Uint8Array(16 + 6000);
    big.set(parts[1]!.subarray(0, 16));
    big[14] = 0x31;
    const big2 = big.slice();
    big2[14] = 0x32;
    expect(q.addFragment(big, 0, big.length)).toBe(PENDING);
    expect(q.addFragment(big2, 0, big2.length)).toBe(TOO_LONG);
    expect(offer(q, parts[0]!)).toBe(DUPLICATE); // the entry is dead; no assembly will happen
    expect(q.stats.tooLong).toBe(1);
  });

  test("random interleaving of 200 packets with duplicates: each delivered exactly once and intact", () => {
    const rng = new SeededRng(99);
    const q = new ReassemblyQueue(new ManualClock());
    const delivered = new Map<number, number>();
    const packets = Array.from({ length: 200 }, (_, i) => pieces(1500 + (rng.u32() % 8000), 1000 + i));
    // up to 8 packets in flight at a time so none is evicted
    for (let base = 0; base < packets.length; base += 8) {
      const batch: [number, Uint8Array][] = [];
      for (let i = base; i < base + 8; i++) for (const part of packets[i]!.parts) batch.push([i, part]);
      for (let k = 0; k < 5; k++) batch.push(batch[rng.u32() % batch.length]!);
      for (let k = batch.length - 1; k > 0; k--) {
        const j = rng.u32() % (k + 1);
        [batch[k], batch[j]] = [batch[j]!, batch[k]!];
      }
      for (const [i, part] of batch) {
        const r = offer(q, part);
        if (r > 0) {
          expect(q.out.subarray(0, r)).toEqual(packets[i]!.packet);
          delivered.set(i, (delivered.get(i) ?? 0) + 1);
        } else expect(r === PENDING || r === DUPLICATE).toBe(true);
      }
    }
    expect(delivered.size).toBe(200);
    expect([...delivered.values()].every((c) => c === 1)).toBe(true);
  });
});

describe("with real armor (spec 3.5: the MAC covers the assembled packet, fragmented flag included)", () => {
  const keys = new PeerKeys(new Uint8Array(48).map((_, i) => i * 3));

  function armoredBig(len: number, suite: 1 | 3): { wire: Uint8Array; plain: Uint8Array } {
    const p = new Uint8Array(len);
    new SeededRng(len).fill(p);
    writeHeader(p, 0, 0x01020304, 0x05060708, 0x0102030405, 0x0a0b0c0d0e, Verb.FRAME);
    setFragmented(p, 0, true);
    const plain = p.slice();
    armor(p, 0, len, keys, suite);
    return { wire: p, plain };
  }

  test("split, shuffle, relay-increment fragment hops, reassemble, dearmor: original bytes back", () => {
    for (const suite of [1, 3] as const) {
      const { wire, plain } = armoredBig(6000, suite);
      const parts: Uint8Array[] = [];
      splitPacket(wire, 0, wire.length, DEFAULT_PHYSMTU, new Uint8Array(DEFAULT_PHYSMTU), (b, s, e) => parts.push(b.slice(s, e)));
      expect(parts.length).toBe(5);
      for (const f of parts.slice(1)) setFragmentHops(f, 0, 2); // hops are not authenticated
      const q = new ReassemblyQueue(new ManualClock());
      let r = 0;
      for (const i of [3, 1, 4, 0, 2]) r = offer(q, parts[i]!);
      expect(r).toBe(6000);
      const got = q.out.slice(0, r);
      expect(dearmor(got, 0, r, keys)).toBe(true);
      expect(Buffer.compare(got.subarray(27), plain.subarray(27))).toBe(0);
    }
  });

  test("one flipped bit in any fragment makes the assembled packet fail authentication", () => {
    const { wire } = armoredBig(4000, 3);
    const parts: Uint8Array[] = [];
    splitPacket(wire, 0, wire.length, DEFAULT_PHYSMTU, new Uint8Array(DEFAULT_PHYSMTU), (b, s, e) => parts.push(b.slice(s, e)));
    for (let k = 0; k < parts.length; k++) {
      const q = new ReassemblyQueue(new ManualClock());
      let r = 0;
      parts.forEach((part, i) => {
        const c = part.slice();
        if (i === k) c[c.length - 1]! ^= 0x10;
        r = offer(q, c);
      });
      expect(r).toBe(4000);
      expect(dearmor(q.out, 0, r, keys)).toBe(false);
    }
  });
});

describe("hostile datagrams", () => {
  test("50,000 random and mutated datagrams: no exception, only defined results, bounded state", () => {
    const rng = new SeededRng(5);
    const clock = new ManualClock();
    const q = new ReassemblyQueue(clock);
    const { parts } = pieces(5000, 77);
    const allowed = new Set<number>([PENDING, DUPLICATE, BAD_FRAGMENT, BAD_HEAD, TOO_LONG]);
    for (let k = 0; k < 50_000; k++) {
      let d: Uint8Array;
      if (k % 3 === 0) {
        d = new Uint8Array(rng.u32() % 1500);
        rng.fill(d);
        if (d.length > 14 && rng.u32() % 2 === 0) {
          d[13] = 0xff;
          d[0] = 1; // few distinct IDs so pieces meet in the same slots
          d[14] = rng.u32() & 0x7f;
        }
      } else {
        d = parts[rng.u32() % parts.length]!.slice();
        d[rng.u32() % d.length] = rng.u32() & 0xff;
        if (rng.u32() % 4 === 0) d = d.subarray(0, rng.u32() % d.length);
      }
      const r = d.length > 13 && d[13] === 0xff ? q.addFragment(d, 0, d.length) : q.addHead(d, 0, d.length);
      if (!(allowed.has(r) || (r >= 28 && r <= 10024))) throw new Error(`unexpected result ${r}`);
      if (k % 1000 === 0) clock.advance(700);
    }
    expect(q.pendingCount()).toBeLessThanOrEqual(RX_QUEUE_SLOTS);
    const s = q.stats;
    expect(s.badFragments + s.badHeads + s.duplicates).toBeGreaterThan(1000);
  });
});
