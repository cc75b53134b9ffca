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

import { VNET_HDR_LEN } from "../../ffi/tap.ts";
import { copyBytes } from "../stack/tcp/copy.ts";

const VNET_F_NEEDS_CSUM = 1;
const VNET_GSO_TCPV4 = 1;
const VNET_GSO_TCPV6 = 4;

const ETH_LEN = 14;
const IP_LEN = 20; // no options: a header with options is not merged
const IP6_LEN = 40; // the fixed header; extension headers are not merged
const TCP_ACK = 0x10;
const TCP_PSH = 0x08;
/** Largest IPv4 packet a train may become. */
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
  private readonly view: DataView;
  /** A frame that is not joined goes out through here (header + copy, one write). */
  private readonly single: Uint8Array;
  private segments = 0;
  /** End of the train in `out` (its length, header included). */
  private end = 0;
  private thLen = 0;
  /** The train's IP header length: 20 (IPv4) or 40 (IPv6); TCP starts at ETH_LEN + ipHdr. */
  private ipHdr = 0;
  /** IP header length of the frame tcpPayload() last accepted. */
  private seenIpHdr = 0;
  private gsoSize = 0;
  private lastLen = 0;
  private nextSeq = 0;

  constructor(
    private readonly write: VnetWrite,
    maxFrame: number,
  ) {
    this.out = new Uint8Array(VNET_HDR_LEN + ETH_LEN + MAX_IP_LEN);
    this.view = new DataView(this.out.buffer);
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
    if (this.segments > 0 && this.joins(buf, start, payload)) {
      this.append(buf, start, payload);
    } else {
      this.flush();
      this.begin(buf, start, payload);
    }
    // PSH, or a segment shorter than the train's, ends it (as in the kernel's GRO).
    if ((buf[start + ETH_LEN + this.ipHdr + 13]! & TCP_PSH) !== 0 || payload < this.gsoSize) this.flush();
  }

  /** Write the train, if any (at the end of each event-loop turn, and before any other frame). */
  flush(): void {
    if (this.segments === 0) return;
    const out = this.out;
    const v = this.view;
    const h = VNET_HDR_LEN;
    if (this.segments === 1) {
      out.fill(0, 0, VNET_HDR_LEN); // as it came: its own checksums stand
      this.stats.single++;
    } else {
      const ipLen = this.end - h - ETH_LEN;
      const ip = h + ETH_LEN;
      const tcp = ip + this.ipHdr;
      const v6 = this.ipHdr === IP6_LEN;
      // TCP checksum field: the pseudo-header sum, not complemented (CHECKSUM_PARTIAL's convention)
      let sum = 6 + (ipLen - this.ipHdr);
      if (v6) {
        v.setUint16(ip + 4, ipLen - IP6_LEN); // payload length
        for (let i = ip + 8; i < ip + 40; i += 2) sum += (out[i]! << 8) | out[i + 1]!;
      } else {
        v.setUint16(ip + 2, ipLen);
        v.setUint16(ip + 10, 0);
        v.setUint16(ip + 10, ipChecksum(out, ip));
        for (let i = ip + 12; i < ip + 20; i += 2) sum += (out[i]! << 8) | out[i + 1]!;
      }
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
      v.setUint16(tcp + 16, sum);
      out[0] = VNET_F_NEEDS_CSUM;
      out[1] = v6 ? VNET_GSO_TCPV6 : VNET_GSO_TCPV4;
      v.setUint16(2, ETH_LEN + this.ipHdr + this.thLen, true); // hdr_len
      v.setUint16(4, this.gsoSize, true);
      v.setUint16(6, ETH_LEN + this.ipHdr, true); // csum_start
      v.setUint16(8, 16, true); // csum_offset: the TCP checksum field
      this.stats.trains++;
      this.stats.trainSegments += this.segments;
    }
    this.segments = 0;
    this.write(out, 0, this.end);
  }

  /** Payload bytes when the frame is a TCP segment that may be joined, else 0 (sets seenIpHdr). */
  private tcpPayload(buf: Uint8Array, s: number, e: number): number {
    if (e - s < ETH_LEN + IP_LEN + 20) return 0;
    let ipHdr: number;
    let ipLen: number;
    if (buf[s + 12] === 0x08 && buf[s + 13] === 0x00) {
      if (buf[s + ETH_LEN] !== 0x45 || buf[s + ETH_LEN + 9] !== 6) return 0; // IPv4, no options, TCP
      if ((((buf[s + ETH_LEN + 6]! << 8) | buf[s + ETH_LEN + 7]!) & 0x3fff) !== 0) return 0; // a fragment
      ipHdr = IP_LEN;
      ipLen = (buf[s + ETH_LEN + 2]! << 8) | buf[s + ETH_LEN + 3]!;
    } else if (buf[s + 12] === 0x86 && buf[s + 13] === 0xdd) {
      if (e - s < ETH_LEN + IP6_LEN + 20 || buf[s + ETH_LEN]! >>> 4 !== 6 || buf[s + ETH_LEN + 6] !== 6) return 0; // TCP next
      ipHdr = IP6_LEN;
      ipLen = IP6_LEN + ((buf[s + ETH_LEN + 4]! << 8) | buf[s + ETH_LEN + 5]!);
    } else return 0;
    if (ipLen > e - s - ETH_LEN) return 0;
    const tcp = s + ETH_LEN + ipHdr;
    if ((buf[tcp + 13]! & ~TCP_PSH) !== TCP_ACK) return 0; // only ACK, maybe PSH
    const thLen = (buf[tcp + 12]! >>> 4) * 4;
    if (thLen < 20) return 0;
    const payload = ipLen - ipHdr - thLen;
    this.seenIpHdr = ipHdr;
    return payload > 0 ? payload : 0;
  }

  /** Does this segment continue the train? */
  private joins(buf: Uint8Array, s: number, payload: number): boolean {
    if (this.seenIpHdr !== this.ipHdr || this.lastLen !== this.gsoSize || payload > this.gsoSize) return false;
    if (this.end + payload > this.out.length) return false;
    const out = this.out;
    const h = VNET_HDR_LEN;
    const ip = ETH_LEN;
    const tcp = ETH_LEN + this.ipHdr;
    if ((buf[s + tcp + 12]! >>> 4) * 4 !== this.thLen) return false;
    for (let i = 0; i < ETH_LEN; i++) if (buf[s + i] !== out[h + i]) return false;
    if (this.ipHdr === IP6_LEN) {
      // everything but the payload length: version, class, flow label, next header, hop limit, addresses
      for (let i = 0; i < 4; i++) if (buf[s + ip + i] !== out[h + ip + i]) return false;
      for (let i = 6; i < IP6_LEN; i++) if (buf[s + ip + i] !== out[h + ip + i]) return false;
    } else {
      // TOS, DF, TTL, protocol, addresses
      if (buf[s + ip + 1] !== out[h + ip + 1] || buf[s + ip + 6] !== out[h + ip + 6]) return false;
      if (buf[s + ip + 8] !== out[h + ip + 8]) return false;
      for (let i = 12; i < 20; i++) if (buf[s + ip + i] !== out[h + ip + i]) return false;
    }
    // TCP ports, ACK, window, options
    for (let i = 0; i < 4; i++) if (buf[s + tcp + i] !== out[h + tcp + i]) return false;
    for (let i = 8; i < 12; i++) if (buf[s + tcp + i] !== out[h + tcp + i]) return false;
    if (buf[s + tcp + 14] !== out[h + tcp + 14] || buf[s + tcp + 15] !== out[h + tcp + 15]) return false;
    for (let i = 20; i < this.thLen; i++) if (buf[s + tcp + i] !== out[h + tcp + i]) return false;
    const seq = ((buf[s + tcp + 4]! << 24) | (buf[s + tcp + 5]! << 16) | (buf[s + tcp + 6]! << 8) | buf[s + tcp + 7]!) >>> 0;
    return seq === this.nextSeq;
  }

  private begin(buf: Uint8Array, s: number, payload: number): void {
    const ipHdr = this.seenIpHdr;
    const tcp = s + ETH_LEN + ipHdr;
    const ipLen = ipHdr === IP6_LEN ? IP6_LEN + ((buf[s + ETH_LEN + 4]! << 8) | buf[s + ETH_LEN + 5]!) : (buf[s + ETH_LEN + 2]! << 8) | buf[s + ETH_LEN + 3]!;
    const frameLen = ETH_LEN + ipLen; // Ethernet padding, if any, stays behind
    copyBytes(buf, s, s + frameLen, this.out, VNET_HDR_LEN);
    this.end = VNET_HDR_LEN + frameLen;
    this.segments = 1;
    this.ipHdr = ipHdr;
    this.thLen = (buf[tcp + 12]! >>> 4) * 4;
    this.gsoSize = payload;
    this.lastLen = payload;
    const seq = ((buf[tcp + 4]! << 24) | (buf[tcp + 5]! << 16) | (buf[tcp + 6]! << 8) | buf[tcp + 7]!) >>> 0;
    this.nextSeq = (seq + payload) >>> 0;
  }

  private append(buf: Uint8Array, s: number, payload: number): void {
    const tcp = s + ETH_LEN + this.ipHdr;
    const from = tcp + this.thLen;
    copyBytes(buf, from, from + payload, this.out, this.end);
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
    copyBytes(buf, start, end, o, VNET_HDR_LEN);
    this.stats.single++;
    this.write(o, 0, VNET_HDR_LEN + n);
  }
}

/** The IPv4 header checksum of the 20-byte header at `off` (its checksum field zeroed). */
function ipChecksum(b: Uint8Array, off: number): number {
  let sum = 0;
  for (let i = off; i < off + IP_LEN; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
