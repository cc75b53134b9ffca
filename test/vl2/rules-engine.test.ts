import { describe, expect, test } from "bun:test";
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, FilterResult, RulesOutcome, evaluateRules } from "../../src/vl2/rules-engine.ts";
import { ExtFrameFlag, FilterDecision, filterFrame } from "../../src/vl2/rules-filter.ts";
import { Characteristic, type Rule } from "../../src/vl2/rules.ts";
import { A, B, C, MAC_A, MAC_B, SELF, arpRequest, context, frameInfo, ipv4, ipv6, tcp, udp, v6 } from "./rule-frames.ts";

const F = { not: false, or: false };
const NOT = { not: true, or: false };
const OR = { not: false, or: true };
const accept: Rule = { type: 1, ...F };
const drop: Rule = { type: 0, ...F };

const tcpSyn = ipv4(6, [10, 0, 0, 1], [10, 0, 0, 2], tcp(40000, 22, 0x002));
const udpDns = ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], udp(5353, 53));
const icmpEcho = ipv4(1, [10, 0, 0, 1], [10, 0, 0, 2], [8, 0, 0, 0, 0, 1, 0, 1]);
const v6Src = v6("fd00::1");
const v6Dst = v6("fd00::2");
const v6Tcp = ipv6(6, v6Src, v6Dst, tcp(1234, 443, 0x012), 0xb8);
// hop-by-hop options header (8 bytes) before UDP: exercises the extension-header walk
const v6HopUdp = ipv6(0, v6Src, v6Dst, [17, 0, 1, 4, 0, 0, 0, 0, ...udp(1000, 2000)]);
const v6Icmp = ipv6(58, v6Src, v6Dst, [128, 0, 0, 0, 0, 0, 0, 0]);

function run(rules: Rule[], payload: Uint8Array, etherType: number, over: Parameters<typeof frameInfo>[2] = {}, ctx = context()) {
  const out = new RulesOutcome();
  const r = evaluateRules(rules, frameInfo(payload, etherType, over), ctx, out);
  return { r, out };
}

/** "match M then accept, else drop" evaluated for a frame: true if M matched. */
function matches(m: Rule, payload: Uint8Array, etherType: number, over: Parameters<typeof frameInfo>[2] = {}, ctx = context()): boolean {
  const { r } = run([m, accept, drop], payload, etherType, over, ctx);
  expect(r === FilterResult.ACCEPT || r === FilterResult.DROP).toBe(true);
  return r === FilterResult.ACCEPT;
}

