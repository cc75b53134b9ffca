import { describe, expect, test } from "bun:test";
import { VNET_HDR_LEN } from "../../ffi/tap.ts";
import { TapSegmenter } from "../../src/port/tap-gso.ts";
import { sumBytes } from "../../src/stack/wire/checksum.ts";
import { FRAME_HEADROOM } from "../../src/stack/link.ts";
import { CaptureSink, IP_A, IP_B, ipv4Frame, MAC_A, MAC_B } from "../stack/frames.ts";

const ACK = 0x10;
const PSH = 0x08;
const FIN = 0x01;

/** A ring slot as the reader fills it: headroom ending in the virtio_net_hdr, then the frame. */
function withVnet(frame: Uint8Array, hdr: { flags?: number; gso?: number; hdrLen?: number; gsoSize?: number; csumStart?: number; csumOffset?: number }): Uint8Array {
  const b = new Uint8Array(FRAME_HEADROOM + frame.length);
  const h = FRAME_HEADROOM - VNET_HDR_LEN;
  const v = new DataView(b.buffer);
  b[h] = hdr.flags ?? 0;
  b[h + 1] = hdr.gso ?? 0;
  v.setUint16(h + 2, hdr.hdrLen ?? 0, true);
  v.setUint16(h + 4, hdr.gsoSize ?? 0, true);
  v.setUint16(h + 6, hdr.csumStart ?? 0, true);
  v.setUint16(h + 8, hdr.csumOffset ?? 0, true);
  b.set(frame, FRAME_HEADROOM);
  return b;
}

const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const sum = (b: Uint8Array, from: number, to: number) => sumBytes(b, from, to);
/** Fold a ones'-complement sum to 16 bits (not complemented). */
function fold16(s: number): number {
  while (s > 0xffff) s = (s % 0x10000) + Math.floor(s / 0x10000);
  return s;
}
const pseudo = (len: number, proto: number) => (IP_A >>> 16) + (IP_A & 0xffff) + (IP_B >>> 16) + (IP_B & 0xffff) + proto + len;

/** A TSO train as the kernel hands it: one IPv4 header for all, the TCP checksum field partial. */
function train(payloadLen: number, flags: number): Uint8Array {
  const th = 32;
  const tcp = new Uint8Array(th + payloadLen);
  const v = dv(tcp);
  v.setUint16(0, 40000);
  v.setUint16(2, 5201);
  v.setUint32(4, 0xfffff000); // wraps inside the train
  v.setUint32(8, 12345);
  tcp[12] = (th / 4) << 4;
  tcp[13] = flags;
  v.setUint16(14, 512);
  tcp.set([1, 1, 8, 10], 20);
  for (let i = 0; i < payloadLen; i++) tcp[th + i] = (i * 13 + 5) & 0xff;
  v.setUint16(16, fold16(pseudo(tcp.length, 6))); // CHECKSUM_PARTIAL: the pseudo-header sum
  return ipv4Frame({ ethDst: MAC_B, ethSrc: MAC_A, src: IP_A, dst: IP_B, proto: 6, payload: tcp, id: 0xfffe });
}

function rig() {
  const sink = new CaptureSink();
  const seg = new TapSegmenter(sink, 2818);
  const push = (b: Uint8Array) => seg.push(b, FRAME_HEADROOM, b.length);
  return { sink, seg, push };
}

