import { describe, expect, test } from "bun:test";
import { SeededRng } from "../../src/util/random.ts";
import { ExtFrameView, FrameView, joinNetworkId, parseExtFrame, parseFrame, splitNetworkId, writeExtFrameHeader, writeFrameHeader } from "../../src/vl2/frame-codec.ts";
import { macFromAddress } from "../../src/vl2/mac.ts";
import {
  MulticastFrameView,
  multicastLikePayloads,
  multicastFrameHeaderLength,
  parseMulticastFrame,
  parseMulticastGather,
  parseMulticastLikes,
  parseOkMulticastFrame,
  parseOkMulticastGather,
  writeMulticastFrameHeader,
  writeMulticastGather,
  writeMulticastLike,
  writeOkMulticastFrame,
  writeOkMulticastGather,
} from "../../src/vl2/multicast-codec.ts";
import { BROADCAST_GROUP, compareMulticastGroups, multicastGroupKey, readMulticastGroup } from "../../src/vl2/multicast-group.ts";
import { macFromString } from "../../src/vl2/mac.ts";
import { fixtureJson } from "./fixtures.ts";
import { decodeCom, encodeCom } from "../../src/vl2/com.ts";
import { CAPTURES, wirePackets } from "./fixtures.ts";

const NWID = 0x3bc65e2b50b151d2n;
const H = splitNetworkId(NWID);
const bytes = (hex: string) => new Uint8Array(Buffer.from(hex, "hex"));

describe("VL2 verb payloads from the captures parse and re-encode identically", () => {
  for (const cap of CAPTURES) {
    test(cap, () => {
      const pk = wirePackets(cap);
      let checked = 0;
      for (const p of pk) {
        const b = bytes(p.payload);
        const out = new Uint8Array(b.length + 64);
        switch (p.verb) {
          case "FRAME": {
            const v = new FrameView();
            expect(parseFrame(b, 0, b.length, v)).toBeNull();
            expect(joinNetworkId(v)).toBe(NWID);
            expect([0x0800, 0x0806]).toContain(v.etherType);
            const n = writeFrameHeader(out, 0, v, v.etherType);
            out.set(b.subarray(v.payloadStart), n);
            expect(out.subarray(0, b.length)).toEqual(b);
            checked++;
            break;
          }
          case "MULTICAST_LIKE": {
            let o = 0;
            const err = parseMulticastLikes(b, 0, b.length, (nwid, g) => {
              expect(joinNetworkId(nwid)).toBe(NWID);
              o += writeMulticastLike(out, o, nwid, g);
            });
            expect(err).toBeNull();
            expect(out.subarray(0, o)).toEqual(b);
            checked++;
            break;
          }
          case "MULTICAST_GATHER": {
            const g = parseMulticastGather(b, 0, b.length);
            if (typeof g === "string") throw new Error(g);
            expect(g.gatherLimit).toBe(33);
            const com = decodeCom(b, g.comStart, g.comEnd);
            expect(com.ok).toBe(true);
            const n = writeMulticastGather(out, 0, g.nwid, g.group, g.gatherLimit, com.ok ? encodeCom(com.value.com) : null);
            expect(out.subarray(0, n)).toEqual(b);
            checked++;
            break;
          }
          case "OK(MULTICAST_GATHER)": {
            const g = parseOkMulticastGather(b, 9, b.length);
            if (typeof g === "string") throw new Error(g);
            expect(g.members.length).toBeGreaterThan(0);
            const n = writeOkMulticastGather(out, 0, g.nwid, g.group, g.totalKnown, g.members);
            expect(out.subarray(0, n)).toEqual(b.subarray(9));
            checked++;
            break;
          }
          case "MULTICAST_FRAME": {
            const v = new MulticastFrameView();
            expect(parseMulticastFrame(b, 0, b.length, v)).toBeNull();
            expect(v.etherType).toBe(0x0806);
            expect(v.sourceMac).toBe(-1);
            // ARP request to the group of its target IP (spec 7.6)
            expect(v.group.adi).toBe(((b[v.payloadStart + 24]! << 24) | (b[v.payloadStart + 25]! << 16) | (b[v.payloadStart + 26]! << 8) | b[v.payloadStart + 27]!) >>> 0);
            const n = writeMulticastFrameHeader(out, 0, v, v.group, v.etherType, v.gatherLimit, null);
            expect(n).toBe(multicastFrameHeaderLength(v.gatherLimit, null));
            out.set(b.subarray(v.payloadStart), n);
            expect(out.subarray(0, b.length)).toEqual(b);
            checked++;
            break;
          }
          case "OK(MULTICAST_FRAME)": {
            const r = parseOkMulticastFrame(b, 9, b.length);
            if (typeof r === "string") throw new Error(r);
            expect(r.gather).not.toBeNull();
            const n = writeOkMulticastFrame(out, 0, r.nwid, r.group, r.gather!.totalKnown, r.gather!.members);
            expect(out.subarray(0, n)).toEqual(b.subarray(9));
            checked++;
            break;
          }
          default:
            break;
        }
      }
      expect(checked).toBeGreaterThan(30);
    });
  }
});