describe("actions", () => {
  test("accept, drop, empty table, break", () => {
    expect(run([accept], tcpSyn, ETHERTYPE_IPV4).r).toBe(FilterResult.ACCEPT);
    expect(run([drop, accept], tcpSyn, ETHERTYPE_IPV4).r).toBe(FilterResult.DROP);
    expect(run([], tcpSyn, ETHERTYPE_IPV4).r).toBe(FilterResult.NO_MATCH);
    expect(run([{ type: 5, ...F }, accept], tcpSyn, ETHERTYPE_IPV4).r).toBe(FilterResult.NO_MATCH);
    // an action whose matches failed is skipped, and the next set starts true again
    expect(run([{ type: 37, ...F, etherType: 0x86dd }, drop, accept], tcpSyn, ETHERTYPE_IPV4).r).toBe(FilterResult.ACCEPT);
  });

  test("tee: copy recorded (length capped), walk continues; no-op when the target is the source or destination", () => {
    const { r, out } = run([{ type: 2, ...F, address: C, flags: 0, length: 10 }, accept], tcpSyn, ETHERTYPE_IPV4);
    expect(r).toBe(FilterResult.ACCEPT);
    expect([out.ccTo, out.ccLength, out.ccWatch]).toEqual([C, 10, false]);
    const all = run([{ type: 2, ...F, address: C, flags: 0, length: 0 }, accept], tcpSyn, ETHERTYPE_IPV4).out;
    expect(all.ccLength).toBe(tcpSyn.length);
    expect(run([{ type: 2, ...F, address: A, flags: 0, length: 0 }, accept], tcpSyn, ETHERTYPE_IPV4).out.ccTo).toBe(0);
    expect(run([{ type: 2, ...F, address: B, flags: 0, length: 0 }, accept], tcpSyn, ETHERTYPE_IPV4).out.ccTo).toBe(0);
  });

  test("watch sets the watch flag; tee/watch/redirect targeting us inbound super-accepts", () => {
    expect(run([{ type: 3, ...F, address: C, flags: 0, length: 0 }, accept], tcpSyn, ETHERTYPE_IPV4).out.ccWatch).toBe(true);
    expect(run([{ type: 3, ...F, address: SELF, flags: 0, length: 0 }, drop], tcpSyn, ETHERTYPE_IPV4, { inbound: true }).r).toBe(FilterResult.SUPER_ACCEPT);
    // a tee to us on a frame addressed to us still super-accepts (checked before "target is the destination")
    expect(run([{ type: 2, ...F, address: SELF, flags: 0, length: 0 }, drop], tcpSyn, ETHERTYPE_IPV4, { inbound: true, ztDest: SELF }).r).toBe(FilterResult.SUPER_ACCEPT);
    // outbound, a target equal to us is a no-op
    expect(run([{ type: 3, ...F, address: SELF, flags: 0, length: 0 }, drop], tcpSyn, ETHERTYPE_IPV4).r).toBe(FilterResult.DROP);
    // a skipped redirect-to-us still marks the later accept as a super-accept (inbound)
    const skipped: Rule[] = [{ type: 37, ...F, etherType: 1 }, { type: 4, ...F, address: SELF, flags: 0, length: 0 }, accept];
    expect(run(skipped, tcpSyn, ETHERTYPE_IPV4, { inbound: true }).r).toBe(FilterResult.SUPER_ACCEPT);
  });

  test("redirect changes the destination", () => {
    const { r, out } = run([{ type: 4, ...F, address: C, flags: 0, length: 0 }], tcpSyn, ETHERTYPE_IPV4);
    expect(r).toBe(FilterResult.REDIRECT);
    expect(out.ztDest).toBe(C);
  });

  test("priority accepts with its bucket", () => {
    const { r, out } = run([{ type: 6, ...F, qosBucket: 2 }, drop], tcpSyn, ETHERTYPE_IPV4);
    expect(r).toBe(FilterResult.ACCEPT);
    expect(out.qosBucket).toBe(2);
    expect(run([{ type: 6, ...F, qosBucket: 9 }], tcpSyn, ETHERTYPE_IPV4).out.qosBucket).toBe(4);
  });
});

