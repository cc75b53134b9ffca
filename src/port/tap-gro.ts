/**
 * Receive offload for a kernel tap, in user space: consecutive TCP segments (over IPv4 or IPv6) of one flow that
 * arrive in the same event-loop turn are joined into one large frame and written into the tap
 * once, with a virtio_net_hdr that marks it as a GSO packet of `gso_size`-byte segments (the tap
 * is opened with IFF_VNET_HDR). The kernel then runs its TCP receive path once per train instead
 * of once per segment, as it does for a NIC's GRO: measured, that path (inside write(), waking the
 * receiving program) was the largest single cost of a `--tap` receiver.
 *
 * The merge rules follow the kernel's GRO: same Ethernet and IP addressing, no IP options or
 * fragments (IPv6: TCP right after the fixed header, no extension headers), only ACK (and PSH on
 * the last) set, identical ACK, window and TCP options (so the
 * same timestamp), sequence numbers back to back, every segment but the last exactly `gso_size`
 * long; a PSH or a shorter segment ends the train. Everything else is written as it came (with an
 * all-zero header), after the train before it, so frames keep their order.
 *
 * Checksums: the joined frame carries a fresh IPv4 header checksum (IPv6 has none) and, as virtio asks for
 * VIRTIO_NET_HDR_F_NEEDS_CSUM, the TCP pseudo-header sum with csum_start/csum_offset; the kernel
 * does not verify the joined payload's checksum. It came inside an authenticated ZeroTier packet
 * (Poly1305 or AES-GMAC-SIV), a far stronger integrity check than the TCP checksum.
 */

import { VNET_F_NEEDS_CSUM, VNET_GSO_TCPV4, VNET_GSO_TCPV6, VNET_HDR_LEN, writeVnet16 } from "../../ffi/tap.ts";
import { copyBytes } from "../../ffi/copy-bytes.ts";
import { readU16, readU32, writeU16 } from "../stack/wire/bytes.ts";
import { finishChecksum, sumBytes } from "../stack/wire/checksum.ts";
import { ETH_HEADER_LEN as ETH_LEN } from "../stack/wire/ethernet.ts";
import { IPV4_MIN_HEADER as IP_LEN } from "../stack/wire/ipv4.ts"; // no options: a header with options is not merged
import { TCP_ACK, TCP_PSH } from "../stack/wire/tcp.ts";

const IP6_LEN = 40; // the fixed header; extension headers are not merged
/** Largest IP packet a train may become. */
const MAX_IP_LEN = 65535;

export interface TapGroStats {
  /** Frames written as they came. */
  single: number;
  /** Frames longer than the device takes, dropped. */
  tooLong: number;
  /** Joined frames written, and the segments they held. */
  trains: number;
  trainSegments: number;
}

/** Writes one frame into the tap: buf[start, end) starts with the virtio_net_hdr. */
export type VnetWrite = (buf: Uint8Array, start: number, end: number) => void;

export class TapCoalescer {
  readonly stats: TapGroStats = { single: 0, tooLong: 0, trains: 0, trainSegments: 0 };
  /** The train being built: virtio_net_hdr, then the first frame's headers, then all payloads. */
  private readonly out: Uint8Array;
  /** A frame that is not joined goes out through here (header + copy, one write). */
  private readonly single: Uint8Array;
  private segments = 0;
  /** End of the train in `out` (its length, header included). */
  private end = 0;
  private thLen = 0;
  /** The train's IP header length: 20 (IPv4) or 40 (IPv6); TCP starts at ETH_LEN + ipHdr. */
  private ipHdr = 0;
  private gsoSize = 0;
  private lastLen = 0;
  private nextSeq = 0;

  constructor(
    private readonly write: VnetWrite,
    maxFrame: number,
  ) {
    this.out = new Uint8Array(VNET_HDR_LEN + ETH_LEN + MAX_IP_LEN);
    this.single = new Uint8Array(VNET_HDR_LEN + maxFrame);
  }

  /** True while a train waits for flush(). */
  get pending(): boolean {
    return this.segments > 0;
  }

