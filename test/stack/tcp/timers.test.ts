import { describe, expect, test } from "bun:test";
import { consola } from "consola";
import { ACK, bytes, establishActive, inject, PEER, PEER_ISS, recorder, rig, RST, SYN } from "./harness.ts";

const P = { srcPort: 80, dstPort: 4000 };
const pseq = PEER_ISS + 1;

describe("keepalive", () => {
  test("off by default: an idle connection sends nothing and has no timer", () => {
    const r = rig();
    establishActive(r);
    expect(r.tcp.nextDeadline()).toBe(Infinity);
    r.advance(10 * 3600_000);
    expect(r.ip.take()).toHaveLength(0);
  });

  test("probe after the idle time: seq = snd.una - 1, no data", () => {
    const r = rig();
    const s = establishActive(r);
    s.setKeepalive(true, 10_000, 1000, 3);
    r.advance(9_999);
    expect(r.ip.take()).toHaveLength(0);
    r.advance(1);
    const p = r.ip.one();
    expect([p.flags, p.seq, p.payload.length, p.ack]).toEqual([ACK, 1000, 0, pseq]);
  });

  test("an answer resets the probe count; the connection stays up", () => {
    const r = rig();
    const s = establishActive(r);
    s.setKeepalive(true, 10_000, 1000, 2);
    r.advance(10_000);
    r.ip.take();
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK });
    r.advance(1000);
    expect(r.ip.take()).toHaveLength(0); // idle timer restarted from the answer
    r.advance(9000);
    expect(r.ip.take()).toHaveLength(1);
    expect(s.stateName).toBe("ESTABLISHED");
  });

  test("unanswered probes: RST and ETIMEDOUT after the count", () => {
    const r = rig();
    const ev = recorder();
    const s = establishActive(r, { handler: ev.handler });
    ev.log.length = 0;
    s.setKeepalive(true, 10_000, 1000, 3);
    r.advance(10_000);
    r.advance(1000);
    r.advance(1000);
    expect(r.ip.take()).toHaveLength(3);
    r.advance(1000);
    expect(r.ip.one().flags & RST).toBe(RST);
    expect(s.error).toBe("ETIMEDOUT");
    expect(ev.log).toEqual(["error:ETIMEDOUT", "close"]);
  });

  test("traffic postpones the first probe", () => {
    const r = rig();
    const s = establishActive(r);
    s.setKeepalive(true, 10_000, 1000, 3);
    r.advance(6000);
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK, payload: bytes(1) });
    r.advance(4000);
    expect(r.ip.take().filter((x) => x.seq === 1000)).toHaveLength(0);
    r.advance(6000);
    expect(r.ip.take().filter((x) => x.seq === 1000)).toHaveLength(1);
  });

  test("disabling keepalive cancels its timer", () => {
    const r = rig();
    const s = establishActive(r);
    s.setKeepalive(true, 10_000);
    s.setKeepalive(false);
    r.advance(20_000);
    expect(r.ip.take()).toHaveLength(0);
  });
});

describe("poll / nextDeadline", () => {
  test("nextDeadline is the earliest timer over all connections", () => {
    const r = rig();
    r.tcp.connect(PEER, 80, { localPort: 4000 });
    r.clock.advance(300);
    r.tcp.connect(PEER, 81, { localPort: 4001 });
    expect(r.tcp.nextDeadline()).toBe(r.clock.now() - 300 + 1000);
  });

  test("poll before the deadline does nothing", () => {
    const r = rig();
    r.tcp.connect(PEER, 80, { localPort: 4000 });
    r.ip.take();
    r.clock.advance(500);
    r.tcp.poll();
    expect(r.ip.take()).toHaveLength(0);
  });

  test("poll long after several deadlines runs each due timer once", () => {
    const r = rig();
    r.tcp.connect(PEER, 80, { localPort: 4000 });
    r.tcp.connect(PEER, 81, { localPort: 4001 });
    r.ip.take();
    r.clock.advance(1500);
    r.tcp.poll();
    expect(r.ip.take().map((x) => x.flags)).toEqual([SYN, SYN]);
  });

  test("delayed-ACK timer shows up in nextDeadline", () => {
    const r = rig();
    establishActive(r);
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK, payload: bytes(10) });
    expect(r.tcp.nextDeadline()).toBe(r.clock.now() + 40);
  });
});

