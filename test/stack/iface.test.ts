import { beforeEach, describe, expect, test } from "bun:test";
import { Iface } from "../../src/stack/iface.ts";
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, TRANSPORT_HEADROOM, type Ipv4ProtocolHandler } from "../../src/stack/link.ts";
import { ARP_REPLY, ARP_REQUEST, arpOp, arpSenderIp, arpSenderMac, arpTargetIp, arpTargetMac } from "../../src/stack/wire/arp.ts";
import { emitEthernet, ETH_BROADCAST, ethDst, ethType } from "../../src/stack/wire/ethernet.ts";
import {
  checkIcmp,
  emitEchoHeader,
  emitIcmpError,
  finishIcmp,
  ICMP_DEST_UNREACHABLE,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_TIME_EXCEEDED,
  icmpCode,
  icmpEchoId,
  icmpEchoSeq,
  icmpType,
  TIME_EXCEEDED_REASSEMBLY,
  UNREACH_FRAG_NEEDED,
  UNREACH_HOST,
  UNREACH_PORT,
  UNREACH_PROTOCOL,
} from "../../src/stack/wire/icmpv4.ts";
import { IPV4_FLAG_DF, IPV4_FLAG_MF } from "../../src/stack/wire/ipv4.ts";
import { ManualClock } from "../../src/util/clock.ts";
import { arpFrame, CaptureSink, IP_A, IP_B, ipv4Frame, ipv4Of, MAC_A, MAC_B } from "./frames.ts";

const LAN = 0x0afb0100;
const GW = 0x0afb01fe;
const MAC_GW = 0x0200000000fe;

let clock: ManualClock;
let sink: CaptureSink;
let iface: Iface;

function make(mtu = 1500): Iface {
  clock = new ManualClock(1000);
  sink = new CaptureSink();
  iface = new Iface({ mac: MAC_A, sink, clock, mtu });
  iface.addAddress(IP_A, 24);
  return iface;
}

function feed(f: Uint8Array): void {
  // Deliver from inside a bigger buffer to prove offsets are honoured.
  const b = new Uint8Array(f.length + 40);
  b.set(f, 17);
  iface.receiveFrame(b, 17, 17 + f.length);
}

function echoRequest(id: number, seq: number, dataLen: number): Uint8Array {
  const p = new Uint8Array(8 + dataLen);
  emitEchoHeader(p, 0, ICMP_ECHO_REQUEST, id, seq);
  for (let i = 0; i < dataLen; i++) p[8 + i] = (i * 7) & 255;
  finishIcmp(p, 0, p.length);
  return p;
}

/** Teach iface B's MAC (via an ARP request from B for A). */
function learnB(): void {
  feed(arpFrame(ARP_REQUEST, ETH_BROADCAST, MAC_B, IP_B, 0, IP_A));
  sink.take();
}

class RecordingHandler implements Ipv4ProtocolHandler {
  got: { src: number; dst: number; data: Uint8Array }[] = [];
  errors: { type: number; code: number; mtu: number; quoted: Uint8Array }[] = [];
  onIpv4(src: number, dst: number, buf: Uint8Array, start: number, end: number): void {
    this.got.push({ src, dst, data: buf.slice(start, end) });
  }
  onIcmpError(type: number, code: number, mtu: number, quoted: Uint8Array, start: number, end: number): void {
    this.errors.push({ type, code, mtu, quoted: quoted.slice(start, end) });
  }
}

beforeEach(() => {
  make();
});

