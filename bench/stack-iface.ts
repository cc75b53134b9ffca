#!/usr/bin/env bun
/**
 * The iface hot paths without TCP: receive (Ethernet + IPv4 parse, checksum, dispatch to a handler)
 * and transmit (IPv4 + Ethernet header written into the caller's headroom), in packets/s and MB/s
 * at 1400 and 2800 bytes, plus heap growth per packet (the steady state should allocate nothing).
 */
import { heapStats } from "bun:jsc";
import { Iface } from "../src/stack/iface.ts";
import { ETHERTYPE_IPV4, IPPROTO_TCP, TRANSPORT_HEADROOM } from "../src/stack/link.ts";
import { ARP_REQUEST, emitArp } from "../src/stack/wire/arp.ts";
import { emitEthernet, ETH_BROADCAST } from "../src/stack/wire/ethernet.ts";
import { emitIpv4 } from "../src/stack/wire/ipv4.ts";
import { ManualClock } from "../src/util/clock.ts";

const MAC_A = 0x020000000a0a;
const MAC_B = 0x020000000b0b;
const IP_A = 0x0afb0101;
const IP_B = 0x0afb0102;

function heapPerOp(n: number, op: () => void): number {
  for (let i = 0; i < 20000; i++) op();
  Bun.gc(true);
  const c0 = heapStats().heapCapacity;
  for (let i = 0; i < n; i++) op();
  return (heapStats().heapCapacity - c0) / n;
}

function rate(n: number, op: () => void): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) op();
  return n / ((performance.now() - t0) / 1000);
}

for (const size of [1400, 2800]) {
  let sent = 0;
  let got = 0;
  const iface = new Iface({ mac: MAC_A, sink: { sendFrame: () => void sent++ }, clock: new ManualClock(0), mtu: 2800 });
  iface.addAddress(IP_A, 24);
  iface.registerProtocol(IPPROTO_TCP, { onIpv4: (_s, _d, _b, start, end) => void (got += end - start) });
  // Resolve B so transmit does not queue behind ARP.
  const arp = new Uint8Array(42);
  emitEthernet(arp, 0, ETH_BROADCAST, MAC_B, 0x0806);
  emitArp(arp, 14, ARP_REQUEST, MAC_B, IP_B, 0, IP_A);
  iface.receiveFrame(arp, 0, arp.length);

  const frame = new Uint8Array(14 + size);
  emitEthernet(frame, 0, MAC_A, MAC_B, ETHERTYPE_IPV4);
  emitIpv4(frame, 14, size, 1, 0x4000, 64, IPPROTO_TCP, IP_B, IP_A);
  const rx = () => iface.receiveFrame(frame, 0, frame.length);
  const seg = new Uint8Array(TRANSPORT_HEADROOM + size - 20);
  const tx = () => iface.sendIpv4(IPPROTO_TCP, IP_A, IP_B, seg, TRANSPORT_HEADROOM, seg.length);

  const n = 300_000;
  const rxRate = rate(n, rx);
  const txRate = rate(n, tx);
  const rxHeap = heapPerOp(10_000, rx);
  const txHeap = heapPerOp(10_000, tx);
  console.log(
    `iface ${size} B: rx ${(rxRate / 1000).toFixed(0)}k pkt/s (${((rxRate * size) / 1e6).toFixed(0)} MB/s, heap +${rxHeap.toFixed(1)} B/pkt), ` +
      `tx ${(txRate / 1000).toFixed(0)}k pkt/s (${((txRate * size) / 1e6).toFixed(0)} MB/s, heap +${txHeap.toFixed(1)} B/pkt)`,
  );
  if (got === 0 || sent === 0) throw new Error("nothing flowed");
}