describe("MULTICAST_LIKE announcements", () => {
  for (const cap of CAPTURES) {
    test(`${cap}: ztcap's full announcement (subscriptions + broadcast, sorted) is byte-identical`, () => {
      const api = fixtureJson(cap, "ztcap-local-api-network.json") as { multicastSubscriptions: { adi: number; mac: string }[] };
      const groups = [...api.multicastSubscriptions.map((s) => ({ mac: macFromString(s.mac)!, adi: s.adi })), BROADCAST_GROUP].sort(compareMulticastGroups);
      const ours = multicastLikePayloads(H, groups);
      expect(ours.length).toBe(1);
      const real = wirePackets(cap).filter((p) => p.verb === "MULTICAST_LIKE" && p.src === "ztcap").map((p) => p.payload);
      expect(real).toContain(Buffer.from(ours[0]!).toString("hex"));
    });
  }

  test("split so that every payload fits", () => {
    const groups = Array.from({ length: 1200 }, (_, i) => ({ mac: 0x01005e000000 + i, adi: 0 }));
    const payloads = multicastLikePayloads(H, groups, 9972);
    expect(payloads.length).toBe(Math.ceil(1200 / Math.floor(9972 / 18)));
    let n = 0;
    for (const p of payloads) {
      expect(p.length).toBeLessThanOrEqual(9972);
      parseMulticastLikes(p, 0, p.length, (_, g) => expect(g).toEqual(groups[n++]!));
    }
    expect(n).toBe(1200);
    expect(readMulticastGroup(payloads[1]!, 8).mac).toBe(groups[554]!.mac);
  });
});

describe("EXT_FRAME", () => {
  test("header round trip; COM flag parsed; source/destination MACs", () => {
    const out = new Uint8Array(100);
    const src = macFromAddress(0xe09cc51f00, NWID);
    const n = writeExtFrameHeader(out, 0, H, 0x16, 0xffffffffffff, src, 0x0800);
    out.set([1, 2, 3], n);
    const v = new ExtFrameView();
    expect(parseExtFrame(out, 0, n + 3, v)).toBeNull();
    expect([v.flags, v.destMac, v.sourceMac, v.etherType, v.payloadEnd - v.payloadStart]).toEqual([0x16, 0xffffffffffff, src, 0x0800, 3]);
    const comFlag = out.slice(0, n + 3);
    comFlag[8] = 0x01;
    expect(parseExtFrame(comFlag, 0, comFlag.length, v)).toContain("EXT_FRAME");
  });
});

describe("hostile payloads", () => {
  test("truncations and random bytes give reasons, never throws", () => {
    const rng = new SeededRng(31);
    const fv = new FrameView();
    const ev = new ExtFrameView();
    const mv = new MulticastFrameView();
    for (let i = 0; i < 3000; i++) {
      const b = new Uint8Array(rng.u32() % 60);
      rng.fill(b);
      parseFrame(b, 0, b.length, fv);
      parseExtFrame(b, 0, b.length, ev);
      parseMulticastFrame(b, 0, b.length, mv);
      parseMulticastGather(b, 0, b.length);
      parseOkMulticastGather(b, 0, b.length);
      parseOkMulticastFrame(b, 0, b.length);
      parseMulticastLikes(b, 0, b.length, () => {});
    }
    expect(parseFrame(new Uint8Array(9), 0, 9, fv)).toBe("truncated FRAME");
    expect(parseMulticastLikes(new Uint8Array(19), 0, 19, () => {})).toContain("multiple of 18");
    const ok = new Uint8Array(30);
    ok[22] = 0;
    ok[23] = 5;
    expect(parseOkMulticastGather(ok, 0, 30)).toContain("do not fit");
    const seen = new Set<string>();
    parseMulticastLikes(new Uint8Array(36), 0, 36, (_, g) => seen.add(multicastGroupKey(g)));
    expect(seen.size).toBe(1);
  });
});
