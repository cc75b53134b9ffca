import { describe, expect, test } from "bun:test";
import { VNET_HDR_LEN } from "../../ffi/tap.ts";
import { TapCoalescer } from "../../src/port/tap-gro.ts";
import { arpFrame, IP_A, IP_B, ipv4Frame, MAC_A, MAC_B } from "../stack/frames.ts";

const ACK = 0x10;
const PSH = 0x08;

interface Seg {
  seq: number;
  len: number;
  flags?: number;
  ack?: number;
  window?: number;
  tsval?: number;
  sport?: number;
  fill?: number;
}

/** Sum of big-endian 16-bit words (not folded). */
function sum16(b: Uint8Array, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i += 2) s += (b[i]! << 8) | (i + 1 < to ? b[i + 1]! : 0);
  return s;
}
function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** A TCP/IPv4 segment in an Ethernet frame, with the timestamp option and valid checksums. */
function segment(o: Seg): Uint8Array {
  const th = 32;
  const tcp = new Uint8Array(th + o.len);
  const v = new DataView(tcp.buffer);
  v.setUint16(0, o.sport ?? 40000);
  v.setUint16(2, 5201);
  v.setUint32(4, o.seq >>> 0);
  v.setUint32(8, o.ack ?? 777);
  tcp[12] = (th / 4) << 4;
  tcp[13] = o.flags ?? ACK;
  v.setUint16(14, o.window ?? 4096);
  tcp.set([1, 1, 8, 10], 20);
  v.setUint32(24, o.tsval ?? 1000);
  v.setUint32(28, 2000);
  for (let i = 0; i < o.len; i++) tcp[th + i] = ((o.fill ?? o.seq) + i * 7) & 0xff;
  const pseudo = (IP_A >>> 16) + (IP_A & 0xffff) + (IP_B >>> 16) + (IP_B & 0xffff) + 6 + tcp.length;
  v.setUint16(16, ~fold(pseudo + sum16(tcp, 0, tcp.length)) & 0xffff);
  return ipv4Frame({ ethDst: MAC_B, ethSrc: MAC_A, src: IP_A, dst: IP_B, proto: 6, payload: tcp });
}