describe("ICMP errors", () => {
  function quoted(seq: number, sport = 4000, dport = 80): Uint8Array {
    const q = new Uint8Array(28);
    q[0] = 0x45;
    q[9] = 6;
    q.set([10, 0, 0, 1], 12);
    q.set([10, 0, 0, 2], 16);
    new DataView(q.buffer).setUint16(20, sport);
    new DataView(q.buffer).setUint16(22, dport);
    new DataView(q.buffer).setUint32(24, seq);
    return q;
  }

  test("port unreachable during connect -> ECONNREFUSED", () => {
    const r = rig();
    const ev = recorder();
    const s = r.tcp.connect(PEER, 80, { localPort: 4000, handler: ev.handler });
    r.tcp.onIcmpError(3, 3, 0, quoted(1000), 0, 28);
    expect(s.error).toBe("ECONNREFUSED");
    expect(ev.log).toEqual(["error:ECONNREFUSED", "close"]);
  });

  test("host unreachable during connect -> EHOSTUNREACH", () => {
    const r = rig();
    const s = r.tcp.connect(PEER, 80, { localPort: 4000 });
    r.tcp.onIcmpError(3, 1, 0, quoted(1000), 0, 28);
    expect(s.error).toBe("EHOSTUNREACH");
  });

  test("net unreachable during connect -> ENETUNREACH", () => {
    const r = rig();
    const s = r.tcp.connect(PEER, 80, { localPort: 4000 });
    r.tcp.onIcmpError(3, 0, 0, quoted(1000), 0, 28);
    expect(s.error).toBe("ENETUNREACH");
  });

  test("an ICMP error quoting a sequence number outside the window is ignored (RFC 5927)", () => {
    const r = rig();
    const s = r.tcp.connect(PEER, 80, { localPort: 4000 });
    r.tcp.onIcmpError(3, 3, 0, quoted(123456), 0, 28);
    expect(s.stateName).toBe("SYN_SENT");
  });

  test("an ICMP error for an unknown connection or a truncated quote is ignored", () => {
    const r = rig();
    const s = r.tcp.connect(PEER, 80, { localPort: 4000 });
    r.tcp.onIcmpError(3, 3, 0, quoted(1000, 4001), 0, 28);
    r.tcp.onIcmpError(3, 3, 0, quoted(1000), 0, 24);
    expect(s.stateName).toBe("SYN_SENT");
  });

  test("unreachable on an established connection is soft (no abort)", () => {
    const r = rig();
    const s = establishActive(r);
    s.send(bytes(10), 0, 10);
    r.tcp.onIcmpError(3, 3, 0, quoted(1001), 0, 28);
    expect([s.stateName, s.error]).toEqual(["ESTABLISHED", null]);
  });

  test("fragmentation needed lowers the MSS and resends smaller segments", () => {
    const r = rig();
    const s = establishActive(r);
    s.nodelay = true;
    s.send(bytes(1460), 0, 1460);
    r.ip.take();
    r.tcp.onIcmpError(3, 4, 1000, quoted(1001), 0, 28);
    expect(s.mss).toBe(960);
    const out = r.ip.take();
    expect(out.map((x) => [x.seq, x.payload.length])).toEqual([[1001, 960], [1961, 500]]);
  });

  test("fragmentation needed with an absurd MTU is ignored", () => {
    const r = rig();
    const s = establishActive(r);
    s.send(bytes(100), 0, 100);
    r.tcp.onIcmpError(3, 4, 20, quoted(1001), 0, 28);
    expect(s.mss).toBe(1460);
  });
});

describe("handler errors", () => {
  test("a throwing handler does not escape onIpv4 and other sockets still get their events", () => {
    const r = rig();
    const log: string[] = [];
    const a = establishActive(r, { handler: { onReadable: () => { throw new Error("app bug"); } } });
    void a;
    const level = consola.level;
    consola.level = -999; // the error is logged on purpose; keep the test output clean
    try {
      expect(() => inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK, payload: bytes(3) })).not.toThrow();
    } finally {
      consola.level = level;
    }
    expect(r.tcp.stats.handlerErrors).toBe(1);
    // a second connection (different peer port) keeps working
    const s2 = r.tcp.connect(PEER, 81, { localPort: 4001, handler: { onConnect: () => log.push("connect") } });
    const syn = r.ip.take()[0]!;
    inject(r.tcp, { srcPort: 81, dstPort: 4001, seq: 9000, ack: syn.seq + 1, flags: SYN | ACK, mss: 1460 });
    expect(s2.stateName).toBe("ESTABLISHED");
    expect(log).toEqual(["connect"]);
  });
});

describe("info()", () => {
  test("reports negotiated options, windows and queues", () => {
    const r = rig();
    const s = establishActive(r, { sack: true, ts: true, wscale: 2, window: 1000 });
    s.nodelay = true;
    s.send(bytes(300), 0, 300);
    const i = s.info();
    expect([i.state, i.sack, i.timestamps, i.windowScaling, i.congestion]).toEqual(["ESTABLISHED", true, true, true, "cubic"]);
    expect([i.mss, i.inFlight, i.sendQueued, i.sndWnd, i.recvQueued]).toEqual([1448, 300, 300, 1000, 0]);
    expect(i.cwnd).toBe(10 * 1448);
    expect(i.ssthresh).toBe(Infinity);
  });
});

describe("destroy()", () => {
  test("resets every connection, closes listeners, leaves no timers", () => {
    const r = rig();
    const ev = recorder();
    const s = establishActive(r, { handler: ev.handler });
    ev.log.length = 0;
    r.tcp.listen(80);
    r.tcp.connect(PEER, 99, { localPort: 4002 });
    r.ip.take();
    r.tcp.destroy();
    const out = r.ip.take();
    expect(out.filter((x) => x.flags & RST)).toHaveLength(1); // the SYN_SENT one needs no RST
    expect(s.stateName).toBe("CLOSED");
    expect(r.tcp.connectionCount).toBe(0);
    expect(r.tcp.nextDeadline()).toBe(Infinity);
    expect(ev.log).toEqual(["close"]);
    expect(r.tcp.listen(80).localPort).toBe(80);
  });
});