describe("match types", () => {
  test("ZeroTier addresses, VLAN, MACs, ethertype", () => {
    expect(matches({ type: 24, ...F, address: A }, tcpSyn, ETHERTYPE_IPV4)).toBe(true);
    expect(matches({ type: 24, ...F, address: B }, tcpSyn, ETHERTYPE_IPV4)).toBe(false);
    expect(matches({ type: 25, ...F, address: B }, tcpSyn, ETHERTYPE_IPV4)).toBe(true);
    expect(matches({ type: 26, ...F, vlanId: 5 }, tcpSyn, ETHERTYPE_IPV4, { vlanId: 5 })).toBe(true);
    expect(matches({ type: 26, ...F, vlanId: 5 }, tcpSyn, ETHERTYPE_IPV4)).toBe(false);
    expect(matches({ type: 27, ...F, value: 0 }, tcpSyn, ETHERTYPE_IPV4)).toBe(true);
    expect(matches({ type: 28, ...F, value: 1 }, tcpSyn, ETHERTYPE_IPV4)).toBe(false);
    expect(matches({ type: 29, ...F, mac: MAC_A }, tcpSyn, ETHERTYPE_IPV4)).toBe(true);
    expect(matches({ type: 30, ...F, mac: MAC_A }, tcpSyn, ETHERTYPE_IPV4)).toBe(false);
    expect(matches({ type: 30, ...F, mac: MAC_B }, tcpSyn, ETHERTYPE_IPV4)).toBe(true);
    expect(matches({ type: 37, ...F, etherType: ETHERTYPE_IPV4 }, tcpSyn, ETHERTYPE_IPV4)).toBe(true);
    expect(matches({ type: 37, ...F, etherType: ETHERTYPE_ARP }, tcpSyn, ETHERTYPE_IPV4)).toBe(false);
  });

  test("IPv4 and IPv6 source/destination prefixes", () => {
    const net = (ip: number[], bits: number, type: 31 | 32): Rule => ({ type, ...F, ip: Uint8Array.from(ip), prefixBits: bits });
    expect(matches(net([10, 0, 0, 0], 8, 31), tcpSyn, ETHERTYPE_IPV4)).toBe(true);
    expect(matches(net([10, 0, 0, 2], 32, 31), tcpSyn, ETHERTYPE_IPV4)).toBe(false);
    expect(matches(net([10, 0, 0, 2], 32, 32), tcpSyn, ETHERTYPE_IPV4)).toBe(true);
    expect(matches(net([192, 168, 0, 0], 0, 32), tcpSyn, ETHERTYPE_IPV4)).toBe(true);
    expect(matches({ type: 33, ...F, ip: v6("fd00::"), prefixBits: 64 }, v6Tcp, ETHERTYPE_IPV6)).toBe(true);
    expect(matches({ type: 34, ...F, ip: v6("fd00::3"), prefixBits: 128 }, v6Tcp, ETHERTYPE_IPV6)).toBe(false);
    expect(matches({ type: 34, ...F, ip: v6("fd00::2"), prefixBits: 128 }, v6Tcp, ETHERTYPE_IPV6)).toBe(true);
    // 1.14 compares masked packet address with the rule address as written
    expect(matches({ type: 33, ...F, ip: v6("fd00::1"), prefixBits: 64 }, v6Tcp, ETHERTYPE_IPV6)).toBe(false);
  });

  test("IP matches on a non-IP frame are false, and so are their NOTs", () => {
    const arp = arpRequest([10, 0, 0, 1], [10, 0, 0, 2]);
    const v4: Rule = { type: 31, ...F, ip: Uint8Array.of(10, 0, 0, 0), prefixBits: 8 };
    expect(matches(v4, arp, ETHERTYPE_ARP)).toBe(false);
    expect(matches({ ...v4, not: true }, arp, ETHERTYPE_ARP)).toBe(false);
    expect(matches({ type: 36, ...NOT, protocol: 6 }, arp, ETHERTYPE_ARP)).toBe(false);
    expect(matches({ type: 40, ...NOT, low: 0, high: 65535 }, arp, ETHERTYPE_ARP)).toBe(false);
  });

  test("TOS / traffic class, protocol (through an IPv6 extension header)", () => {
    const ef = ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], udp(1, 2), 0xb8);
    expect(matches({ type: 35, ...F, mask: 0xfc, low: 0xb8, high: 0xb8 }, ef, ETHERTYPE_IPV4)).toBe(true);
    expect(matches({ type: 35, ...F, mask: 0xfc, low: 0, high: 0x10 }, ef, ETHERTYPE_IPV4)).toBe(false);
    expect(matches({ type: 35, ...F, mask: 0xff, low: 0xb8, high: 0xb8 }, v6Tcp, ETHERTYPE_IPV6)).toBe(true);
    expect(matches({ type: 36, ...F, protocol: 6 }, tcpSyn, ETHERTYPE_IPV4)).toBe(true);
    expect(matches({ type: 36, ...F, protocol: 17 }, v6HopUdp, ETHERTYPE_IPV6)).toBe(true);
    expect(matches({ type: 36, ...F, protocol: 0 }, v6HopUdp, ETHERTYPE_IPV6)).toBe(false);
  });

  test("ICMP type and code", () => {
    expect(matches({ type: 38, ...F, icmpType: 8, icmpCode: 0, icmpFlags: 0 }, icmpEcho, ETHERTYPE_IPV4)).toBe(true);
    expect(matches({ type: 38, ...F, icmpType: 8, icmpCode: 3, icmpFlags: 1 }, icmpEcho, ETHERTYPE_IPV4)).toBe(false);
    expect(matches({ type: 38, ...F, icmpType: 8, icmpCode: 3, icmpFlags: 0 }, icmpEcho, ETHERTYPE_IPV4)).toBe(true);
    expect(matches({ type: 38, ...F, icmpType: 0, icmpCode: 0, icmpFlags: 0 }, icmpEcho, ETHERTYPE_IPV4)).toBe(false);
    expect(matches({ type: 38, ...F, icmpType: 128, icmpCode: 0, icmpFlags: 1 }, v6Icmp, ETHERTYPE_IPV6)).toBe(true);
    expect(matches({ type: 38, ...F, icmpType: 8, icmpCode: 0, icmpFlags: 0 }, tcpSyn, ETHERTYPE_IPV4)).toBe(false);
  });

  test("source and destination port ranges (TCP, UDP, IPv6 with extension header)", () => {
    expect(matches({ type: 40, ...F, low: 22, high: 22 }, tcpSyn, ETHERTYPE_IPV4)).toBe(true);
    expect(matches({ type: 39, ...F, low: 22, high: 22 }, tcpSyn, ETHERTYPE_IPV4)).toBe(false);
    expect(matches({ type: 39, ...F, low: 32768, high: 65535 }, tcpSyn, ETHERTYPE_IPV4)).toBe(true);
    expect(matches({ type: 40, ...F, low: 53, high: 53 }, udpDns, ETHERTYPE_IPV4)).toBe(true);
    expect(matches({ type: 40, ...F, low: 2000, high: 2000 }, v6HopUdp, ETHERTYPE_IPV6)).toBe(true);
    expect(matches({ type: 40, ...F, low: 0, high: 65535 }, icmpEcho, ETHERTYPE_IPV4)).toBe(false);
  });

  test("characteristics: direction, multicast/broadcast, TCP flags, sender authenticated by CoO", () => {
    const ch = (c: bigint): Rule => ({ type: 41, ...F, characteristics: c });
    expect(matches(ch(Characteristic.TCP_SYN), tcpSyn, ETHERTYPE_IPV4)).toBe(true);
    expect(matches(ch(Characteristic.TCP_ACK), tcpSyn, ETHERTYPE_IPV4)).toBe(false);
    expect(matches(ch(Characteristic.TCP_ACK), v6Tcp, ETHERTYPE_IPV6)).toBe(true);
    expect(matches(ch(Characteristic.TCP_NS), ipv4(6, [1, 1, 1, 1], [2, 2, 2, 2], tcp(1, 2, 0x100)), ETHERTYPE_IPV4)).toBe(true);
    expect(matches(ch(Characteristic.INBOUND), tcpSyn, ETHERTYPE_IPV4)).toBe(false);
    expect(matches(ch(Characteristic.INBOUND), tcpSyn, ETHERTYPE_IPV4, { inbound: true })).toBe(true);
    expect(matches(ch(Characteristic.BROADCAST), tcpSyn, ETHERTYPE_IPV4, { macDest: 0xffffffffffff })).toBe(true);
    expect(matches(ch(Characteristic.MULTICAST), tcpSyn, ETHERTYPE_IPV4, { macDest: 0x01005e000001 })).toBe(true);
    expect(matches(ch(Characteristic.MULTICAST), tcpSyn, ETHERTYPE_IPV4)).toBe(false);
    const ctx = context();
    expect(matches(ch(Characteristic.SENDER_IP_AUTHENTICATED), tcpSyn, ETHERTYPE_IPV4, {}, ctx)).toBe(false);
    ctx.ownedIps.push("0a000001");
    expect(matches(ch(Characteristic.SENDER_IP_AUTHENTICATED), tcpSyn, ETHERTYPE_IPV4, {}, ctx)).toBe(true);
    expect(matches(ch(Characteristic.SENDER_IP_AUTHENTICATED), arpRequest([10, 0, 0, 1], [10, 0, 0, 9]), ETHERTYPE_ARP, {}, ctx)).toBe(true);
    ctx.ownedMacs.push(MAC_A);
    expect(matches(ch(Characteristic.SENDER_MAC_AUTHENTICATED), tcpSyn, ETHERTYPE_IPV4, {}, ctx)).toBe(true);
    // neighbor solicitations count as IP-authenticated
    const ns = ipv6(58, v6("fe80::1"), v6("ff02::1:ff00:2"), [0x87, 0, 0, 0, 0, 0, 0, 0, ...v6("fd00::2")]);
    expect(matches(ch(Characteristic.SENDER_IP_AUTHENTICATED), ns, ETHERTYPE_IPV6)).toBe(true);
  });

  test("frame size range and random", () => {
    expect(matches({ type: 42, ...F, low: 0, high: 40 }, tcpSyn, ETHERTYPE_IPV4)).toBe(true);
    expect(matches({ type: 42, ...F, low: 41, high: 1500 }, tcpSyn, ETHERTYPE_IPV4)).toBe(false);
    const ctx = context();
    ctx.nextRandom = 0x80000000;
    expect(matches({ type: 43, ...F, probability: 0x7fffffff }, tcpSyn, ETHERTYPE_IPV4, {}, ctx)).toBe(false);
    expect(matches({ type: 43, ...F, probability: 0x80000000 }, tcpSyn, ETHERTYPE_IPV4, {}, ctx)).toBe(true);
  });

  test("tag comparisons between our tag and the peer's", () => {
    const ctx = context();
    ctx.localTags.set(1, 0b1100);
    ctx.remoteTags.set(1, 0b1010);
    const tag = (type: 44 | 45 | 46 | 47 | 48, v: number): Rule => ({ type, ...F, tagId: 1, tagValue: v });
    expect(matches(tag(44, 2), tcpSyn, ETHERTYPE_IPV4, { inbound: true }, ctx)).toBe(true);
    expect(matches(tag(44, 1), tcpSyn, ETHERTYPE_IPV4, { inbound: true }, ctx)).toBe(false);
    expect(matches(tag(45, 0b1000), tcpSyn, ETHERTYPE_IPV4, { inbound: true }, ctx)).toBe(true);
    expect(matches(tag(46, 0b1110), tcpSyn, ETHERTYPE_IPV4, { inbound: true }, ctx)).toBe(true);
    expect(matches(tag(47, 0b0110), tcpSyn, ETHERTYPE_IPV4, { inbound: true }, ctx)).toBe(true);
    expect(matches(tag(48, 0b1100), tcpSyn, ETHERTYPE_IPV4, { inbound: true }, ctx)).toBe(false);
    ctx.remoteTags.set(1, 0b1100);
    expect(matches(tag(48, 0b1100), tcpSyn, ETHERTYPE_IPV4, { inbound: true }, ctx)).toBe(true);
    // we have no such tag: no match either way
    expect(matches({ type: 48, ...F, tagId: 9, tagValue: 0 }, tcpSyn, ETHERTYPE_IPV4, {}, ctx)).toBe(false);
  });

  test("unknown peer tag: strict inbound, lenient outbound (and the next drop is skipped once)", () => {
    const ctx = context();
    ctx.localTags.set(1, 5);
    const eq: Rule = { type: 48, ...F, tagId: 1, tagValue: 5 };
    expect(matches(eq, tcpSyn, ETHERTYPE_IPV4, { inbound: true }, ctx)).toBe(false);
    expect(matches(eq, tcpSyn, ETHERTYPE_IPV4, {}, ctx)).toBe(true);
    // "NOT equal → drop; accept": outbound with unknown peer tag must not drop
    const { r } = run([{ ...eq, not: true }, drop, accept], tcpSyn, ETHERTYPE_IPV4, {}, ctx);
    expect(r).toBe(FilterResult.ACCEPT);
    expect(run([{ type: 48, ...F, tagId: 1, tagValue: 5 }, drop, accept], tcpSyn, ETHERTYPE_IPV4, {}, ctx).r).toBe(FilterResult.ACCEPT);
  });

  test("tag sender / receiver", () => {
    const ctx = context();
    ctx.localTags.set(2, 7);
    ctx.remoteTags.set(2, 9);
    const sender = (v: number): Rule => ({ type: 49, ...F, tagId: 2, tagValue: v });
    const receiver = (v: number): Rule => ({ type: 50, ...F, tagId: 2, tagValue: v });
    expect(matches(sender(9), tcpSyn, ETHERTYPE_IPV4, { inbound: true }, ctx)).toBe(true);
    expect(matches(sender(7), tcpSyn, ETHERTYPE_IPV4, {}, ctx)).toBe(true);
    expect(matches(receiver(9), tcpSyn, ETHERTYPE_IPV4, {}, ctx)).toBe(true);
    expect(matches(receiver(7), tcpSyn, ETHERTYPE_IPV4, { inbound: true }, ctx)).toBe(true);
    expect(matches(receiver(8), tcpSyn, ETHERTYPE_IPV4, { inbound: true }, ctx)).toBe(false);
    ctx.remoteTags.clear();
    expect(matches(sender(9), tcpSyn, ETHERTYPE_IPV4, { inbound: true }, ctx)).toBe(false);
    expect(matches(receiver(9), tcpSyn, ETHERTYPE_IPV4, {}, ctx)).toBe(true);
  });

  test("integer range: big-endian (at index + 8 − bytes, as 1.14) and little-endian", () => {
    const f = new Uint8Array(32);
    f[8 + 6] = 0x12;
    f[8 + 7] = 0x34; // big-endian 16-bit value at "index 8" is read from bytes 14..15
    f[20] = 0x34;
    f[21] = 0x12;
    const be: Rule = { type: 51, ...F, start: 0x1234n, end: 0x1234n, index: 8, format: 15 };
    const le: Rule = { type: 51, ...F, start: 0x1230n, end: 0x1240n, index: 20, format: 0x80 | 15 };
    expect(matches(be, f, 0x88b5)).toBe(true);
    expect(matches({ ...be, start: 0x1235n, end: 0x2000n }, f, 0x88b5)).toBe(false);
    expect(matches(le, f, 0x88b5)).toBe(true);
    // beyond the frame: value reads as 0
    expect(matches({ ...be, index: 40, start: 0n, end: 0n }, f, 0x88b5)).toBe(true);
  });

  test("unknown match types follow network flag 0x8", () => {
    const unknown = { type: 60, ...F } as Rule;
    expect(matches(unknown, tcpSyn, ETHERTYPE_IPV4)).toBe(false);
    expect(matches(unknown, tcpSyn, ETHERTYPE_IPV4, {}, context({ networkFlags: 0x8 }))).toBe(true);
  });
});