describe("tap send offload (TapSegmenter)", () => {
  test("a 10,000-byte TSO train becomes four complete segments", () => {
    const { sink, seg, push } = rig();
    const t = train(10_000, ACK | PSH | FIN);
    push(withVnet(t, { flags: 1, gso: 1, hdrLen: 66, gsoSize: 2748, csumStart: 34, csumOffset: 16 }));
    const frames = sink.frames;
    expect(frames.length).toBe(4);
    const payload: number[] = [];
    frames.forEach((f, i) => {
      const v = dv(f);
      const n = i < 3 ? 2748 : 10_000 - 3 * 2748;
      expect(f.length).toBe(66 + n);
      expect(v.getUint16(16)).toBe(20 + 32 + n); // IP total length
      expect(v.getUint16(18)).toBe((0xfffe + i) & 0xffff); // IP id, one per segment
      expect(fold16(sum(f, 14, 34))).toBe(0xffff); // IP checksum
      expect(v.getUint32(38)).toBe((0xfffff000 + i * 2748) >>> 0); // sequence
      expect(f[47]).toBe(i < 3 ? ACK : ACK | PSH | FIN); // PSH and FIN on the last only
      expect(fold16(pseudo(32 + n, 6) + sum(f, 34, f.length))).toBe(0xffff); // TCP checksum
      expect(f.subarray(54, 66)).toEqual(t.subarray(54, 66)); // options unchanged
      payload.push(...f.subarray(66));
    });
    expect(payload).toEqual(Array.from(t.subarray(66)));
    expect(seg.stats).toEqual({ trains: 1, segments: 4, checksummed: 0, malformed: 0 });
  });

  test("a train on a VLAN (one 802.1Q tag) is cut the same way, the tag kept on every segment", () => {
    const { sink, seg, push } = rig();
    const t = train(6000, ACK);
    const tagged = new Uint8Array(t.length + 4);
    tagged.set(t.subarray(0, 12));
    tagged.set([0x81, 0x00, 0x00, 0x64], 12); // VLAN 100
    tagged.set(t.subarray(12), 16);
    push(withVnet(tagged, { flags: 1, gso: 1, hdrLen: 70, gsoSize: 2748, csumStart: 38, csumOffset: 16 }));
    expect(sink.frames.length).toBe(3);
    for (const f of sink.frames) {
      expect(Array.from(f.subarray(12, 18))).toEqual([0x81, 0x00, 0x00, 0x64, 0x08, 0x00]);
      expect(fold16(sum(f, 18, 38))).toBe(0xffff);
      expect(fold16(pseudo(f.length - 38, 6) + sum(f, 38, f.length))).toBe(0xffff);
    }
    expect(seg.stats.malformed).toBe(0);
  });

  test("an IPv6 train (TCPV6) is cut into segments with their payload lengths and checksums", () => {
    const { sink, seg, push } = rig();
    const v4 = train(6000, ACK | PSH);
    const tcp = v4.subarray(34);
    const src6 = Uint8Array.from([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    const dst6 = Uint8Array.from([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    const f = new Uint8Array(54 + tcp.length);
    const fv = dv(f);
    f.set(v4.subarray(0, 12));
    fv.setUint16(12, 0x86dd);
    f[14] = 0x60;
    fv.setUint16(18, tcp.length);
    f[20] = 6;
    f[21] = 64;
    f.set(src6, 22);
    f.set(dst6, 38);
    f.set(tcp, 54);
    const p6 = (len: number) => sum(src6, 0, 16) + sum(dst6, 0, 16) + 6 + len;
    fv.setUint16(54 + 16, fold16(p6(tcp.length)));
    push(withVnet(f, { flags: 1, gso: 4, hdrLen: 86, gsoSize: 2728, csumStart: 54, csumOffset: 16 }));
    expect(sink.frames.length).toBe(3);
    const payload: number[] = [];
    sink.frames.forEach((x, i) => {
      const n = i < 2 ? 2728 : 6000 - 2 * 2728;
      expect(x.length).toBe(86 + n);
      expect(dv(x).getUint16(18)).toBe(32 + n); // payload length
      expect(dv(x).getUint32(58)).toBe((0xfffff000 + i * 2728) >>> 0);
      expect(x[67]).toBe(i < 2 ? ACK : ACK | PSH);
      expect(fold16(p6(32 + n) + sum(x, 54, x.length))).toBe(0xffff);
      payload.push(...x.subarray(86));
    });
    expect(payload).toEqual(Array.from(f.subarray(86)));
    expect(seg.stats.malformed).toBe(0);
  });

  test("a frame with its checksum left to us (NEEDS_CSUM) is completed in place", () => {
    const { sink, seg, push } = rig();
    const udp = new Uint8Array(8 + 100);
    dv(udp).setUint16(4, udp.length);
    for (let i = 8; i < udp.length; i++) udp[i] = i;
    dv(udp).setUint16(6, fold16(pseudo(udp.length, 17)));
    const f = ipv4Frame({ ethDst: MAC_B, ethSrc: MAC_A, src: IP_A, dst: IP_B, proto: 17, payload: udp });
    push(withVnet(f, { flags: 1, csumStart: 34, csumOffset: 6 }));
    const out = sink.frames[0]!;
    expect(fold16(pseudo(udp.length, 17) + sum(out, 34, out.length))).toBe(0xffff);
    expect(out.subarray(42)).toEqual(f.subarray(42));
    expect(seg.stats.checksummed).toBe(1);
  });

  test("a frame with an all-zero header goes out as it came", () => {
    const { sink, push } = rig();
    const t = train(100, ACK);
    push(withVnet(t, {}));
    expect(sink.frames).toEqual([t]);
  });

  const bad: [string, Parameters<typeof withVnet>[1]][] = [
    ["a checksum offset past the frame", { flags: 1, csumStart: 34, csumOffset: 6000 }],
    ["GSO of a kind never asked for (UDP)", { gso: 5, gsoSize: 1000, hdrLen: 42 }],
    ["a TCPV6 header on an IPv4 frame", { flags: 1, gso: 4, gsoSize: 1000, hdrLen: 66, csumStart: 34, csumOffset: 16 }],
    ["a segment size larger than the device's frames", { flags: 1, gso: 1, gsoSize: 9000, hdrLen: 66, csumStart: 34, csumOffset: 16 }],
    ["a segment size of 0", { flags: 1, gso: 1, gsoSize: 0, hdrLen: 66, csumStart: 34, csumOffset: 16 }],
  ];
  for (const [why, hdr] of bad) {
    test(`dropped and counted: ${why}`, () => {
      const { sink, seg, push } = rig();
      push(withVnet(train(5000, ACK), hdr));
      expect(sink.frames.length).toBe(0);
      expect(seg.stats.malformed).toBe(1);
    });
  }

  test("a TSO header on something that is not TCP/IPv4 is dropped and counted", () => {
    const { sink, seg, push } = rig();
    const f = train(5000, ACK);
    f[23] = 17; // protocol UDP
    push(withVnet(f, { flags: 1, gso: 1, gsoSize: 1000, hdrLen: 66, csumStart: 34, csumOffset: 16 }));
    expect(sink.frames.length).toBe(0);
    expect(seg.stats.malformed).toBe(1);
  });
});
