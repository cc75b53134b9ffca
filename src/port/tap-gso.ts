/**
 * Send offload for a kernel tap, in user space: the tap is set to TUNSETOFFLOAD(TUN_F_CSUM |
 * TUN_F_TSO4 | TUN_F_TSO6), so the kernel hands us TCP trains (IPv4 or IPv6) of up to 64 KB in one read (its TCP sends
 * one large segment instead of many, and our reader makes one read() per train), and frames whose
 * checksum it left for us to finish (VIRTIO_NET_HDR_F_NEEDS_CSUM). Here each train is cut into
 * `gso_size` segments with their own IP and TCP headers and checksums, and a partial checksum is
 * completed, so the network only ever sees ordinary, complete frames.
 *
 * The frame comes with the device's struct virtio_net_hdr in the VNET_HDR_LEN bytes before it
 * (the reader leaves it in the ring slot's headroom).
 */
import { VNET_HDR_LEN } from "../../ffi/tap.ts";
import { FRAME_HEADROOM, type FrameSink } from "../stack/link.ts";
import { copyBytes } from "../stack/tcp/copy.ts";

const VNET_F_NEEDS_CSUM = 1;
const VNET_GSO_NONE = 0;
const VNET_GSO_TCPV4 = 1;
const VNET_GSO_TCPV6 = 4;
const ETH_LEN = 14;
const TCP_FIN = 0x01;
const TCP_PSH = 0x08;
const TCP_CWR = 0x80;

export interface TapGsoStats {
  /** Trains cut into segments, and the segments made. */
  trains: number;
  segments: number;
  /** Frames whose checksum we completed. */
  checksummed: number;
  /** Frames dropped: a header we cannot act on (another GSO type, offsets outside the frame). */
  malformed: number;
}

/** Ones'-complement sum of b[from, to) as 16-bit big-endian words, not folded (see fold16). */
export function onesSum(v: DataView, from: number, to: number): number {
  let s = 0;
  let i = from;
  // 32-bit words: 2^16 = 1 (mod 0xffff), so their sum folds to the same value as the 16-bit sum
  for (; i + 4 <= to; i += 4) s += v.getUint32(i);
  if (i + 2 <= to) {
    s += v.getUint16(i);
    i += 2;
  }
  if (i < to) s += v.getUint8(i) << 8;
  return s;
}

/** Fold a sum of onesSum terms to 16 bits. */
export function fold16(s: number): number {
  while (s > 0xffff) s = (s % 0x10000) + Math.floor(s / 0x10000);
  return s;
}

export class TapSegmenter {
  readonly stats: TapGsoStats = { trains: 0, segments: 0, checksummed: 0, malformed: 0 };
  /** One segment at a time: FRAME_HEADROOM free bytes, then the frame. */
  private readonly seg: Uint8Array;
  private readonly segView: DataView;
  private lastBuffer: ArrayBufferLike | null = null;
  private lastView: DataView = new DataView(new ArrayBuffer(0));

  constructor(
    private readonly out: FrameSink,
    maxSegmentFrame: number,
  ) {
    this.seg = new Uint8Array(FRAME_HEADROOM + maxSegmentFrame);
    this.segView = new DataView(this.seg.buffer);
  }

  /** A frame read from the tap: buf[start, end), its virtio_net_hdr at buf[start - VNET_HDR_LEN]. */
  push(buf: Uint8Array, start: number, end: number): void {
    const h = start - VNET_HDR_LEN;
    if (h < 0) {
      this.stats.malformed++;
      return;
    }
    const flags = buf[h]!;
    const gso = buf[h + 1]!;
    if (gso === VNET_GSO_NONE) {
      if ((flags & VNET_F_NEEDS_CSUM) !== 0 && !this.complete(buf, start, end)) return;
      this.out.sendFrame(buf, start, end);
      return;
    }
    if (gso !== VNET_GSO_TCPV4 && gso !== VNET_GSO_TCPV6) {
      this.stats.malformed++; // never asked for (UDP, ECN): not expected from the kernel
      return;
    }
    this.segment(buf, start, end, gso === VNET_GSO_TCPV6);
  }

  private view(buf: Uint8Array): DataView {
    if (buf.buffer !== this.lastBuffer) {
      this.lastBuffer = buf.buffer;
      this.lastView = new DataView(buf.buffer);
    }
    return this.lastView;
  }