describe("iface ARP", () => {
  test("answers a request for our address and learns the asker", () => {
    feed(arpFrame(ARP_REQUEST, ETH_BROADCAST, MAC_B, IP_B, 0, IP_A));
    const out = sink.take();
    expect(out.length).toBe(1);
    const f = out[0]!;
    expect(ethDst(f, 0)).toBe(MAC_B);
    expect(ethType(f, 0)).toBe(ETHERTYPE_ARP);
    expect(arpOp(f, 14)).toBe(ARP_REPLY);
    expect(arpSenderMac(f, 14)).toBe(MAC_A);
    expect(arpSenderIp(f, 14)).toBe(IP_A);
    expect(arpTargetMac(f, 14)).toBe(MAC_B);
    expect(arpTargetIp(f, 14)).toBe(IP_B);
    expect(iface.arpPeek(IP_B)).toBe(MAC_B);
  });

  test("ignores requests for other addresses and does not create entries from them", () => {
    feed(arpFrame(ARP_REQUEST, ETH_BROADCAST, MAC_B, IP_B, 0, IP_A + 5));
    expect(sink.take().length).toBe(0);
    expect(iface.arpPeek(IP_B)).toBe(-1);
  });

  test("third-party ARP updates an existing entry (RFC 826 merge)", () => {
    learnB();
    const newMac = 0x020000000bbb;
    feed(arpFrame(ARP_REQUEST, ETH_BROADCAST, newMac, IP_B, 0, IP_B)); // B's gratuitous ARP after a MAC change
    expect(iface.arpPeek(IP_B)).toBe(newMac);
  });

  test("start() sends a gratuitous ARP per address", () => {
    iface.addAddress(0x0afb0201, 24);
    iface.start();
    const out = sink.take();
    expect(out.length).toBe(2);
    for (const f of out) {
      expect(ethDst(f, 0)).toBe(ETH_BROADCAST);
      expect(arpOp(f, 14)).toBe(ARP_REQUEST);
      expect(arpSenderIp(f, 14)).toBe(arpTargetIp(f, 14));
    }
    expect(arpSenderIp(out[1]!, 14)).toBe(0x0afb0201);
    expect(iface.stats.gratuitousArpSent).toBe(2);
  });

  test("a conflicting claim on our address is counted, not learned", () => {
    feed(arpFrame(ARP_REPLY, MAC_A, MAC_B, IP_A, MAC_A, IP_A));
    expect(iface.drops["arp-conflict"]).toBe(1);
    expect(iface.arpPeek(IP_A)).toBe(-1);
  });

  test("unresolved destination: request, queue, flush on reply", () => {
    const h = new RecordingHandler();
    iface.registerProtocol(IPPROTO_TCP, h);
    const b = new Uint8Array(TRANSPORT_HEADROOM + 20);
    b.fill(0xab, TRANSPORT_HEADROOM);
    expect(iface.sendIpv4(IPPROTO_TCP, IP_A, IP_B, b, TRANSPORT_HEADROOM, b.length)).toBe(true);
    expect(iface.sendIpv4(IPPROTO_TCP, IP_A, IP_B, b, TRANSPORT_HEADROOM, b.length)).toBe(true);
    let out = sink.take();
    expect(out.length).toBe(1); // one ARP request for two queued datagrams
    expect(arpTargetIp(out[0]!, 14)).toBe(IP_B);
    expect(ethDst(out[0]!, 0)).toBe(ETH_BROADCAST);
    feed(arpFrame(ARP_REPLY, MAC_A, MAC_B, IP_B, MAC_A, IP_A));
    out = sink.take();
    expect(out.length).toBe(2);
    for (const f of out) {
      expect(ethDst(f, 0)).toBe(MAC_B);
      const { h: ih, payload } = ipv4Of(f);
      expect(ih.dst).toBe(IP_B);
      expect(ih.dontFragment).toBe(true);
      expect(payload.every((x) => x === 0xab)).toBe(true);
    }
  });

  test("requests are retried, then queued datagrams fail with host unreachable", () => {
    const h = new RecordingHandler();
    iface.registerProtocol(IPPROTO_TCP, h);
    const b = new Uint8Array(TRANSPORT_HEADROOM + 20);
    iface.sendIpv4(IPPROTO_TCP, IP_A, IP_B, b, TRANSPORT_HEADROOM, b.length);
    let requests = sink.take().length;
    for (let i = 0; i < 10; i++) {
      clock.advance(500);
      iface.poll();
      requests += sink.take().length;
    }
    expect(requests).toBe(3);
    expect(h.errors.length).toBe(1);
    expect(h.errors[0]!.type).toBe(ICMP_DEST_UNREACHABLE);
    expect(h.errors[0]!.code).toBe(UNREACH_HOST);
    expect(iface.drops["tx-arp-failed"]).toBe(1);
    expect(iface.nextDeadline()).toBe(Infinity);
  });

  test("the per-destination queue is bounded", () => {
    iface = new Iface({ mac: MAC_A, sink, clock, arp: { maxQueuedPerEntry: 16 } });
    iface.addAddress(IP_A, 24);
    const b = new Uint8Array(TRANSPORT_HEADROOM + 20);
    for (let i = 0; i < 20; i++) iface.sendIpv4(IPPROTO_TCP, IP_A, IP_B, b, TRANSPORT_HEADROOM, b.length);
    expect(iface.drops["tx-arp-queue-full"]).toBe(4);
  });

  test("the per-destination queue is bounded in bytes (Linux's unres_qlen_bytes)", () => {
    const b = new Uint8Array(TRANSPORT_HEADROOM + 1000);
    for (let i = 0; i < 300; i++) iface.sendIpv4(IPPROTO_UDP, IP_A, IP_B, b, TRANSPORT_HEADROOM, b.length);
    // 1020-byte datagrams: 208 fit in 212992 bytes.
    expect(iface.drops["tx-arp-queue-full"]).toBe(300 - 208);
  });

  test("stale entries are refreshed by unicast request and forgotten when silent", () => {
    learnB();
    clock.advance(31_000);
    const b = new Uint8Array(TRANSPORT_HEADROOM + 8);
    iface.sendIpv4(IPPROTO_UDP, IP_A, IP_B, b, TRANSPORT_HEADROOM, b.length);
    const out = sink.take();
    expect(out.length).toBe(2); // refresh request + the datagram itself (still sent to the old MAC)
    expect(ethType(out[0]!, 0)).toBe(ETHERTYPE_ARP);
    expect(ethDst(out[0]!, 0)).toBe(MAC_B);
    expect(ethType(out[1]!, 0)).toBe(ETHERTYPE_IPV4);
    clock.advance(10_000);
    iface.poll();
    expect(iface.arpPeek(IP_B)).toBe(-1);
  });
});

