import { describe, expect, test } from "bun:test";
import { SeededRng } from "../../src/util/random.ts";
import { Verb } from "../../src/vl1/packet.ts";
import { MULTICAST_LIKE_EXPIRE_MS, MulticastDirectory } from "../../src/vl2/multicast-directory.ts";
import { MulticastDirectoryResponder } from "../../src/vl2/multicast-directory-responder.ts";
import { parseOkMulticastGather, writeMulticastGather, writeMulticastLike } from "../../src/vl2/multicast-codec.ts";
import { arpGroupForIpv4, BROADCAST_GROUP } from "../../src/vl2/multicast-group.ts";

const NW = { hi: 0x3bc65e2b, lo: 0x50b151d2 };
const ARP = arpGroupForIpv4(new Uint8Array([172, 28, 0, 5]));

describe("MulticastDirectory", () => {
  test("gather returns live members except the requester, with the total", () => {
    const d = new MulticastDirectory(new SeededRng(1));
    for (const a of [0x1111111111, 0x2222222222, 0x3333333333]) d.like(NW.hi, NW.lo, ARP, a, 1000);
    const r = d.gather(NW.hi, NW.lo, ARP, 0x1111111111, 10, 2000);
    expect(r.total).toBe(3);
    expect(r.members.sort()).toEqual([0x2222222222, 0x3333333333]);
    expect(d.gather(NW.hi, NW.lo, BROADCAST_GROUP, 0x1111111111, 10, 2000).members).toEqual([]);
    expect(d.gather(NW.hi, NW.lo + 1, ARP, 0x1111111111, 10, 2000).members).toEqual([]);
  });

  test("the gather limit caps the answer and the order is shuffled", () => {
    const d = new MulticastDirectory(new SeededRng(2));
    for (let a = 1; a <= 50; a++) d.like(NW.hi, NW.lo, ARP, 0x100000000 + a, 0);
    const one = d.gather(NW.hi, NW.lo, ARP, 1, 5, 10);
    expect(one.members.length).toBe(5);
    const orders = new Set<string>();
    for (let i = 0; i < 5; i++) orders.add(d.gather(NW.hi, NW.lo, ARP, 1, 50, 10).members.join(","));
    expect(orders.size).toBeGreaterThan(1);
  });

  test("entries expire 600 s after the last LIKE; a refresh keeps them", () => {
    const d = new MulticastDirectory(new SeededRng(3));
    d.like(NW.hi, NW.lo, ARP, 0xaaaaaaaaaa, 0);
    d.like(NW.hi, NW.lo, ARP, 0xbbbbbbbbbb, 0);
    d.like(NW.hi, NW.lo, ARP, 0xbbbbbbbbbb, 500_000);
    expect(d.gather(NW.hi, NW.lo, ARP, 1, 10, MULTICAST_LIKE_EXPIRE_MS + 1).members).toEqual([0xbbbbbbbbbb]);
    d.expire(MULTICAST_LIKE_EXPIRE_MS + 500_000);
    expect(d.groupCount).toBe(0);
  });

  test("caps on groups and members refuse new entries and count them", () => {
    const d = new MulticastDirectory(new SeededRng(4), { maxGroups: 2, maxMembersPerGroup: 2 });
    d.like(NW.hi, NW.lo, ARP, 1, 0);
    d.like(NW.hi, NW.lo, ARP, 2, 0);
    d.like(NW.hi, NW.lo, ARP, 3, 0);
    d.like(NW.hi, NW.lo, BROADCAST_GROUP, 1, 0);
    d.like(NW.hi, NW.lo + 1, BROADCAST_GROUP, 1, 0);
    expect(d.refused).toBe(2);
    expect(d.groupCount).toBe(2);
    d.like(NW.hi, NW.lo, ARP, 2, 5);
    expect(d.refused).toBe(2);
  });
});

describe("MulticastDirectoryResponder", () => {
  function packet(verb: number, body: (b: Uint8Array, off: number) => number): { buf: Uint8Array; end: number } {
    const buf = new Uint8Array(256);
    for (let i = 0; i < 8; i++) buf[i] = 0xa0 + i;
    buf[27] = verb;
    return { buf, end: 28 + body(buf, 28) };
  }
  const sent: { dest: number; verb: number; payload: Uint8Array }[] = [];
  const sender = {
    send(dest: number, verb: number, payload: Uint8Array, start: number, end: number) {
      sent.push({ dest, verb, payload: payload.slice(start, end) });
      return true;
    },
  };

  test("LIKE then GATHER: the OK quotes the request ID and lists the other member", () => {
    sent.length = 0;
    const d = new MulticastDirectory(new SeededRng(5));
    const r = new MulticastDirectoryResponder(d, sender, () => 1000, () => true);
    const like = packet(Verb.MULTICAST_LIKE, (b, o) => writeMulticastLike(b, o, NW, ARP) + writeMulticastLike(b, o + 18, NW, BROADCAST_GROUP));
    expect(r.onPacket(0x2222222222, Verb.MULTICAST_LIKE, like.buf, 0, like.end)).toBe(true);
    expect(r.stats.likes).toBe(2);
    const gather = packet(Verb.MULTICAST_GATHER, (b, o) => writeMulticastGather(b, o, NW, ARP, 32, null));
    expect(r.onPacket(0x1111111111, Verb.MULTICAST_GATHER, gather.buf, 0, gather.end)).toBe(true);
    expect(sent.length).toBe(1);
    const ok = sent[0]!;
    expect(ok.dest).toBe(0x1111111111);
    expect(ok.verb).toBe(Verb.OK);
    expect(ok.payload[0]).toBe(Verb.MULTICAST_GATHER);
    expect([...ok.payload.subarray(1, 9)]).toEqual([0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7]);
    const parsed = parseOkMulticastGather(ok.payload, 9, ok.payload.length);
    if (typeof parsed === "string") throw new Error(parsed);
    expect(parsed.members).toEqual([0x2222222222]);
    expect(parsed.totalKnown).toBe(1);
    expect(parsed.nwid).toEqual(NW);
  });

  test("no answer when nothing is known, when refused, or when malformed; other verbs are not taken", () => {
    sent.length = 0;
    const d = new MulticastDirectory(new SeededRng(6));
    let allow = true;
    const r = new MulticastDirectoryResponder(d, sender, () => 0, () => allow);
    const gather = packet(Verb.MULTICAST_GATHER, (b, o) => writeMulticastGather(b, o, NW, ARP, 32, null));
    r.onPacket(1, Verb.MULTICAST_GATHER, gather.buf, 0, gather.end);
    d.like(NW.hi, NW.lo, ARP, 2, 0);
    allow = false;
    r.onPacket(1, Verb.MULTICAST_GATHER, gather.buf, 0, gather.end);
    expect(r.stats.refused).toBe(1);
    r.onPacket(1, Verb.MULTICAST_GATHER, gather.buf, 0, 40);
    const badLike = packet(Verb.MULTICAST_LIKE, () => 17);
    r.onPacket(1, Verb.MULTICAST_LIKE, badLike.buf, 0, badLike.end);
    expect(r.stats.malformed).toBe(2);
    expect(sent.length).toBe(0);
    expect(r.onPacket(1, Verb.FRAME, gather.buf, 0, gather.end)).toBe(false);
  });
});
