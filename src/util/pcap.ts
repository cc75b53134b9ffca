/**
 * Classic pcap reader (not pcapng) that yields the UDP datagrams inside: Ethernet (with 802.1Q tags)
 * or Linux cooked (SLL, SLL2) link layers, IPv4 or IPv6, UDP. Meant for tests and tools that replay
 * captures of real ZeroTier traffic, so it favours clear results over speed: records that are not
 * UDP, IP fragments other than the first, or truncated by the snap length are counted as skipped.
 * Payloads are views into the input bytes (no copy).
 */

export interface UdpDatagram {
  /** Capture time in seconds since the epoch (fractional). */
  time: number;
  /** 1-based record number in the file (what Wireshark calls the frame number). */
  frame: number;
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  payload: Uint8Array;
}

export type PcapResult =
  | { ok: true; linkType: number; datagrams: UdpDatagram[]; skipped: number }
  | { ok: false; error: string };

export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_LINUX_SLL2 = 276;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;
const IPPROTO_UDP = 17;

export function readPcapUdp(bytes: Uint8Array): PcapResult {
  if (bytes.length < 24) return { ok: false, error: "pcap: shorter than the 24-byte global header" };
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = dv.getUint32(0, false);
  let little: boolean;
  let nanos: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) {
    little = false;
    nanos = magic === 0xa1b23c4d;
  } else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) {
    little = true;
    nanos = magic === 0x4d3cb2a1;
  } else if (magic === 0x0a0d0d0a) {
    return { ok: false, error: "pcap: this is pcapng, only classic pcap is supported" };
  } else {
    return { ok: false, error: `pcap: bad magic 0x${magic.toString(16)}` };
  }
  const linkType = dv.getUint32(20, little) & 0x0fffffff;
  if (linkType !== LINKTYPE_ETHERNET && linkType !== LINKTYPE_RAW && linkType !== LINKTYPE_LINUX_SLL && linkType !== LINKTYPE_LINUX_SLL2) {
    return { ok: false, error: `pcap: unsupported link type ${linkType}` };
  }

  const datagrams: UdpDatagram[] = [];
  let skipped = 0;
  let off = 24;
  let frame = 0;
  while (off < bytes.length) {
    if (bytes.length - off < 16) return { ok: false, error: `pcap: truncated record header at byte ${off}` };
    const sec = dv.getUint32(off, little);
    const frac = dv.getUint32(off + 4, little);
    const inclLen = dv.getUint32(off + 8, little);
    const origLen = dv.getUint32(off + 12, little);
    off += 16;
    if (inclLen > bytes.length - off) return { ok: false, error: `pcap: record ${frame + 1} runs past the end of the file` };
    frame++;
    const rec = bytes.subarray(off, off + inclLen);
    off += inclLen;
    const time = sec + frac / (nanos ? 1e9 : 1e6);
    const d = inclLen < origLen ? null : parseLinkLayer(rec, linkType, time, frame);
    if (d) datagrams.push(d);
    else skipped++;
  }
  return { ok: true, linkType, datagrams, skipped };
}

function u16(b: Uint8Array, i: number): number {
  return (b[i]! << 8) | b[i + 1]!;
}

function parseLinkLayer(rec: Uint8Array, linkType: number, time: number, frame: number): UdpDatagram | null {
  let off: number;
  let etherType: number;
  if (linkType === LINKTYPE_ETHERNET) {
    if (rec.length < 14) return null;
    etherType = u16(rec, 12);
    off = 14;
    while (etherType === ETHERTYPE_VLAN || etherType === ETHERTYPE_QINQ) {
      if (rec.length < off + 4) return null;
      etherType = u16(rec, off + 2);
      off += 4;
    }
  } else if (linkType === LINKTYPE_LINUX_SLL) {
    if (rec.length < 16) return null;
    etherType = u16(rec, 14);
    off = 16;
  } else if (linkType === LINKTYPE_LINUX_SLL2) {
    if (rec.length < 20) return null;
    etherType = u16(rec, 0);
    off = 20;
  } else {
    if (rec.length < 1) return null;
    etherType = rec[0]! >>> 4 === 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4;
    off = 0;
  }
  if (etherType === ETHERTYPE_IPV4) return parseIpv4(rec, off, time, frame);
  if (etherType === ETHERTYPE_IPV6) return parseIpv6(rec, off, time, frame);
  return null;
}

function parseIpv4(b: Uint8Array, off: number, time: number, frame: number): UdpDatagram | null {
  if (b.length < off + 20 || b[off]! >>> 4 !== 4) return null;
  const ihl = (b[off]! & 0x0f) * 4;
  const totalLen = u16(b, off + 2);
  const fragField = u16(b, off + 6);
  if (ihl < 20 || totalLen < ihl || b.length < off + totalLen) return null;
  // Only an unfragmented datagram carries a complete UDP payload.
  if ((fragField & 0x3fff) !== 0) return null;
  if (b[off + 9] !== IPPROTO_UDP) return null;
  const src = `${b[off + 12]}.${b[off + 13]}.${b[off + 14]}.${b[off + 15]}`;
  const dst = `${b[off + 16]}.${b[off + 17]}.${b[off + 18]}.${b[off + 19]}`;
  return parseUdp(b, off + ihl, off + totalLen, src, dst, time, frame);
}

function parseIpv6(b: Uint8Array, off: number, time: number, frame: number): UdpDatagram | null {
  if (b.length < off + 40 || b[off]! >>> 4 !== 6) return null;
  const payloadLen = u16(b, off + 4);
  // Extension headers are not followed: ZeroTier's UDP never carries them in practice.
  if (b[off + 6] !== IPPROTO_UDP || b.length < off + 40 + payloadLen) return null;
  return parseUdp(b, off + 40, off + 40 + payloadLen, ipv6String(b, off + 8), ipv6String(b, off + 24), time, frame);
}

function parseUdp(b: Uint8Array, off: number, end: number, src: string, dst: string, time: number, frame: number): UdpDatagram | null {
  if (end - off < 8) return null;
  const udpLen = u16(b, off + 4);
  if (udpLen < 8 || udpLen > end - off) return null;
  return {
    time,
    frame,
    src,
    srcPort: u16(b, off),
    dst,
    dstPort: u16(b, off + 2),
    payload: b.subarray(off + 8, off + udpLen),
  };
}

function ipv6String(b: Uint8Array, off: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(u16(b, off + i).toString(16));
  return parts.join(":");
}