describe("iface routes", () => {
  test("off-link destinations go to the gateway's MAC", () => {
    iface.addRoute(0, 0, GW);
    feed(arpFrame(ARP_REQUEST, ETH_BROADCAST, MAC_GW, GW, 0, IP_A));
    sink.take();
    const b = new Uint8Array(TRANSPORT_HEADROOM + 8);
    const far = 0x08080808;
    expect(iface.sourceFor(far)).toBe(IP_A);
    expect(iface.sendIpv4(IPPROTO_UDP, IP_A, far, b, TRANSPORT_HEADROOM, b.length)).toBe(true);
    const [f] = sink.take();
    expect(ethDst(f!, 0)).toBe(MAC_GW);
    expect(ipv4Of(f!).h.dst).toBe(far);
  });

  test("no route: sendIpv4 returns false and sourceFor 0", () => {
    const b = new Uint8Array(TRANSPORT_HEADROOM + 8);
    expect(iface.sourceFor(0x08080808)).toBe(0);
    expect(iface.sendIpv4(IPPROTO_UDP, IP_A, 0x08080808, b, TRANSPORT_HEADROOM, b.length)).toBe(false);
    expect(iface.drops["tx-no-route"]).toBe(1);
  });

  test("source follows the subnet of the next hop", () => {
    iface.addAddress(0xc0a80005, 24);
    expect(iface.sourceFor(0xc0a80009)).toBe(0xc0a80005);
    expect(iface.sourceFor(IP_B)).toBe(IP_A);
    expect(iface.isLocal(0xc0a80005)).toBe(true);
    iface.removeAddress(0xc0a80005);
    expect(iface.sourceFor(0xc0a80009)).toBe(0);
  });

  test("limited and directed broadcast go to ff:ff:ff:ff:ff:ff without ARP", () => {
    const b = new Uint8Array(TRANSPORT_HEADROOM + 8);
    iface.addRoute(0xffffffff, 32);
    iface.sendIpv4(IPPROTO_UDP, IP_A, 0xffffffff, b, TRANSPORT_HEADROOM, b.length);
    iface.sendIpv4(IPPROTO_UDP, IP_A, LAN | 255, b, TRANSPORT_HEADROOM, b.length);
    const out = sink.take();
    expect(out.length).toBe(2);
    for (const f of out) expect(ethDst(f, 0)).toBe(ETH_BROADCAST);
  });
});