describe("NOT and OR", () => {
  const isArp: Rule = { type: 37, ...F, etherType: ETHERTYPE_ARP };
  const isV4: Rule = { type: 37, ...F, etherType: ETHERTYPE_IPV4 };
  const isV6: Rule = { type: 37, ...F, etherType: ETHERTYPE_IPV6 };
  const arp = arpRequest([10, 0, 0, 1], [10, 0, 0, 2]);

  test("the classic default: drop anything not IPv4/ARP/IPv6", () => {
    const rules: Rule[] = [{ ...isV4, not: true }, { ...isArp, not: true }, { ...isV6, not: true }, drop, accept];
    expect(run(rules, tcpSyn, ETHERTYPE_IPV4).r).toBe(FilterResult.ACCEPT);
    expect(run(rules, arp, ETHERTYPE_ARP).r).toBe(FilterResult.ACCEPT);
    expect(run(rules, tcpSyn, 0x88cc).r).toBe(FilterResult.DROP);
  });

  test("OR joins alternatives; AND after OR binds left to right", () => {
    const either: Rule[] = [isArp, { ...isV6, ...OR }, accept, drop];
    expect(run(either, arp, ETHERTYPE_ARP).r).toBe(FilterResult.ACCEPT);
    expect(run(either, v6Tcp, ETHERTYPE_IPV6).r).toBe(FilterResult.ACCEPT);
    expect(run(either, tcpSyn, ETHERTYPE_IPV4).r).toBe(FilterResult.DROP);
    // (ARP OR IPv4) AND dport 22
    const ssh: Rule[] = [isArp, { ...isV4, ...OR }, { type: 40, ...F, low: 22, high: 22 }, accept, drop];
    expect(run(ssh, tcpSyn, ETHERTYPE_IPV4).r).toBe(FilterResult.ACCEPT);
    expect(run(ssh, udpDns, ETHERTYPE_IPV4).r).toBe(FilterResult.DROP);
    // OR with NOT: not-ARP OR ARP is always true
    expect(run([isArp, { ...isArp, not: true, or: true }, drop, accept], tcpSyn, ETHERTYPE_IPV4).r).toBe(FilterResult.DROP);
  });

  test("an OR can revive a set that an AND made false", () => {
    expect(run([isArp, isV4, { ...isV4, ...OR }, accept, drop], tcpSyn, ETHERTYPE_IPV4).r).toBe(FilterResult.ACCEPT);
  });
});

