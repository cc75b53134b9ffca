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
import { readVnet16, VNET_F_NEEDS_CSUM, VNET_GSO_NONE, VNET_GSO_TCPV4, VNET_GSO_TCPV6, VNET_HDR_LEN } from "../../ffi/tap.ts";
import { FRAME_HEADROOM, type FrameSink } from "../stack/link.ts";
import { copyBytes } from "../../ffi/copy-bytes.ts";
import { readU16, readU32, writeU16, writeU32 } from "../stack/wire/bytes.ts";
import { finishChecksum, sumBytes } from "../stack/wire/checksum.ts";
import { ETH_HEADER_LEN } from "../stack/wire/ethernet.ts";
import { sumBytesFast, TCP_CWR, TCP_FIN, TCP_PSH } from "../stack/wire/tcp.ts";

export interface TapGsoStats {
  /** Trains cut into segments, and the segments made. */
  trains: number;
  segments: number;
  /** Frames whose checksum we completed. */
  checksummed: number;
  /** Frames dropped: a header we cannot act on (another GSO type, offsets outside the frame). */
  malformed: number;
}

export class TapSegmenter {
  readonly stats: TapGsoStats = { trains: 0, segments: 0, checksummed: 0, malformed: 0 };
  /** One segment at a time: FRAME_HEADROOM free bytes, then the frame. */
  private readonly seg: Uint8Array;

  constructor(
    private readonly out: FrameSink,
    maxSegmentFrame: number,
  ) {
    this.seg = new Uint8Array(FRAME_HEADROOM + maxSegmentFrame);
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

  /** Finish a partial checksum in place: csum_start/csum_offset from the header. */
  private complete(buf: Uint8Array, start: number, end: number): boolean {
    const h = start - VNET_HDR_LEN;
    const cs = start + readVnet16(buf, h + 6);
    const co = cs + readVnet16(buf, h + 8);
    if (cs >= end || co + 2 > end) {
      this.stats.malformed++;
      return false;
    }
    // The field holds the pseudo-header sum; the sum from csum_start on includes it.
    writeU16(buf, co, finishChecksum(sumBytesFast(buf, cs, end)));
    this.stats.checksummed++;
    return true;
  }

  /** Cut a TCP train into segments of gso_size payload bytes and send each. */
  private segment(buf: Uint8Array, start: number, end: number, v6: boolean): void {
    const mss = readVnet16(buf, start - VNET_HDR_LEN + 4);
    // IP right after the Ethernet header, or after one 802.1Q tag (a VLAN device on the tap)
    const vlan = buf[start + 12] === 0x81 && buf[start + 13] === 0x00;
    const ipOff = start + (vlan ? ETH_HEADER_LEN + 4 : ETH_HEADER_LEN);
    // IPv4: its header length; IPv6: the fixed header, with TCP right after it (no extension headers)
    const ihl = v6 ? 40 : (buf[ipOff]! & 0x0f) * 4;
    const etherType = v6 ? 0x86dd : 0x0800;
    if (ipOff + ihl > end || readU16(buf, ipOff - 2) !== etherType || buf[ipOff]! >> 4 !== (v6 ? 6 : 4) || ihl < 20) {
      this.stats.malformed++;
      return;
    }
    const tcpOff = ipOff + ihl;
    if (tcpOff + 20 > end || buf[ipOff + (v6 ? 6 : 9)] !== 6) {
      this.stats.malformed++;
      return;
    }
    const thLen = (buf[tcpOff + 12]! >> 4) * 4;
    const hdrLen = tcpOff + thLen - start;
    const ipEnd = Math.min(end, v6 ? tcpOff + readU16(buf, ipOff + 4) : ipOff + readU16(buf, ipOff + 2));
    const total = ipEnd - tcpOff - thLen;
    if (thLen < 20 || total <= 0 || mss === 0 || hdrLen + mss > this.seg.length - FRAME_HEADROOM) {
      this.stats.malformed++;
      return;
    }
    const seq0 = readU32(buf, tcpOff + 4);
    const id0 = v6 ? 0 : readU16(buf, ipOff + 4);
    const tcpFlags = buf[tcpOff + 13]!;
    // Pseudo-header without the length: the addresses and the protocol.
    const pseudo = (v6 ? sumBytes(buf, ipOff + 8, ipOff + 40) : sumBytes(buf, ipOff + 12, ipOff + 20)) + 6;
    const seg = this.seg;
    const o = FRAME_HEADROOM;
    const sIp = o + ipOff - start;
    const sTcp = o + tcpOff - start;
    this.stats.trains++;
    for (let off = 0, i = 0; off < total; off += mss, i++) {
      const n = Math.min(mss, total - off);
      const last = off + n >= total;
      copyBytes(seg, o, buf, start, start + hdrLen);
      copyBytes(seg, o + hdrLen, buf, start + hdrLen + off, start + hdrLen + off + n);
      if (v6) {
        writeU16(seg, sIp + 4, thLen + n); // payload length; IPv6 has no header checksum
      } else {
        // IP: length, a fresh identification per segment (as the kernel's GSO), checksum
        writeU16(seg, sIp + 2, ihl + thLen + n);
        writeU16(seg, sIp + 4, (id0 + i) & 0xffff);
        writeU16(seg, sIp + 10, 0);
        writeU16(seg, sIp + 10, finishChecksum(sumBytes(seg, sIp, sIp + ihl)));
      }
      // TCP: sequence; FIN and PSH only on the last segment, CWR only on the first
      writeU32(seg, sTcp + 4, (seq0 + off) >>> 0);
      let fl = tcpFlags;
      if (!last) fl &= ~(TCP_FIN | TCP_PSH);
      if (i > 0) fl &= ~TCP_CWR;
      seg[sTcp + 13] = fl;
      writeU16(seg, sTcp + 16, 0);
      writeU16(seg, sTcp + 16, finishChecksum(sumBytesFast(seg, sTcp, o + hdrLen + n, pseudo + thLen + n)));
      this.stats.segments++;
      this.out.sendFrame(seg, o, o + hdrLen + n);
    }
  }
}