describe("iface ICMP", () => {
  test("echo request is answered with the same id, seq and data", () => {
    learnB();
    const req = echoRequest(0x1234, 7, 56);
    feed(ipv4Frame({ ethDst: MAC_A, ethSrc: MAC_B, src: IP_B, dst: IP_A, proto: IPPROTO_ICMP, payload: req }));
    const out = sink.take();
    expect(out.length).toBe(1);
    const { h, payload } = ipv4Of(out[0]!);
    expect(h.src).toBe(IP_A);
    expect(h.dst).toBe(IP_B);
    expect(h.proto).toBe(IPPROTO_ICMP);
    expect(checkIcmp(payload, 0, payload.length)).toBe("ok");
    expect(icmpType(payload, 0)).toBe(ICMP_ECHO_REPLY);
    expect(icmpEchoId(payload, 0)).toBe(0x1234);
    expect(icmpEchoSeq(payload, 0)).toBe(7);
    expect([...payload.subarray(8)]).toEqual([...req.subarray(8)]);
    expect(iface.stats.echoRequestsAnswered).toBe(1);
  });

  test("echo request before ARP: the reply waits for resolution", () => {
    feed(ipv4Frame({ ethDst: MAC_A, ethSrc: MAC_B, src: IP_B, dst: IP_A, proto: IPPROTO_ICMP, payload: echoRequest(1, 1, 8) }));
    let out = sink.take();
    expect(out.length).toBe(1);
    expect(ethType(out[0]!, 0)).toBe(ETHERTYPE_ARP);
    feed(arpFrame(ARP_REPLY, MAC_A, MAC_B, IP_B, MAC_A, IP_A));
    out = sink.take();
    expect(out.length).toBe(1);
    expect(icmpType(ipv4Of(out[0]!).payload, 0)).toBe(ICMP_ECHO_REPLY);
  });

  test("broadcast echo is ignored", () => {
    learnB();
    feed(ipv4Frame({ ethDst: ETH_BROADCAST, ethSrc: MAC_B, src: IP_B, dst: LAN | 255, proto: IPPROTO_ICMP, payload: echoRequest(1, 1, 8) }));
    expect(sink.take().length).toBe(0);
    expect(iface.drops["icmp-broadcast-echo"]).toBe(1);
  });

  test("corrupt echo is dropped", () => {
    learnB();
    const req = echoRequest(1, 1, 8);
    req[9]! ^= 0x10;
    feed(ipv4Frame({ ethDst: MAC_A, ethSrc: MAC_B, src: IP_B, dst: IP_A, proto: IPPROTO_ICMP, payload: req }));
    feed(ipv4Frame({ ethDst: MAC_A, ethSrc: MAC_B, src: IP_B, dst: IP_A, proto: IPPROTO_ICMP, payload: req.subarray(0, 5) }));
    expect(sink.take().length).toBe(0);
    expect(iface.drops["icmp-bad-checksum"]).toBe(1);
    expect(iface.drops["icmp-truncated"]).toBe(1);
  });

  test("ICMP errors about our datagrams reach the protocol's handler, with next-hop MTU", () => {
    const h = new RecordingHandler();
    iface.registerProtocol(IPPROTO_TCP, h);
    // The quoted datagram: one we sent from IP_A to some far host, TCP.
    const quoted = ipv4Frame({ ethDst: 0, ethSrc: 0, src: IP_A, dst: 0x08080808, proto: IPPROTO_TCP, payload: new Uint8Array(20).fill(9) }).subarray(14);
    const msg = new Uint8Array(8 + 28);
    emitIcmpError(msg, 0, ICMP_DEST_UNREACHABLE, UNREACH_FRAG_NEEDED, 1280, quoted, 0, 28);
    feed(ipv4Frame({ ethDst: MAC_A, ethSrc: MAC_GW, src: GW, dst: IP_A, proto: IPPROTO_ICMP, payload: msg }));
    expect(h.errors.length).toBe(1);
    expect(h.errors[0]!.type).toBe(ICMP_DEST_UNREACHABLE);
    expect(h.errors[0]!.code).toBe(UNREACH_FRAG_NEEDED);
    expect(h.errors[0]!.mtu).toBe(1280);
    expect([...h.errors[0]!.quoted]).toEqual([...quoted.subarray(0, 28)]);
  });

  test("ICMP errors quoting someone else's datagram are dropped", () => {
    const h = new RecordingHandler();
    iface.registerProtocol(IPPROTO_TCP, h);
    const quoted = ipv4Frame({ ethDst: 0, ethSrc: 0, src: IP_B, dst: 0x08080808, proto: IPPROTO_TCP, payload: new Uint8Array(8) }).subarray(14);
    const msg = new Uint8Array(8 + 28);
    emitIcmpError(msg, 0, ICMP_DEST_UNREACHABLE, 1, 0, quoted, 0, 28);
    feed(ipv4Frame({ ethDst: MAC_A, ethSrc: MAC_GW, src: GW, dst: IP_A, proto: IPPROTO_ICMP, payload: msg }));
    // and one too short to hold the quote
    feed(ipv4Frame({ ethDst: MAC_A, ethSrc: MAC_GW, src: GW, dst: IP_A, proto: IPPROTO_ICMP, payload: msg.subarray(0, 20).map((x, i) => (i < 8 ? msg[i]! : x)) }));
    expect(h.errors.length).toBe(0);
    expect(iface.drops["icmp-error-unmatched"]).toBeGreaterThanOrEqual(1);
  });

  test("unknown protocol and unbound UDP get ICMP unreachable quoting header + 8 bytes", () => {
    learnB();
    const payload = new Uint8Array(30).fill(0x33);
    feed(ipv4Frame({ ethDst: MAC_A, ethSrc: MAC_B, src: IP_B, dst: IP_A, proto: 99, payload }));
    feed(ipv4Frame({ ethDst: MAC_A, ethSrc: MAC_B, src: IP_B, dst: IP_A, proto: IPPROTO_UDP, payload }));
    const out = sink.take();
    expect(out.length).toBe(2);
    const p0 = ipv4Of(out[0]!).payload;
    const p1 = ipv4Of(out[1]!).payload;
    expect(icmpType(p0, 0)).toBe(ICMP_DEST_UNREACHABLE);
    expect(icmpCode(p0, 0)).toBe(UNREACH_PROTOCOL);
    expect(icmpCode(p1, 0)).toBe(UNREACH_PORT);
    expect(p0.length).toBe(8 + 20 + 8);
    expect(iface.drops["no-protocol"]).toBe(2);
  });

  test("ICMP errors are rate limited", () => {
    make();
    learnB();
    const payload = new Uint8Array(8);
    for (let i = 0; i < 300; i++) feed(ipv4Frame({ ethDst: MAC_A, ethSrc: MAC_B, src: IP_B, dst: IP_A, proto: 99, payload }));
    expect(sink.take().length).toBe(100);
    clock.advance(1000);
    feed(ipv4Frame({ ethDst: MAC_A, ethSrc: MAC_B, src: IP_B, dst: IP_A, proto: 99, payload }));
    expect(sink.take().length).toBe(1);
  });

  test("a handler can answer the current datagram with port unreachable", () => {
    learnB();
    iface.registerProtocol(IPPROTO_UDP, {
      onIpv4: () => iface.sendUnreachableForCurrent(UNREACH_PORT),
    });
    feed(ipv4Frame({ ethDst: MAC_A, ethSrc: MAC_B, src: IP_B, dst: IP_A, proto: IPPROTO_UDP, payload: new Uint8Array(12) }));
    const out = sink.take();
    expect(out.length).toBe(1);
    expect(icmpCode(ipv4Of(out[0]!).payload, 0)).toBe(UNREACH_PORT);
  });

  test("sendPing emits an echo request and replies reach onEchoReply", () => {
    learnB();
    expect(iface.sendPing(IP_B, 77, 3, 16)).toBe(true);
    const [f] = sink.take();
    const p = ipv4Of(f!).payload;
    expect(icmpType(p, 0)).toBe(ICMP_ECHO_REQUEST);
    const seen: number[] = [];
    iface.onEchoReply = (src, id, seq) => seen.push(src, id, seq);
    const reply = p.slice();
    reply[0] = ICMP_ECHO_REPLY;
    finishIcmp(reply, 0, reply.length);
    feed(ipv4Frame({ ethDst: MAC_A, ethSrc: MAC_B, src: IP_B, dst: IP_A, proto: IPPROTO_ICMP, payload: reply }));
    expect(seen).toEqual([IP_B, 77, 3]);
  });
});

