/**
 * The seams of the user-space stack. The stack sees only Ethernet frames: below it is a
 * FrameLink (a ZeroTier network port, a kernel tap, or an in-memory/fault-injecting link in tests);
 * inside it the IPv4 layer (iface) hands transport payloads to protocol handlers (TCP, UDP, ICMP)
 * and sends theirs.
 *
 * Buffer rule (zero copy): whoever emits a frame leaves FRAME_HEADROOM free bytes *before* the
 * Ethernet header, so a ZeroTier port can write its packet header in place. A transport handler
 * leaves IPV4_HEADROOM (+ FRAME_HEADROOM) free bytes before its own header so iface can write the
 * IPv4 and Ethernet headers in place. Views passed to callbacks are valid only during the call.
 */

/** Bytes a frame buffer keeps free before the Ethernet header (ZeroTier FRAME/EXT_FRAME header fits). */
export const FRAME_HEADROOM = 64;
/** Ethernet (14) + IPv4 without options (20). */
export const IPV4_HEADROOM = 34;
/** Total headroom a transport protocol leaves before its own header. */
export const TRANSPORT_HEADROOM = FRAME_HEADROOM + IPV4_HEADROOM;

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

/** Something that carries Ethernet frames out of the stack. */
export interface FrameSink {
  /**
   * Transmit the frame buf[start, end) (start = Ethernet header). buf[start - FRAME_HEADROOM, start)
   * is free for the sink to use. The sink must copy or send before returning.
   */
  sendFrame(buf: Uint8Array, start: number, end: number): void;
}

/** Something that takes Ethernet frames into the stack. */
export interface FrameReceiver {
  /** A frame arrived: buf[start, end) starting at the Ethernet header. Valid only during the call. */
  receiveFrame(buf: Uint8Array, start: number, end: number): void;
}

/** What iface offers to transport protocols. */
export interface Ipv4Output {
  /**
   * Send the transport payload buf[start, end) (its header already written, checksum included) from
   * src to dst. buf[start - IPV4_HEADROOM - FRAME_HEADROOM, start) must be free. The call copies if it
   * has to queue (ARP pending). Returns false when there is no route to dst (EHOSTUNREACH).
   */
  sendIpv4(proto: number, src: number, dst: number, buf: Uint8Array, start: number, end: number): boolean;
  /** Largest IPv4 packet (header included) the link carries: the link MTU. */
  readonly mtu: number;
  /** Source address to use toward dst, or 0 when none fits (no route). */
  sourceFor(dst: number): number;
  /** True if addr is one of ours. */
  isLocal(addr: number): boolean;
}

/** What a transport protocol offers to iface. */
export interface Ipv4ProtocolHandler {
  /**
   * A datagram for us arrived (IPv4 header already validated, reassembled if it was fragmented).
   * The transport payload is buf[start, end).
   */
  onIpv4(src: number, dst: number, buf: Uint8Array, start: number, end: number): void;
  /**
   * An ICMP error arrived about a datagram we sent. quoted[start, end) is the quoted original IPv4
   * header and at least 8 bytes of its payload. type/code as ICMP; nextHopMtu for "fragmentation needed".
   */
  onIcmpError?(type: number, code: number, nextHopMtu: number, quoted: Uint8Array, start: number, end: number): void;
}

/** IPv4 addresses are unsigned 32-bit numbers in host order (a.b.c.d = a<<24|b<<16|c<<8|d, >>> 0). */
export function ipv4ToString(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

/** Parse dotted-quad IPv4; returns null on anything malformed. */
export function parseIpv4(s: string): number | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  let v = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    v = v * 256 + n;
  }
  return v >>> 0;
}
