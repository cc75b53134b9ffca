import { describe, expect, test } from "bun:test";
import { EndpointCache } from "../../src/vl1/endpoint-cache.ts";
import { ExpectReply } from "../../src/vl1/expect-reply.ts";
import { inetAddressFromString } from "../../src/vl1/inet-address.ts";
import { IpScope, ipScope, isAddressValidForPath, networkBucket } from "../../src/vl1/ip-scope.ts";
import { PATH_ALIVE_TIMEOUT, Path } from "../../src/vl1/path.ts";
import { MIN_UNITE_INTERVAL, UniteGate } from "../../src/vl1/relay.ts";
import { WAIT_QUEUE_SLOTS, WAIT_QUEUE_TIMEOUT, WaitQueue, WhoisRequests } from "../../src/vl1/whois.ts";

const A = (s: string) => inetAddressFromString(s)!;

describe("IP scopes and path validity", () => {
  test("scopes", () => {
    const cases: [string, number][] = [
      ["10.1.2.3/1", IpScope.PRIVATE],
      ["172.20.0.1/1", IpScope.PRIVATE],
      ["172.32.0.1/1", IpScope.GLOBAL],
      ["192.168.1.1/1", IpScope.PRIVATE],
      ["100.64.0.1/1", IpScope.SHARED],
      ["100.128.0.1/1", IpScope.GLOBAL],
      ["127.0.0.1/1", IpScope.LOOPBACK],
      ["169.254.1.1/1", IpScope.LINK_LOCAL],
      ["224.0.0.1/1", IpScope.MULTICAST],
      ["0.1.2.3/1", IpScope.NONE],
      ["11.0.0.1/1", IpScope.PSEUDOPRIVATE],
      ["8.8.8.8/1", IpScope.GLOBAL],
      ["::1/1", IpScope.LOOPBACK],
      ["fe80::1/1", IpScope.LINK_LOCAL],
      ["fd00::1/1", IpScope.PRIVATE],
      ["ff02::1/1", IpScope.MULTICAST],
      ["2001:db8::1/1", IpScope.GLOBAL],
    ];
    for (const [s, scope] of cases) expect(`${s} ${ipScope(A(s))}`).toBe(`${s} ${scope}`);
  });

  test("valid path addresses", () => {
    expect(isAddressValidForPath(A("10.0.0.1/9993"))).toBe(true);
    expect(isAddressValidForPath(A("8.8.8.8/9993"))).toBe(true);
    expect(isAddressValidForPath(A("127.0.0.1/9993"))).toBe(false);
    expect(isAddressValidForPath(A("127.0.0.1/9993"), true)).toBe(true);
    expect(isAddressValidForPath(A("169.254.0.1/9993"))).toBe(false);
    expect(isAddressValidForPath(A("2001:470::1/9993"))).toBe(false);
    expect(isAddressValidForPath(A("2001:471::1/9993"))).toBe(true);
  });

  test("rate-gate buckets group IPv4 by /24 and IPv6 by /48", () => {
    expect(networkBucket(A("1.2.3.4/1"), 16384)).toBe(networkBucket(A("1.2.3.200/2"), 16384));
    expect(networkBucket(A("2001:db8:1::1/1"), 16384)).toBe(networkBucket(A("2001:db8:1:ffff::9/1"), 16384));
    const buckets = new Set<number>();
    for (let i = 0; i < 200; i++) buckets.add(networkBucket(A(`1.2.${i}.4/1`), 16384));
    expect(buckets.size).toBeGreaterThan(190);
  });
});

describe("Path", () => {
  test("alive window, latency average, quality prefers private over global and live over dead", () => {
    const p = new Path(0, A("10.0.0.1/9993"));
    const g = new Path(0, A("8.8.8.8/9993"));
    p.lastIn = g.lastIn = 1000;
    expect(p.alive(1000 + PATH_ALIVE_TIMEOUT - 1)).toBe(true);
    expect(p.alive(1000 + PATH_ALIVE_TIMEOUT)).toBe(false);
    p.updateLatency(10);
    p.updateLatency(20);
    expect(p.latency).toBe(15);
    g.updateLatency(15);
    expect(p.quality(2000)).toBeLessThan(g.quality(2000));
    const dead = new Path(0, A("10.0.0.2/9993"));
    dead.latency = 1;
    dead.lastIn = 0;
    p.lastIn = 29_000;
    // A path silent past the alive window loses even to a slower live one.
    expect(p.quality(30_000)).toBeLessThan(dead.quality(30_000));
    expect(p.rateGateEcho(0)).toBe(true);
    expect(p.rateGateEcho(100)).toBe(false);
    expect(p.rateGateEcho(170)).toBe(true);
  });
});