describe("iface dispatch and drops", () => {
  test("datagrams reach the handler registered for their protocol", () => {
    const h = new RecordingHandler();
    iface.registerProtocol(IPPROTO_TCP, h);
    const data = Uint8Array.from([1, 2, 3, 4, 5]);
    feed(ipv4Frame({ ethDst: MAC_A, ethSrc: MAC_B, src: IP_B, dst: IP_A, proto: IPPROTO_TCP, payload: data }));
    expect(h.got.length).toBe(1);
    expect(h.got[0]!.src).toBe(IP_B);
    expect(h.got[0]!.dst).toBe(IP_A);
    expect([...h.got[0]!.data]).toEqual([1, 2, 3, 4, 5]);
  });

  test("ethernet padding after the datagram is not passed up", () => {
    const h = new RecordingHandler();
    iface.registerProtocol(IPPROTO_TCP, h);
    const f = ipv4Frame({ ethDst: MAC_A, ethSrc: MAC_B, src: IP_B, dst: IP_A, proto: IPPROTO_TCP, payload: Uint8Array.from([9]) });
    const padded = new Uint8Array(60);
    padded.set(f);
    feed(padded);
    expect([...h.got[0]!.data]).toEqual([9]);
  });

  test("malformed and foreign frames are counted by reason, never thrown", () => {
    const h = new RecordingHandler();
    iface.registerProtocol(IPPROTO_TCP, h);
    const good = ipv4Frame({ ethDst: MAC_A, ethSrc: MAC_B, src: IP_B, dst: IP_A, proto: IPPROTO_TCP, payload: new Uint8Array(4) });
    feed(good.subarray(0, 10));
    const other = good.slice();
    emitEthernet(other, 0, MAC_B, MAC_B, ETHERTYPE_IPV4);
    feed(other);
    const mcast = good.slice();
    emitEthernet(mcast, 0, 0x01005e000001, MAC_B, ETHERTYPE_IPV4);
    feed(mcast);
    const v6 = good.slice();
    v6[12] = 0x86;
    v6[13] = 0xdd;
    feed(v6);
    const odd = good.slice();
    odd[12] = 0x88;
    odd[13] = 0xcc;
    feed(odd);
    const badSum = good.slice();
    badSum[14 + 10]! ^= 1;
    feed(badSum);
    feed(good.subarray(0, 14 + 19));
    feed(good.subarray(0, good.length - 1)); // totalLen longer than the frame
    feed(ipv4Frame({ ethDst: MAC_A, ethSrc: MAC_B, src: IP_B, dst: IP_B, proto: IPPROTO_TCP, payload: new Uint8Array(4) }));
    feed(ipv4Frame({ ethDst: MAC_A, ethSrc: MAC_B, src: 0x7f000001, dst: IP_A, proto: IPPROTO_TCP, payload: new Uint8Array(4) }));
    feed(arpFrame(ARP_REQUEST, ETH_BROADCAST, MAC_B, IP_B, 0, IP_A).subarray(0, 30));
    const looped = good.slice();
    emitEthernet(looped, 0, MAC_A, MAC_A, ETHERTYPE_IPV4);
    feed(looped);
    const groupSrc = good.slice();
    emitEthernet(groupSrc, 0, MAC_A, 0x01005e000001, ETHERTYPE_IPV4);
    feed(groupSrc);
    const rarp = arpFrame(ARP_REQUEST, ETH_BROADCAST, MAC_B, IP_B, 0, IP_A);
    rarp[14 + 7] = 3;
    feed(rarp);
    expect(h.got.length).toBe(0);
    const d = iface.drops;
    expect(d["eth-truncated"]).toBe(1);
    expect(d["eth-not-for-us"]).toBe(1);
    expect(d["eth-multicast"]).toBe(1);
    expect(d.ipv6).toBe(1);
    expect(d.ethertype).toBe(1);
    expect(d["ipv4-bad-checksum"]).toBe(1);
    expect(d["ipv4-truncated"]).toBe(1);
    expect(d["ipv4-bad-total-length"]).toBe(1);
    expect(d["ipv4-not-for-us"]).toBe(1);
    expect(d["ipv4-martian-source"]).toBe(1);
    expect(d["arp-truncated"]).toBe(1);
    expect(d["arp-unsupported"]).toBe(1);
    expect(d["eth-bad-source"]).toBe(2);
    expect(iface.stats.rxFrames).toBe(14);
  });

  test("random garbage never throws", () => {
    const h = new RecordingHandler();
    iface.registerProtocol(IPPROTO_TCP, h);
    let x = 12345;
    const rnd = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 16) & 255;
    for (let n = 0; n < 3000; n++) {
      const len = rnd() % 120;
      const f = new Uint8Array(len);
      for (let i = 0; i < len; i++) f[i] = rnd();
      if (len >= 14 && n % 2 === 0) {
        emitEthernet(f, 0, MAC_A, MAC_B, n % 4 === 0 ? ETHERTYPE_IPV4 : ETHERTYPE_ARP);
        if (len > 14) f[14] = 0x45;
      }
      feed(f);
    }
    const total = Object.values(iface.drops).reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(2900);
  });
});