describe("filterFrame (send and receive with capabilities)", () => {
  test("no rule accepts → dropped with a reason (default deny)", () => {
    const d = filterFrame([], [], frameInfo(tcpSyn, ETHERTYPE_IPV4), context(), new FilterDecision());
    expect([d.accept, d.deliver, d.dropReason]).toEqual([0, false, "no rule accepted"]);
  });

  test("capabilities are tried when the main table has no match; first accepting wins; drop in a capability is not final", () => {
    const sshOnly: Rule[] = [{ type: 40, ...F, low: 22, high: 22 }, accept];
    const dropper: Rule[] = [drop];
    const base: Rule[] = [{ type: 37, ...F, etherType: ETHERTYPE_ARP }, accept];
    const d = new FilterDecision();
    filterFrame(base, [dropper, sshOnly], frameInfo(tcpSyn, ETHERTYPE_IPV4, { inbound: true }), context(), d);
    expect([d.accept, d.capability, d.deliver]).toEqual([1, 1, true]);
    filterFrame(base, [dropper, sshOnly], frameInfo(udpDns, ETHERTYPE_IPV4), context(), d);
    expect([d.accept, d.dropReason]).toEqual([0, "no rule or capability accepted"]);
    // an explicit drop in the main table is final
    filterFrame([drop], [sshOnly], frameInfo(tcpSyn, ETHERTYPE_IPV4), context(), d);
    expect([d.accept, d.dropReason]).toEqual([0, "dropped by rule"]);
  });

  test("tee and watch copies carry 1.14's EXT_FRAME flags in each direction", () => {
    const d = new FilterDecision();
    filterFrame([{ type: 2, ...F, address: C, flags: 0, length: 0 }, accept], [], frameInfo(tcpSyn, ETHERTYPE_IPV4), context(), d);
    expect([d.teeCount, d.tees[0]!.to, d.tees[0]!.extFrameFlags, d.deliver]).toEqual([1, C, ExtFrameFlag.OUTBOUND_TEE, true]);
    filterFrame([{ type: 3, ...F, address: C, flags: 0, length: 0 }, accept], [], frameInfo(tcpSyn, ETHERTYPE_IPV4, { inbound: true }), context(), d);
    expect([d.teeCount, d.tees[0]!.extFrameFlags]).toEqual([1, ExtFrameFlag.INBOUND_WATCH]);
    filterFrame([{ type: 2, ...F, address: C, flags: 0, length: 0 }, accept], [], frameInfo(tcpSyn, ETHERTYPE_IPV4), context(), d, true);
    expect(d.teeCount).toBe(0);
  });

  test("redirect: not delivered locally, sent to the new target with the redirect flag", () => {
    const d = new FilterDecision();
    filterFrame([{ type: 4, ...F, address: C, flags: 0, length: 0 }], [], frameInfo(tcpSyn, ETHERTYPE_IPV4), context(), d);
    expect([d.accept, d.deliver, d.redirectTo, d.redirectFlags]).toEqual([1, false, C, ExtFrameFlag.OUTBOUND_REDIRECT]);
    filterFrame([drop], [[{ type: 4, ...F, address: C, flags: 0, length: 0 }]], frameInfo(tcpSyn, ETHERTYPE_IPV4, { inbound: true }), context(), d);
    expect(d.accept).toBe(0);
    filterFrame([], [[{ type: 4, ...F, address: C, flags: 0, length: 0 }]], frameInfo(tcpSyn, ETHERTYPE_IPV4, { inbound: true }), context(), d);
    expect([d.redirectTo, d.redirectFlags]).toEqual([C, ExtFrameFlag.INBOUND_REDIRECT]);
  });

  test("super-accept inbound when we are the tee target", () => {
    const d = filterFrame([{ type: 2, ...F, address: SELF, flags: 0, length: 0 }, drop], [], frameInfo(tcpSyn, ETHERTYPE_IPV4, { inbound: true }), context(), new FilterDecision());
    expect([d.accept, d.deliver]).toEqual([2, true]);
  });
});