describe("reply gating, unite gate, wait queues", () => {
  test("ExpectReply remembers recent request IDs and forgets overwritten ones", () => {
    const e = new ExpectReply();
    expect(e.isExpecting(0)).toBe(false);
    e.expect(0x12345678);
    expect(e.isExpecting(0x12345678)).toBe(true);
    expect(e.isExpecting(0x12345679)).toBe(false);
    // 32 more in the same bucket push it out.
    for (let i = 1; i <= 32; i++) e.expect(0x12345678 + i * 256);
    expect(e.isExpecting(0x12345678)).toBe(false);
    expect(e.isExpecting(0x12345678 + 32 * 256)).toBe(true);
  });

  test("UniteGate: once per 30 s per unordered pair", () => {
    const g = new UniteGate();
    expect(g.shouldUnite(0, 1, 2)).toBe(true);
    expect(g.shouldUnite(10, 2, 1)).toBe(false);
    expect(g.shouldUnite(10, 1, 3)).toBe(true);
    expect(g.shouldUnite(MIN_UNITE_INTERVAL, 1, 2)).toBe(true);
    g.clean(10 * MIN_UNITE_INTERVAL);
    expect(g.shouldUnite(10 * MIN_UNITE_INTERVAL, 1, 3)).toBe(true);
  });

  test("WaitQueue is a fixed ring with timeouts; WhoisRequests spaces retries 500 ms", () => {
    const q = new WaitQueue();
    const pkt = new Uint8Array(100).fill(3);
    for (let i = 0; i < WAIT_QUEUE_SLOTS + 5; i++) q.put(1000 + i, pkt, 0, 100, i);
    expect(q.count()).toBe(WAIT_QUEUE_SLOTS);
    expect(q.overflows).toBe(5);
    expect(q.slotsFor(1000)).toEqual([]);
    expect(q.slotsFor(1005).length).toBe(1);
    expect(q.expire(WAIT_QUEUE_TIMEOUT + 10)).toBe(6); // queued at t = 5..10
    expect(q.expire(WAIT_QUEUE_TIMEOUT + 100)).toBe(WAIT_QUEUE_SLOTS - 6);
    expect(q.put(1, new Uint8Array(20000), 0, 20000, 0)).toBe(false);
    const w = new WhoisRequests();
    expect(w.shouldSend(7, 0)).toBe(true);
    expect(w.shouldSend(7, 499)).toBe(false);
    expect(w.shouldSend(7, 500)).toBe(true);
    w.done(7);
    expect(w.outstanding).toBe(0);
  });
});

describe("EndpointCache", () => {
  test("same endpoint → same object; IPv4-mapped and zoned IPv6 handled; bounded", () => {
    const c = new EndpointCache(3);
    const a = c.get("10.0.0.1", 9993)!;
    expect(c.get("10.0.0.1", 9993)).toBe(a);
    expect(a.family).toBe(4);
    expect([...a.ip]).toEqual([10, 0, 0, 1]);
    expect(c.get("10.0.0.1", 9994)).not.toBe(a);
    const m = c.get("::ffff:1.2.3.4", 5)!;
    expect(m.family).toBe(4);
    expect([...m.ip]).toEqual([1, 2, 3, 4]);
    expect(c.get("fe80::1%eth0", 7)!.family).toBe(6);
    expect(c.get("not an ip", 1)).toBeNull();
    // Over the bound it starts over: a new object for a, still equal in value.
    const a2 = c.get("10.0.0.1", 9993)!;
    expect(a2).not.toBe(a);
    expect([...a2.ip]).toEqual([10, 0, 0, 1]);
  });

  test("alternating endpoints each get their own object (the last-answer shortcut keys on both)", () => {
    const c = new EndpointCache();
    const a = c.get("10.0.0.1", 9993)!;
    const b = c.get("10.0.0.1", 9994)!;
    const d = c.get("10.0.0.2", 9993)!;
    for (let i = 0; i < 3; i++) {
      expect(c.get("10.0.0.1", 9993)).toBe(a);
      expect(c.get("10.0.0.1", 9993)).toBe(a);
      expect(c.get("10.0.0.1", 9994)).toBe(b);
      expect(c.get("10.0.0.2", 9993)).toBe(d);
    }
    expect(b.port).toBe(9994);
    expect([...d.ip]).toEqual([10, 0, 0, 2]);
    expect(c.get("10.0.0.1", 9993)).toBe(a);
    expect(c.get("bad", 9993)).toBeNull();
    expect(c.get("10.0.0.1", 9993)).toBe(a);
  });
});