describe("iface fragments", () => {
  function fragments(data: Uint8Array, size: number, id: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let off = 0; off < data.length; off += size) {
      const n = Math.min(size, data.length - off);
      const more = off + n < data.length;
      out.push(
        ipv4Frame({
          ethDst: MAC_A,
          ethSrc: MAC_B,
          src: IP_B,
          dst: IP_A,
          proto: IPPROTO_TCP,
          id,
          fragField: (more ? IPV4_FLAG_MF : 0) | (off >> 3),
          payload: data.subarray(off, off + n),
        }),
      );
    }
    return out;
  }

  const data = Uint8Array.from({ length: 3000 }, (_, i) => (i * 13) & 255);

  test("out-of-order and duplicated fragments reassemble once", () => {
    const h = new RecordingHandler();
    iface.registerProtocol(IPPROTO_TCP, h);
    const fr = fragments(data, 1000, 42);
    feed(fr[2]!);
    feed(fr[0]!);
    feed(fr[0]!);
    expect(h.got.length).toBe(0);
    feed(fr[1]!);
    expect(h.got.length).toBe(1);
    expect([...h.got[0]!.data]).toEqual([...data]);
    expect(iface.drops["frag-duplicate"]).toBe(1);
    feed(fr[1]!); // a late duplicate after completion starts a new, never-completing datagram
    clock.advance(31_000);
    iface.poll();
    expect(iface.fragmentTimeouts).toBe(1);
    expect(h.got.length).toBe(1);
  });

  test("reassembly timeout answers with ICMP time exceeded (code 1) only if the first fragment came", () => {
    learnB();
    const fr = fragments(data, 1000, 77);
    feed(fr[0]!);
    feed(fr[2]!);
    const noFirst = fragments(data, 1000, 78);
    feed(noFirst[1]!);
    clock.advance(30_001);
    iface.poll();
    // (The ARP entry for B went stale meanwhile, so a refresh request goes out too.)
    const out = sink.take().filter((f) => ethType(f, 0) === ETHERTYPE_IPV4);
    expect(out.length).toBe(1);
    const p = ipv4Of(out[0]!).payload;
    expect(icmpType(p, 0)).toBe(ICMP_TIME_EXCEEDED);
    expect(icmpCode(p, 0)).toBe(TIME_EXCEEDED_REASSEMBLY);
    // The quote is the first fragment's header (id 77) and its first 8 payload bytes.
    expect((p[8 + 4]! << 8) | p[8 + 5]!).toBe(77);
    expect([...p.subarray(8 + 20, 8 + 28)]).toEqual([...data.subarray(0, 8)]);
    expect(iface.fragmentTimeouts).toBe(2);
  });

  test("overlapping fragments discard the datagram", () => {
    const h = new RecordingHandler();
    iface.registerProtocol(IPPROTO_TCP, h);
    const a = fragments(data, 1000, 43);
    const b = fragments(data.subarray(0, 1600), 800, 43); // 800-byte pieces overlap the 1000-byte ones
    feed(a[0]!);
    feed(b[1]!);
    expect(iface.drops["frag-overlap"]).toBe(1);
    feed(a[1]!);
    feed(a[2]!);
    expect(h.got.length).toBe(0);
  });

  test("bad fragments are counted: unaligned middle piece, beyond 64 KiB", () => {
    const h = new RecordingHandler();
    iface.registerProtocol(IPPROTO_TCP, h);
    feed(
      ipv4Frame({ ethDst: MAC_A, ethSrc: MAC_B, src: IP_B, dst: IP_A, proto: IPPROTO_TCP, id: 5, fragField: IPV4_FLAG_MF, payload: new Uint8Array(13) }),
    );
    feed(ipv4Frame({ ethDst: MAC_A, ethSrc: MAC_B, src: IP_B, dst: IP_A, proto: IPPROTO_TCP, id: 6, fragField: 8189, payload: new Uint8Array(100) }));
    expect(iface.drops["frag-bad-fragment"]).toBe(1);
    expect(iface.drops["frag-too-big"]).toBe(1);
  });

  test("datagrams in progress are bounded in number and memory", () => {
    make();
    iface = new Iface({ mac: MAC_A, sink, clock, reassembly: { maxDatagrams: 4, maxBytes: 16 * 1024 } });
    iface.addAddress(IP_A, 24);
    const h = new RecordingHandler();
    iface.registerProtocol(IPPROTO_TCP, h);
    for (let id = 0; id < 50; id++) feed(fragments(data, 1000, 100 + id)[1]!);
    // Only the newest 4 survive: the last one still completes.
    const last = fragments(data, 1000, 149);
    feed(last[0]!);
    feed(last[2]!);
    expect(h.got.length).toBe(1);
    const first = fragments(data, 1000, 100);
    feed(first[0]!);
    feed(first[2]!);
    expect(h.got.length).toBe(1);
    // A 12 KB datagram needs the whole 16 KiB budget: it evicts the others, which then cannot complete.
    const victim = fragments(data, 1000, 300);
    feed(victim[1]!);
    feed(fragments(new Uint8Array(12000), 1000, 999)[11]!);
    feed(victim[0]!);
    feed(victim[2]!);
    expect(h.got.length).toBe(1);
    expect(iface.nextDeadline()).toBeLessThan(Infinity);
  });
});