  /** A frame for the tap: buf[start, end) from the Ethernet header on. */
  push(buf: Uint8Array, start: number, end: number): void {
    const payload = this.tcpPayload(buf, start, end);
    if (payload <= 0) {
      this.flush();
      this.writeSingle(buf, start, end);
      return;
    }
    const ipHdr = buf[start + 12] === 0x86 ? IP6_LEN : IP_LEN; // tcpPayload accepted IPv4 or IPv6 only
    if (this.segments > 0 && this.joins(buf, start, ipHdr, payload)) {
      this.append(buf, start, payload);
    } else {
      this.flush();
      this.begin(buf, start, ipHdr, payload);
    }
    // PSH, or a segment shorter than the train's, ends it (as in the kernel's GRO).
    if ((buf[start + ETH_LEN + this.ipHdr + 13]! & TCP_PSH) !== 0 || payload < this.gsoSize) this.flush();
  }

  /** Write the train, if any (at the end of each event-loop turn, and before any other frame). */
  flush(): void {
    if (this.segments === 0) return;
    const out = this.out;
    const h = VNET_HDR_LEN;
    if (this.segments === 1) {
      out.fill(0, 0, VNET_HDR_LEN); // as it came: its own checksums stand
      this.stats.single++;
    } else {
      const ipLen = this.end - h - ETH_LEN;
      const ip = h + ETH_LEN;
      const v6 = this.ipHdr === IP6_LEN;
      if (v6) writeU16(out, ip + 4, ipLen - IP6_LEN); // payload length
      else {
        writeU16(out, ip + 2, ipLen);
        writeU16(out, ip + 10, 0);
        writeU16(out, ip + 10, finishChecksum(sumBytes(out, ip, ip + IP_LEN)));
      }
      // TCP checksum field: the pseudo-header sum, not complemented (CHECKSUM_PARTIAL's convention)
      const addrs = v6 ? sumBytes(out, ip + 8, ip + 40) : sumBytes(out, ip + 12, ip + 20);
      writeU16(out, ip + this.ipHdr + 16, ~finishChecksum(addrs + 6 + ipLen - this.ipHdr) & 0xffff);
      out[0] = VNET_F_NEEDS_CSUM;
      out[1] = v6 ? VNET_GSO_TCPV6 : VNET_GSO_TCPV4;
      writeVnet16(out, 2, ETH_LEN + this.ipHdr + this.thLen); // hdr_len
      writeVnet16(out, 4, this.gsoSize);
      writeVnet16(out, 6, ETH_LEN + this.ipHdr); // csum_start
      writeVnet16(out, 8, 16); // csum_offset: the TCP checksum field
      this.stats.trains++;
      this.stats.trainSegments += this.segments;
    }
    this.segments = 0;
    this.write(out, 0, this.end);
  }

  /** Payload bytes when the frame is a TCP segment (IPv4 or IPv6) that may be joined, else 0. */
  private tcpPayload(buf: Uint8Array, s: number, e: number): number {
    if (e - s < ETH_LEN + IP_LEN + 20) return 0;
    let ipHdr: number;
    let ipLen: number;
    if (buf[s + 12] === 0x08 && buf[s + 13] === 0x00) {
      if (buf[s + ETH_LEN] !== 0x45 || buf[s + ETH_LEN + 9] !== 6) return 0; // IPv4, no options, TCP
      if ((readU16(buf, s + ETH_LEN + 6) & 0x3fff) !== 0) return 0; // a fragment
      ipHdr = IP_LEN;
      ipLen = readU16(buf, s + ETH_LEN + 2);
    } else if (buf[s + 12] === 0x86 && buf[s + 13] === 0xdd) {
      if (e - s < ETH_LEN + IP6_LEN + 20 || buf[s + ETH_LEN]! >>> 4 !== 6 || buf[s + ETH_LEN + 6] !== 6) return 0; // TCP next
      ipHdr = IP6_LEN;
      ipLen = IP6_LEN + readU16(buf, s + ETH_LEN + 4);
    } else return 0;
    if (ipLen > e - s - ETH_LEN) return 0;
    const tcp = s + ETH_LEN + ipHdr;
    if ((buf[tcp + 13]! & ~TCP_PSH) !== TCP_ACK) return 0; // only ACK, maybe PSH
    const thLen = (buf[tcp + 12]! >>> 4) * 4;
    if (thLen < 20) return 0;
    const payload = ipLen - ipHdr - thLen;
    return payload > 0 ? payload : 0;
  }

