/** Test helpers: build frames by hand and capture what a stack sends. */
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, FRAME_HEADROOM, type FrameSink } from "../../src/stack/link.ts";
import { ARP_LEN, emitArp } from "../../src/stack/wire/arp.ts";
import { emitEthernet, ETH_HEADER_LEN } from "../../src/stack/wire/ethernet.ts";
import { emitIpv4, Ipv4Header, parseIpv4 } from "../../src/stack/wire/ipv4.ts";

export const MAC_A = 0x020000000a0a;
export const MAC_B = 0x020000000b0b;
export const IP_A = 0x0afb0101; // 10.251.1.1
export const IP_B = 0x0afb0102; // 10.251.1.2

/** Records copies of every frame sent. */
export class CaptureSink implements FrameSink {
  frames: Uint8Array[] = [];
  sendFrame(buf: Uint8Array, start: number, end: number): void {
    if (start < FRAME_HEADROOM) throw new Error("sender left no frame headroom");
    this.frames.push(buf.slice(start, end));
  }
  take(): Uint8Array[] {
    const f = this.frames;
    this.frames = [];
    return f;
  }
}

export function arpFrame(op: number, ethDst: number, sha: number, spa: number, tha: number, tpa: number): Uint8Array {
  const f = new Uint8Array(ETH_HEADER_LEN + ARP_LEN);
  emitEthernet(f, 0, ethDst, sha, ETHERTYPE_ARP);
  emitArp(f, ETH_HEADER_LEN, op, sha, spa, tha, tpa);
  return f;
}

export interface Ipv4FrameOptions {
  ethDst: number;
  ethSrc: number;
  src: number;
  dst: number;
  proto: number;
  payload: Uint8Array;
  id?: number;
  fragField?: number;
  ttl?: number;
}

export function ipv4Frame(o: Ipv4FrameOptions): Uint8Array {
  const f = new Uint8Array(ETH_HEADER_LEN + 20 + o.payload.length);
  emitEthernet(f, 0, o.ethDst, o.ethSrc, ETHERTYPE_IPV4);
  emitIpv4(f, ETH_HEADER_LEN, 20 + o.payload.length, o.id ?? 1, o.fragField ?? 0, o.ttl ?? 64, o.proto, o.src, o.dst);
  f.set(o.payload, ETH_HEADER_LEN + 20);
  return f;
}

/** Parse the IPv4 datagram inside an Ethernet frame (throws if it is not one: tests only). */
export function ipv4Of(frame: Uint8Array): { h: Ipv4Header; payload: Uint8Array } {
  const h = new Ipv4Header();
  const r = parseIpv4(frame, ETH_HEADER_LEN, frame.length, h);
  if (r !== "ok") throw new Error(`not an IPv4 frame: ${r}`);
  return { h, payload: frame.subarray(ETH_HEADER_LEN + h.headerLen, ETH_HEADER_LEN + h.totalLen) };
}