describe("iface outbound fragmentation", () => {
  test("a datagram larger than the MTU leaves as aligned fragments", () => {
    make(1500);
    learnB();
    expect(iface.sendPing(IP_B, 1, 1, 4000)).toBe(true);
    const out = sink.take();
    expect(out.length).toBe(3);
    let total = 0;
    for (const f of out) {
      const { h, payload } = ipv4Of(f);
      expect(h.totalLen).toBeLessThanOrEqual(1500);
      expect(h.fragOffset).toBe(total);
      expect(h.moreFragments).toBe(f !== out[2]);
      expect(h.dontFragment).toBe(false);
      total += payload.length;
    }
    expect(total).toBe(4008);
    expect(iface.stats.datagramsFragmented).toBe(1);
  });

  test("TCP datagrams carry DF", () => {
    learnB();
    const b = new Uint8Array(TRANSPORT_HEADROOM + 20);
    iface.sendIpv4(IPPROTO_TCP, IP_A, IP_B, b, TRANSPORT_HEADROOM, b.length);
    expect(ipv4Of(sink.take()[0]!).h.dontFragment).toBe(true);
    expect(IPV4_FLAG_DF).toBe(0x4000);
  });
});

describe("iface isolation", () => {
  test("a handler that throws is counted and does not stop delivery", () => {
    let calls = 0;
    iface.registerProtocol(IPPROTO_TCP, {
      onIpv4: () => {
        calls++;
        throw new Error("bug above");
      },
    });
    for (let i = 0; i < 3; i++) feed(ipv4Frame({ ethDst: MAC_A, ethSrc: MAC_B, src: IP_B, dst: IP_A, proto: IPPROTO_TCP, payload: new Uint8Array(4) }));
    expect(calls).toBe(3);
    expect(iface.drops["handler-threw"]).toBe(3);
    expect(iface.lastHandlerError).toBeInstanceOf(Error);
  });
});