const SRC6 = Uint8Array.from([0xfd, 0x12, 0x34, 0x56, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
const DST6 = Uint8Array.from([0xfd, 0x12, 0x34, 0x56, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);

/** A TCP/IPv6 segment in an Ethernet frame (next header TCP unless `nextHeader` says otherwise). */
function segment6(o: Seg & { nextHeader?: number }): Uint8Array {
  const v4 = segment(o);
  const tcp = v4.subarray(34); // the same TCP header and payload; its checksum is redone below
  const f = new Uint8Array(14 + 40 + tcp.length);
  const v = new DataView(f.buffer);
  f.set(v4.subarray(0, 12));
  v.setUint16(12, 0x86dd);
  f[14] = 0x60;
  v.setUint16(18, tcp.length);
  f[20] = o.nextHeader ?? 6;
  f[21] = 64;
  f.set(SRC6, 22);
  f.set(DST6, 38);
  f.set(tcp, 54);
  v.setUint16(54 + 16, 0);
  v.setUint16(54 + 16, ~fold(pseudo6(tcp.length) + sum16(f, 54, f.length)) & 0xffff);
  return f;
}
function pseudo6(len: number): number {
  return sum16(SRC6, 0, 16) + sum16(DST6, 0, 16) + 6 + len;
}

function rig(maxFrame = 3000) {
  const writes: Uint8Array[] = [];
  const gro = new TapCoalescer((buf, start, end) => writes.push(buf.slice(start, end)), maxFrame);
  const push = (f: Uint8Array) => gro.push(f, 0, f.length);
  return { gro, writes, push };
}

const vnet = (w: Uint8Array) => {
  const v = new DataView(w.buffer, w.byteOffset);
  return { flags: w[0], gsoType: w[1], hdrLen: v.getUint16(2, true), gsoSize: v.getUint16(4, true), csumStart: v.getUint16(6, true), csumOffset: v.getUint16(8, true) };
};
const frameOf = (w: Uint8Array) => w.subarray(VNET_HDR_LEN);
const ZERO_VNET = { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 };

describe("tap receive offload (TapCoalescer)", () => {
  test("five back-to-back segments ending in PSH become one GSO frame the kernel can finish", () => {
    const { gro, writes, push } = rig();
    const segs = [0, 1, 2, 3, 4].map((i) => segment({ seq: 5000 + i * 1000, len: 1000, flags: i === 4 ? ACK | PSH : ACK }));
    for (const s of segs) push(s);
    expect(writes.length).toBe(1); // PSH ended the train at once
    const w = writes[0]!;
    expect(vnet(w)).toEqual({ flags: 1, gsoType: 1, hdrLen: 14 + 20 + 32, gsoSize: 1000, csumStart: 34, csumOffset: 16 });
    const f = frameOf(w);
    const fv = new DataView(f.buffer, f.byteOffset);
    expect(f.length).toBe(14 + 20 + 32 + 5000);
    expect(fv.getUint16(16)).toBe(20 + 32 + 5000); // IP total length
    expect(fold(sum16(f, 14, 34))).toBe(0xffff); // IP header checksum valid
    expect(f[14 + 20 + 13]).toBe(ACK | PSH);
    expect(fv.getUint32(14 + 20 + 4)).toBe(5000); // the first segment's sequence number
    // payloads back to back, in order
    const want = new Uint8Array(5000);
    segs.forEach((s, i) => want.set(s.subarray(14 + 20 + 32), i * 1000));
    expect(f.subarray(66)).toEqual(want);
    // CHECKSUM_PARTIAL: the field holds the pseudo-header sum; summing the segment from csum_start
    // and storing the complement at csum_offset (what the kernel or a NIC does) gives a valid TCP checksum
    const tcp = f.slice(34);
    const done = ~fold(sum16(tcp, 0, tcp.length)) & 0xffff;
    new DataView(tcp.buffer).setUint16(16, done);
    const pseudo = (IP_A >>> 16) + (IP_A & 0xffff) + (IP_B >>> 16) + (IP_B & 0xffff) + 6 + tcp.length;
    expect(fold(pseudo + sum16(tcp, 0, tcp.length))).toBe(0xffff);
    expect(gro.stats).toEqual({ single: 0, tooLong: 0, trains: 1, trainSegments: 5 });
  });

  test("without PSH the train waits for flush(); a lone segment goes out as it came", () => {
    const { gro, writes, push } = rig();
    push(segment({ seq: 1, len: 1000 }));
    push(segment({ seq: 1001, len: 1000 }));
    expect(writes.length).toBe(0);
    expect(gro.pending).toBe(true);
    gro.flush();
    expect(writes.length).toBe(1);
    expect(vnet(writes[0]!).gsoSize).toBe(1000);
    const lone = segment({ seq: 2001, len: 1000 });
    push(lone);
    gro.flush();
    expect(vnet(writes[1]!)).toEqual(ZERO_VNET);
    expect(frameOf(writes[1]!)).toEqual(lone); // untouched, its own checksums
    gro.flush();
    expect(writes.length).toBe(2); // nothing pending: flush writes nothing
  });

  test("any other frame is written after the train before it, unchanged, behind a zero header", () => {
    const { writes, push } = rig();
    push(segment({ seq: 1, len: 1000 }));
    push(segment({ seq: 1001, len: 1000 }));
    const arp = arpFrame(1, 0xffffffffffff, MAC_A, IP_A, 0, IP_B);
    push(arp);
    expect(writes.length).toBe(2);
    expect(vnet(writes[0]!).gsoType).toBe(1);
    expect(vnet(writes[1]!)).toEqual(ZERO_VNET);
    expect(frameOf(writes[1]!)).toEqual(arp);
  });

  const breaks: [string, Seg][] = [
    ["a gap in the sequence", { seq: 3001, len: 1000 }],
    ["another flow", { seq: 2001, len: 1000, sport: 40001 }],
    ["another ACK number", { seq: 2001, len: 1000, ack: 778 }],
    ["another window", { seq: 2001, len: 1000, window: 4095 }],
    ["another timestamp", { seq: 2001, len: 1000, tsval: 1001 }],
    ["FIN", { seq: 2001, len: 1000, flags: ACK | 0x01 }],
    ["RST", { seq: 2001, len: 1000, flags: ACK | 0x04 }],
    ["URG", { seq: 2001, len: 1000, flags: ACK | 0x20 }],
    ["CWR", { seq: 2001, len: 1000, flags: ACK | 0x80 }],
    ["a longer segment", { seq: 2001, len: 1001 }],
    ["no payload (a pure ACK)", { seq: 2001, len: 0 }],
  ];
  for (const [why, s] of breaks) {
    test(`not joined: ${why}`, () => {
      const { gro, writes, push } = rig();
      push(segment({ seq: 1, len: 1000 }));
      push(segment({ seq: 1001, len: 1000 }));
      const odd = segment(s);
      push(odd);
      gro.flush();
      const frames = writes.map(frameOf);
      expect(vnet(writes[0]!).gsoType).toBe(1);
      expect(frames[0]!.length).toBe(14 + 20 + 32 + 2000);
      expect(frames[1]).toEqual(odd); // out after the train, untouched
      expect(writes.length).toBe(2);
    });
  }

  test("a shorter segment ends the train; the next full one starts a new one", () => {
    const { gro, writes, push } = rig();
    push(segment({ seq: 1, len: 1000 }));
    push(segment({ seq: 1001, len: 500 }));
    expect(writes.length).toBe(1);
    expect(frameOf(writes[0]!).length).toBe(14 + 20 + 32 + 1500);
    expect(vnet(writes[0]!).gsoSize).toBe(1000);
    push(segment({ seq: 1501, len: 1000 }));
    gro.flush();
    expect(writes.length).toBe(2);
  });

  test("trains stop below 64 KB of IP; every byte arrives once, in order", () => {
    const { gro, writes, push } = rig();
    const n = 150;
    for (let i = 0; i < n; i++) push(segment({ seq: 1 + i * 1000, len: 1000, fill: i }));
    gro.flush();
    let seq = 1;
    const got: number[] = [];
    for (const w of writes) {
      const f = frameOf(w);
      const v = new DataView(f.buffer, f.byteOffset);
      expect(v.getUint16(16)).toBeLessThanOrEqual(65535);
      expect(v.getUint32(38)).toBe(seq);
      const payload = v.getUint16(16) - 20 - 32;
      seq += payload;
      got.push(payload);
    }
    expect(seq).toBe(1 + n * 1000);
    expect(got.length).toBe(Math.ceil(n / 65)); // 65 segments of 1000 fit under 65535 - 52
  });

  test("IP options, fragments and non-IPv4 frames are never joined", () => {
    const { gro, writes, push } = rig();
    const frag = segment({ seq: 1001, len: 1000 });
    frag[14 + 6] = 0x20; // MF
    const opts = segment({ seq: 2001, len: 1000 });
    opts[14] = 0x46; // IHL 6 (the bytes are not a real option: it must not even be looked at)
    const vlan = segment({ seq: 3001, len: 1000 });
    vlan[12] = 0x81;
    push(segment({ seq: 1, len: 1000 }));
    for (const f of [frag, opts, vlan]) push(f);
    gro.flush();
    expect(writes.length).toBe(4);
    expect(writes.slice(1).map(frameOf)).toEqual([frag, opts, vlan]);
    expect(gro.stats.trains).toBe(0);
  });

  test("IPv6: back-to-back segments become one TCPV6 GSO frame", () => {
    const { gro, writes, push } = rig();
    for (let i = 0; i < 4; i++) push(segment6({ seq: 100 + i * 1000, len: 1000, flags: i === 3 ? ACK | PSH : ACK }));
    expect(writes.length).toBe(1);
    expect(vnet(writes[0]!)).toEqual({ flags: 1, gsoType: 4, hdrLen: 14 + 40 + 32, gsoSize: 1000, csumStart: 54, csumOffset: 16 });
    const f = frameOf(writes[0]!);
    expect(new DataView(f.buffer, f.byteOffset).getUint16(18)).toBe(32 + 4000); // payload length
    const tcp = f.slice(54);
    new DataView(tcp.buffer).setUint16(16, ~fold(sum16(tcp, 0, tcp.length)) & 0xffff);
    expect(fold(pseudo6(tcp.length) + sum16(tcp, 0, tcp.length))).toBe(0xffff);
    expect(gro.stats.trainSegments).toBe(4);
  });

  test("IPv6: an extension header, or a switch of IP version, is never joined", () => {
    const { gro, writes, push } = rig();
    const hop = segment6({ seq: 1001, len: 1000, nextHeader: 0 });
    push(segment6({ seq: 1, len: 1000 }));
    push(hop);
    push(segment({ seq: 2001, len: 1000 }));
    push(segment6({ seq: 3001, len: 1000 }));
    gro.flush();
    expect(writes.length).toBe(4);
    expect(frameOf(writes[1]!)).toEqual(hop);
    expect(gro.stats.trains).toBe(0);
  });

  test("a frame longer than the device takes is dropped and counted", () => {
    const { gro, writes, push } = rig(1500);
    push(new Uint8Array(1600));
    expect(writes.length).toBe(0);
    expect(gro.stats.tooLong).toBe(1);
  });
});