  /** Does this segment continue the train? */
  private joins(buf: Uint8Array, s: number, ipHdr: number, payload: number): boolean {
    if (ipHdr !== this.ipHdr || this.lastLen !== this.gsoSize || payload > this.gsoSize) return false;
    if (this.end + payload > this.out.length) return false;
    const out = this.out;
    const o = VNET_HDR_LEN;
    const ip = ETH_LEN;
    const tcp = ETH_LEN + ipHdr;
    if ((buf[s + tcp + 12]! >>> 4) * 4 !== this.thLen || !same(buf, s, out, o, ETH_LEN)) return false;
    if (ipHdr === IP6_LEN) {
      // everything but the payload length: version, class, flow label, next header, hop limit, addresses
      if (!same(buf, s + ip, out, o + ip, 4) || !same(buf, s + ip + 6, out, o + ip + 6, IP6_LEN - 6)) return false;
    } else if (
      // TOS, DF, TTL, protocol, addresses
      buf[s + ip + 1] !== out[o + ip + 1] ||
      buf[s + ip + 6] !== out[o + ip + 6] ||
      !same(buf, s + ip + 8, out, o + ip + 8, 2) ||
      !same(buf, s + ip + 12, out, o + ip + 12, 8)
    ) {
      return false;
    }
    // TCP ports, ACK, window, options
    if (!same(buf, s + tcp, out, o + tcp, 4) || !same(buf, s + tcp + 8, out, o + tcp + 8, 4)) return false;
    if (!same(buf, s + tcp + 14, out, o + tcp + 14, 2) || !same(buf, s + tcp + 20, out, o + tcp + 20, this.thLen - 20)) return false;
    return readU32(buf, s + tcp + 4) === this.nextSeq;
  }

  private begin(buf: Uint8Array, s: number, ipHdr: number, payload: number): void {
    const tcp = s + ETH_LEN + ipHdr;
    const ipLen = ipHdr === IP6_LEN ? IP6_LEN + readU16(buf, s + ETH_LEN + 4) : readU16(buf, s + ETH_LEN + 2);
    const frameLen = ETH_LEN + ipLen; // Ethernet padding, if any, stays behind
    copyBytes(this.out, VNET_HDR_LEN, buf, s, s + frameLen);
    this.end = VNET_HDR_LEN + frameLen;
    this.segments = 1;
    this.ipHdr = ipHdr;
    this.thLen = (buf[tcp + 12]! >>> 4) * 4;
    this.gsoSize = payload;
    this.lastLen = payload;
    this.nextSeq = (readU32(buf, tcp + 4) + payload) >>> 0;
  }

  private append(buf: Uint8Array, s: number, payload: number): void {
    const tcp = s + ETH_LEN + this.ipHdr;
    const from = tcp + this.thLen;
    copyBytes(this.out, this.end, buf, from, from + payload);
    this.end += payload;
    this.segments++;
    this.lastLen = payload;
    this.nextSeq = (this.nextSeq + payload) >>> 0;
    this.out[VNET_HDR_LEN + ETH_LEN + this.ipHdr + 13]! |= buf[tcp + 13]! & TCP_PSH;
  }

  private writeSingle(buf: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (n > this.single.length - VNET_HDR_LEN) {
      this.stats.tooLong++; // longer than the device's frames: the kernel would refuse it
      return;
    }
    const o = this.single;
    o.fill(0, 0, VNET_HDR_LEN);
    copyBytes(o, VNET_HDR_LEN, buf, start, end);
    this.stats.single++;
    this.write(o, 0, VNET_HDR_LEN + n);
  }
}

/** a[ai, ai + n) and b[bi, bi + n) hold the same bytes. */
function same(a: Uint8Array, ai: number, b: Uint8Array, bi: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[ai + i] !== b[bi + i]) return false;
  return true;
}