describe("iface loopback", () => {
  test("datagrams to our own address are delivered internally, after the sender returns", async () => {
    const h = new RecordingHandler();
    iface.registerProtocol(IPPROTO_UDP, h);
    const b = new Uint8Array(TRANSPORT_HEADROOM + 5);
    b.set([1, 2, 3, 4, 5], TRANSPORT_HEADROOM);
    expect(iface.sendIpv4(IPPROTO_UDP, IP_A, IP_A, b, TRANSPORT_HEADROOM, b.length)).toBe(true);
    expect(h.got.length).toBe(0); // not re-entrant
    await Promise.resolve();
    expect(h.got.length).toBe(1);
    expect(h.got[0]!.src).toBe(IP_A);
    expect([...h.got[0]!.data]).toEqual([1, 2, 3, 4, 5]);
    expect(sink.take().length).toBe(0); // nothing on the link, no ARP for ourselves
    expect(iface.stats.loopbackDatagrams).toBe(1);
  });

  test("we can ping ourselves, even beyond the link MTU", async () => {
    const seen: number[] = [];
    iface.onEchoReply = (src, _id, seq, _b, s, e) => {
      if (src === IP_A && e - s === 5000) seen.push(seq);
    };
    iface.sendPing(IP_A, 1, 42, 5000);
    await Promise.resolve();
    await Promise.resolve();
    expect(seen).toEqual([42]);
    expect(sink.take().length).toBe(0);
  });

  test("poll() drains pending loopback work and nextDeadline() reports it", () => {
    const h = new RecordingHandler();
    iface.registerProtocol(IPPROTO_UDP, h);
    const b = new Uint8Array(TRANSPORT_HEADROOM + 1);
    iface.sendIpv4(IPPROTO_UDP, IP_A, IP_A, b, TRANSPORT_HEADROOM, b.length);
    expect(iface.nextDeadline()).toBe(clock.now());
    iface.poll();
    expect(h.got.length).toBe(1);
    expect(iface.nextDeadline()).toBe(Infinity);
  });
});

describe("host loopback (127.0.0.0/8)", () => {
  const LO = 0x7f000001;
  function makeLo(enabled: boolean): RecordingHandler {
    clock = new ManualClock(1000);
    sink = new CaptureSink();
    iface = new Iface({ mac: MAC_A, sink, clock, hostLoopback: enabled });
    iface.addAddress(IP_A, 24);
    const h = new RecordingHandler();
    iface.registerProtocol(IPPROTO_UDP, h);
    return h;
  }

  test("datagrams to 127.x are delivered inside, from 127.0.0.1, and never reach the link", async () => {
    const h = makeLo(true);
    expect(iface.sourceFor(0x7f000005)).toBe(LO);
    const buf = new Uint8Array(TRANSPORT_HEADROOM + 4);
    buf.set([1, 2, 3, 4], TRANSPORT_HEADROOM);
    expect(iface.sendIpv4(IPPROTO_UDP, LO, 0x7f000005, buf, TRANSPORT_HEADROOM, buf.length)).toBe(true);
    await Promise.resolve();
    expect(h.got.map((g) => [g.src, g.dst, [...g.data]])).toEqual([[LO, 0x7f000005, [1, 2, 3, 4]]]);
    expect(sink.take().length).toBe(0);
  });

  test("the link can neither ARP for 127.0.0.1 nor send to it", () => {
    const h = makeLo(true);
    feed(arpFrame(ARP_REQUEST, ETH_BROADCAST, MAC_B, IP_B, 0, LO));
    expect(sink.take().length).toBe(0);
    feed(ipv4Frame({ ethDst: MAC_A, ethSrc: MAC_B, src: IP_B, dst: LO, proto: IPPROTO_UDP, payload: new Uint8Array(8) }));
    expect(h.got.length).toBe(0);
    expect(iface.drops["ipv4-not-for-us"]).toBe(1);
    feed(ipv4Frame({ ethDst: MAC_A, ethSrc: MAC_B, src: LO, dst: IP_A, proto: IPPROTO_UDP, payload: new Uint8Array(8) }));
    expect(h.got.length).toBe(0);
    expect(iface.drops["ipv4-martian-source"]).toBe(1);
  });

  test("off by default: 127.x has no route", () => {
    makeLo(false);
    expect(iface.isLocal(LO)).toBe(false);
    expect(iface.sourceFor(LO)).toBe(0);
  });
});