  /** Finish a partial checksum in place: csum_start/csum_offset from the header. */
  private complete(buf: Uint8Array, start: number, end: number): boolean {
    const v = this.view(buf);
    const base = buf.byteOffset;
    const h = base + start - VNET_HDR_LEN;
    const cs = start + v.getUint16(h + 6, true);
    const co = cs + v.getUint16(h + 8, true);
    if (cs >= end || co + 2 > end) {
      this.stats.malformed++;
      return false;
    }
    // The field holds the pseudo-header sum; the sum from csum_start on includes it.
    v.setUint16(base + co, ~fold16(onesSum(v, base + cs, base + end)) & 0xffff);
    this.stats.checksummed++;
    return true;
  }

  /** Cut a TCP train into segments of gso_size payload bytes and send each. */
  private segment(buf: Uint8Array, start: number, end: number, v6: boolean): void {
    const v = this.view(buf);
    const base = buf.byteOffset;
    const h = base + start - VNET_HDR_LEN;
    const mss = v.getUint16(h + 4, true);
    const f = base + start;
    // IP right after the Ethernet header, or after one 802.1Q tag (a VLAN device on the tap)
    const vlan = buf[start + 12] === 0x81 && buf[start + 13] === 0x00;
    const ipOff = vlan ? ETH_LEN + 4 : ETH_LEN;
    const [t0, t1] = v6 ? [0x86, 0xdd] : [0x08, 0x00];
    // IPv4: its header length; IPv6: the fixed header, with TCP right after it (no extension headers)
    const ihl = v6 ? 40 : (buf[start + ipOff]! & 0x0f) * 4;
    const version = v6 ? 6 : 4;
    if (end - start < ipOff + ihl || buf[start + ipOff - 2] !== t0 || buf[start + ipOff - 1] !== t1 || buf[start + ipOff]! >> 4 !== version || ihl < 20) {
      this.stats.malformed++;
      return;
    }
    const tcpOff = ipOff + ihl;
    if (end - start < tcpOff + 20 || buf[start + ipOff + (v6 ? 6 : 9)] !== 6) {
      this.stats.malformed++;
      return;
    }
    const thLen = (buf[start + tcpOff + 12]! >> 4) * 4;
    const hdrLen = tcpOff + thLen;
    const ipEnd = Math.min(end - start, v6 ? tcpOff + v.getUint16(f + ipOff + 4) : ipOff + v.getUint16(f + ipOff + 2));
    const total = ipEnd - hdrLen;
    if (thLen < 20 || total <= 0 || mss === 0 || hdrLen + mss > this.seg.length - FRAME_HEADROOM) {
      this.stats.malformed++;
      return;
    }
    const seq0 = v.getUint32(f + tcpOff + 4);
    const id0 = v6 ? 0 : v.getUint16(f + ipOff + 4);
    const tcpFlags = buf[start + tcpOff + 13]!;
    const src = start + 0;
    // Pseudo-header without the length: the addresses and the protocol.
    const pseudo = (v6 ? onesSum(v, f + ipOff + 8, f + ipOff + 40) : onesSum(v, f + ipOff + 12, f + ipOff + 20)) + 6;
    const o = FRAME_HEADROOM;
    const sv = this.segView;
    this.stats.trains++;
    for (let off = 0, i = 0; off < total; off += mss, i++) {
      const n = Math.min(mss, total - off);
      const last = off + n >= total;
      copyBytes(buf, src, src + hdrLen, this.seg, o);
      copyBytes(buf, src + hdrLen + off, src + hdrLen + off + n, this.seg, o + hdrLen);
      if (v6) {
        sv.setUint16(o + ipOff + 4, thLen + n); // payload length; IPv6 has no header checksum
      } else {
        // IP: length, a fresh identification per segment (as the kernel's GSO), checksum
        sv.setUint16(o + ipOff + 2, ihl + thLen + n);
        sv.setUint16(o + ipOff + 4, (id0 + i) & 0xffff);
        sv.setUint16(o + ipOff + 10, 0);
        sv.setUint16(o + ipOff + 10, ~fold16(onesSum(sv, o + ipOff, o + ipOff + ihl)) & 0xffff);
      }
      // TCP: sequence; FIN and PSH only on the last segment, CWR only on the first
      sv.setUint32(o + tcpOff + 4, (seq0 + off) >>> 0);
      let fl = tcpFlags;
      if (!last) fl &= ~(TCP_FIN | TCP_PSH);
      if (i > 0) fl &= ~TCP_CWR;
      this.seg[o + tcpOff + 13] = fl;
      sv.setUint16(o + tcpOff + 16, 0);
      const sum = pseudo + thLen + n + onesSum(sv, o + tcpOff, o + hdrLen + n);
      sv.setUint16(o + tcpOff + 16, ~fold16(sum) & 0xffff);
      this.stats.segments++;
      this.out.sendFrame(this.seg, o, o + hdrLen + n);
    }
  }
}
