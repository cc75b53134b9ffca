import { describe, expect, test } from "bun:test";
import { ACK, establishActive, establishPassive, inject, PEER, PEER_ISS, recorder, rig, RST, SYN, US } from "./harness.ts";
import { TcpError } from "../../../src/stack/tcp/index.ts";

const synAck = (ack: number, extra: Record<string, unknown> = {}) => ({
  srcPort: 80,
  dstPort: 4000,
  seq: PEER_ISS,
  ack,
  flags: SYN | ACK,
  mss: 1460,
  ...extra,
});

describe("active open (SYN_SENT)", () => {
  test("SYN carries MSS from the MTU, window scale, SACK-permitted and a timestamp", () => {
    const r = rig();
    r.ip.mtu = 2800;
    r.tcp.connect(PEER, 80, { localPort: 4000 });
    const s = r.ip.one();
    expect([s.flags, s.seq, s.ack, s.mss, s.sackPermitted]).toEqual([SYN, 1000, 0, 2760, true]);
    expect(s.wscale).toBe(3); // 256 KiB buffer needs shift 3
    expect(s.ts).not.toBeNull();
    expect(s.ts![1]).toBe(0);
    expect(s.window).toBe(65535);
  });

  test("options can be turned off", () => {
    const r = rig({ windowScaling: false, sack: false, timestamps: false });
    r.tcp.connect(PEER, 80, { localPort: 4000 });
    const s = r.ip.one();
    expect([s.wscale, s.sackPermitted, s.ts]).toEqual([-1, false, null]);
  });

  test("SYN-ACK completes: ACK sent, onConnect raised, state ESTABLISHED", () => {
    const r = rig();
    const ev = recorder();
    const s = r.tcp.connect(PEER, 80, { localPort: 4000, handler: ev.handler });
    r.ip.take();
    inject(r.tcp, synAck(1001));
    const a = r.ip.one();
    expect([a.flags, a.seq, a.ack]).toEqual([ACK, 1001, PEER_ISS + 1]);
    expect(s.stateName).toBe("ESTABLISHED");
    expect(ev.log).toEqual(["connect"]);
    expect(s.connected).toBe(true);
  });

  test("SYN is retransmitted with exponential backoff (1s, 2s, 4s)", () => {
    const r = rig();
    r.tcp.connect(PEER, 80, { localPort: 4000 });
    r.ip.take();
    expect(r.tcp.nextDeadline()).toBe(r.clock.now() + 1000);
    r.advance(999);
    expect(r.ip.take()).toHaveLength(0);
    r.advance(1);
    expect(r.ip.one().flags).toBe(SYN);
    r.advance(1999);
    expect(r.ip.take()).toHaveLength(0);
    r.advance(1);
    expect(r.ip.one().seq).toBe(1000);
    r.advance(4000);
    expect(r.ip.one().flags).toBe(SYN);
  });

  test("connect times out with ETIMEDOUT after synRetries", () => {
    const r = rig({ synRetries: 2 });
    const ev = recorder();
    const s = r.tcp.connect(PEER, 80, { localPort: 4000, handler: ev.handler });
    r.ip.take();
    r.advance(1000);
    r.advance(2000);
    expect(r.ip.take()).toHaveLength(2);
    r.advance(4000);
    expect(s.error).toBe("ETIMEDOUT");
    expect(s.stateName).toBe("CLOSED");
    expect(ev.log).toEqual(["error:ETIMEDOUT", "close"]);
    expect(r.tcp.nextDeadline()).toBe(Infinity);
  });

  test("RST+ACK acknowledging the SYN refuses the connection", () => {
    const r = rig();
    const ev = recorder();
    const s = r.tcp.connect(PEER, 80, { localPort: 4000, handler: ev.handler });
    r.ip.take();
    inject(r.tcp, { srcPort: 80, dstPort: 4000, seq: 0, ack: 1001, flags: RST | ACK });
    expect(s.error).toBe("ECONNREFUSED");
    expect(ev.log).toEqual(["error:ECONNREFUSED", "close"]);
    expect(r.ip.take()).toHaveLength(0);
  });

  test("RST without ACK in SYN_SENT is ignored (RFC 5961)", () => {
    const r = rig();
    const s = r.tcp.connect(PEER, 80, { localPort: 4000 });
    r.ip.take();
    inject(r.tcp, { srcPort: 80, dstPort: 4000, seq: 0, flags: RST });
    expect(s.stateName).toBe("SYN_SENT");
  });

  test("RST with a wrong ACK in SYN_SENT is ignored", () => {
    const r = rig();
    const s = r.tcp.connect(PEER, 80, { localPort: 4000 });
    r.ip.take();
    inject(r.tcp, { srcPort: 80, dstPort: 4000, seq: 0, ack: 5, flags: RST | ACK });
    expect(s.stateName).toBe("SYN_SENT");
    expect(r.ip.take()).toHaveLength(0);
  });

  test("SYN-ACK with an unacceptable ACK draws a RST and keeps SYN_SENT", () => {
    const r = rig();
    const s = r.tcp.connect(PEER, 80, { localPort: 4000 });
    r.ip.take();
    inject(r.tcp, synAck(7777));
    const rst = r.ip.one();
    expect([rst.flags, rst.seq]).toEqual([RST, 7777]);
    expect(s.stateName).toBe("SYN_SENT");
  });

  test("plain ACK in SYN_SENT (no SYN) is dropped", () => {
    const r = rig();
    const s = r.tcp.connect(PEER, 80, { localPort: 4000 });
    r.ip.take();
    inject(r.tcp, { srcPort: 80, dstPort: 4000, seq: PEER_ISS, ack: 1001, flags: ACK });
    expect(s.stateName).toBe("SYN_SENT");
    expect(r.ip.take()).toHaveLength(0);
  });

  test("simultaneous open: SYN in SYN_SENT -> SYN_RECEIVED (SYN-ACK) -> ESTABLISHED on ACK", () => {
    const r = rig();
    const ev = recorder();
    const s = r.tcp.connect(PEER, 80, { localPort: 4000, handler: ev.handler });
    r.ip.take();
    inject(r.tcp, { srcPort: 80, dstPort: 4000, seq: PEER_ISS, flags: SYN, mss: 1000 });
    const sa = r.ip.one();
    expect([sa.flags, sa.seq, sa.ack]).toEqual([SYN | ACK, 1000, PEER_ISS + 1]);
    expect(s.stateName).toBe("SYN_RECEIVED");
    inject(r.tcp, { srcPort: 80, dstPort: 4000, seq: PEER_ISS + 1, ack: 1001, flags: ACK });
    expect(s.stateName).toBe("ESTABLISHED");
    expect(ev.log).toEqual(["connect"]);
    expect(s.mss).toBe(1000);
  });

  test("simultaneous open where the peer's SYN-ACK arrives in SYN_RECEIVED", () => {
    const r = rig();
    const s = r.tcp.connect(PEER, 80, { localPort: 4000 });
    inject(r.tcp, { srcPort: 80, dstPort: 4000, seq: PEER_ISS, flags: SYN });
    r.ip.take();
    inject(r.tcp, synAck(1001));
    expect(s.stateName).toBe("ESTABLISHED");
  });

  test("connect without a route fails synchronously with ENETUNREACH", () => {
    const r = rig();
    r.ip.routable = false;
    expect(() => r.tcp.connect(PEER, 80)).toThrow(TcpError);
    try {
      r.tcp.connect(PEER, 80);
    } catch (e) {
      expect((e as TcpError).code).toBe("ENETUNREACH");
    }
  });

  test("ephemeral ports are distinct and in range", () => {
    const r = rig();
    const a = r.tcp.connect(PEER, 80);
    const b = r.tcp.connect(PEER, 80);
    expect(a.localPort).not.toBe(b.localPort);
    for (const s of [a, b]) {
      expect(s.localPort).toBeGreaterThanOrEqual(32768);
      expect(s.localPort).toBeLessThanOrEqual(60999);
      expect(s.localAddr).toBe(US);
    }
  });

  test("an explicit local port already used for the same peer is EADDRINUSE", () => {
    const r = rig();
    r.tcp.connect(PEER, 80, { localPort: 5555 });
    expect(() => r.tcp.connect(PEER, 80, { localPort: 5555 })).toThrow("EADDRINUSE");
  });

  test("data queued before the handshake completes goes out right after it", () => {
    const r = rig();
    const s = r.tcp.connect(PEER, 80, { localPort: 4000 });
    r.ip.take();
    expect(s.send(new Uint8Array(100), 0, 100)).toBe(100);
    expect(r.ip.take()).toHaveLength(0);
    inject(r.tcp, synAck(1001));
    const out = r.ip.take();
    expect(out).toHaveLength(1);
    expect([out[0]!.seq, out[0]!.payload.length, out[0]!.ack]).toEqual([1001, 100, PEER_ISS + 1]);
  });
});

describe("negotiation", () => {
  test("MSS: the smaller of peer MSS and our MTU", () => {
    const r = rig();
    const s = establishActive(r, { mss: 1000 });
    expect(s.mss).toBe(1000);
    const r2 = rig();
    r2.ip.mtu = 1280;
    expect(establishActive(r2, { mss: 1460 }).mss).toBe(1240);
  });

  test("MSS defaults to 536 when the peer sends none", () => {
    const r = rig();
    const s = r.tcp.connect(PEER, 80, { localPort: 4000 });
    r.ip.take();
    inject(r.tcp, { srcPort: 80, dstPort: 4000, seq: PEER_ISS, ack: 1001, flags: SYN | ACK });
    expect(s.mss).toBe(536);
  });

  test("timestamps reduce the effective MSS by 12", () => {
    expect(establishActive(rig(), { ts: true, mss: 1460 }).mss).toBe(1448);
  });

  test("window scale used only if both sides offer it", () => {
    const r = rig();
    const s = establishActive(r, { wscale: 2 });
    s.send(new Uint8Array(10), 0, 10);
    const d = r.ip.one();
    expect(d.window).toBe((256 * 1024) >> 3); // our shift 3 applied to our window
    const r2 = rig();
    const s2 = establishActive(r2, {});
    s2.send(new Uint8Array(10), 0, 10);
    expect(r2.ip.one().window).toBe(65535); // unscaled, clamped
  });

  test("peer window scale multiplies its advertised window", () => {
    const r = rig();
    const s = establishActive(r, { wscale: 4, window: 100 }); // SYN-ACK window never scaled
    inject(r.tcp, { srcPort: 80, dstPort: 4000, seq: PEER_ISS + 1, ack: 1001, flags: ACK, window: 300 }); // 300<<4 = 4800
    s.nodelay = true;
    s.send(new Uint8Array(5000), 0, 5000);
    const out = r.ip.take();
    // 3 full segments fit in 4800; the 420-byte remainder of the window is below SWS threshold
    expect(out.map((x) => x.payload.length)).toEqual([1460, 1460, 1460]);
  });

  test("SACK-permitted only when both sides allow it", () => {
    const r = rig({ sack: false });
    r.tcp.listen(80);
    inject(r.tcp, { seq: PEER_ISS, flags: SYN, sackPermitted: true, mss: 1460 });
    expect(r.ip.one().sackPermitted).toBe(false);
  });

  test("SYN-ACK echoes only the options the peer offered", () => {
    const r = rig();
    r.tcp.listen(80);
    inject(r.tcp, { seq: PEER_ISS, flags: SYN, mss: 1400 });
    const sa = r.ip.one();
    expect([sa.flags, sa.wscale, sa.sackPermitted, sa.ts, sa.mss]).toEqual([SYN | ACK, -1, false, null, 1460]);
  });

  test("SYN-ACK echoes the peer's timestamp", () => {
    const r = rig();
    r.tcp.listen(80);
    inject(r.tcp, { seq: PEER_ISS, flags: SYN, ts: [4242, 0], sackPermitted: true, wscale: 7 });
    const sa = r.ip.one();
    expect(sa.ts![1]).toBe(4242);
    expect(sa.sackPermitted).toBe(true);
    expect(sa.wscale).toBe(3);
  });
});

describe("passive open (LISTEN / SYN_RECEIVED)", () => {
  test("SYN -> SYN-ACK; ACK -> accept queue; onAcceptable raised once", () => {
    const r = rig();
    let raised = 0;
    const l = r.tcp.listen(80, { handler: { onAcceptable: () => raised++ } });
    inject(r.tcp, { seq: PEER_ISS, flags: SYN, mss: 1460 });
    const sa = r.ip.one();
    expect([sa.flags, sa.seq, sa.ack, sa.srcPort, sa.dstPort]).toEqual([SYN | ACK, 1000, PEER_ISS + 1, 80, 4000]);
    expect(l.pending).toBe(0);
    inject(r.tcp, { seq: PEER_ISS + 1, ack: 1001, flags: ACK });
    expect(l.pending).toBe(1);
    expect(raised).toBe(1);
    const s = l.accept()!;
    expect([s.localPort, s.remotePort, s.remoteAddr, s.stateName]).toEqual([80, 4000, PEER, "ESTABLISHED"]);
    expect(l.pending).toBe(0);
    expect(l.accept()).toBeNull();
  });

  test("SYN to a port without listener is answered by RST+ACK", () => {
    const r = rig();
    inject(r.tcp, { seq: PEER_ISS, flags: SYN, dstPort: 81 });
    const rst = r.ip.one();
    expect([rst.flags, rst.seq, rst.ack]).toEqual([RST | ACK, 0, PEER_ISS + 1]);
  });

  test("ACK to a port without connection is answered by RST with seq = ack", () => {
    const r = rig();
    inject(r.tcp, { seq: 77, ack: 999, flags: ACK, dstPort: 81 });
    const rst = r.ip.one();
    expect([rst.flags, rst.seq]).toEqual([RST, 999]);
  });

  test("RST to nowhere is not answered", () => {
    const r = rig();
    inject(r.tcp, { seq: 77, flags: RST, dstPort: 81 });
    expect(r.ip.take()).toHaveLength(0);
  });

  test("stray ACK to a listener draws RST", () => {
    const r = rig();
    r.tcp.listen(80);
    inject(r.tcp, { seq: 5, ack: 12345, flags: ACK });
    expect(r.ip.one().flags).toBe(RST);
  });

  test("SYN-ACK to a listener draws RST", () => {
    const r = rig();
    r.tcp.listen(80);
    inject(r.tcp, { seq: 5, ack: 12345, flags: SYN | ACK });
    const rst = r.ip.one();
    expect([rst.flags, rst.seq]).toEqual([RST, 12345]);
  });

  test("retransmitted SYN in SYN_RECEIVED re-sends the SYN-ACK", () => {
    const r = rig();
    r.tcp.listen(80);
    inject(r.tcp, { seq: PEER_ISS, flags: SYN });
    r.ip.take();
    inject(r.tcp, { seq: PEER_ISS, flags: SYN });
    const sa = r.ip.one();
    expect([sa.flags, sa.seq]).toEqual([SYN | ACK, 1000]);
  });

  test("SYN-ACK is retransmitted on timeout and the embryo dies after synRetries", () => {
    const r = rig({ synRetries: 1 });
    const l = r.tcp.listen(80);
    inject(r.tcp, { seq: PEER_ISS, flags: SYN });
    r.ip.take();
    r.advance(1000);
    expect(r.ip.one().flags).toBe(SYN | ACK);
    r.advance(2000);
    expect(r.ip.take()).toHaveLength(0);
    expect(r.tcp.connectionCount).toBe(0);
    expect(l.pending).toBe(0);
  });

  test("ACK with a wrong acknowledgment number in SYN_RECEIVED draws RST", () => {
    const r = rig();
    const l = r.tcp.listen(80);
    inject(r.tcp, { seq: PEER_ISS, flags: SYN });
    r.ip.take();
    inject(r.tcp, { seq: PEER_ISS + 1, ack: 5555, flags: ACK });
    const rst = r.ip.one();
    expect([rst.flags, rst.seq]).toEqual([RST, 5555]);
    expect(l.pending).toBe(0);
  });

  test("RST in SYN_RECEIVED silently drops the embryo", () => {
    const r = rig();
    const l = r.tcp.listen(80);
    inject(r.tcp, { seq: PEER_ISS, flags: SYN });
    r.ip.take();
    inject(r.tcp, { seq: PEER_ISS + 1, flags: RST });
    expect(r.tcp.connectionCount).toBe(0);
    inject(r.tcp, { seq: PEER_ISS + 1, ack: 1001, flags: ACK });
    expect(l.pending).toBe(0);
    expect(r.ip.one().flags).toBe(RST);
  });

  test("data on the handshake-completing ACK is delivered", () => {
    const r = rig();
    const l = r.tcp.listen(80);
    inject(r.tcp, { seq: PEER_ISS, flags: SYN });
    r.ip.take();
    inject(r.tcp, { seq: PEER_ISS + 1, ack: 1001, flags: ACK, payload: new Uint8Array([1, 2, 3]) });
    const s = l.accept()!;
    expect(s.readableLength).toBe(3);
  });

  test("listen twice on a port is EADDRINUSE; after close it works again", () => {
    const r = rig();
    const l = r.tcp.listen(80);
    expect(() => r.tcp.listen(80)).toThrow("EADDRINUSE");
    l.close();
    expect(r.tcp.listen(80).localPort).toBe(80);
  });

  test("closing a listener resets waiting connections", () => {
    const r = rig();
    const l = r.tcp.listen(80);
    inject(r.tcp, { seq: PEER_ISS, flags: SYN });
    inject(r.tcp, { seq: PEER_ISS + 1, ack: 1001, flags: ACK });
    r.ip.take();
    l.close();
    const rst = r.ip.one();
    expect(rst.flags & RST).toBe(RST);
    expect(r.tcp.connectionCount).toBe(0);
  });
});

describe("listen backlog and SYN-flood protection", () => {
  function synFrom(r: ReturnType<typeof rig>, port: number) {
    inject(r.tcp, { srcPort: port, seq: PEER_ISS, flags: SYN, mss: 1460 });
  }
  test("accept queue full: further SYNs are dropped (counted)", () => {
    const r = rig();
    const l = r.tcp.listen(80, { backlog: 2 });
    for (const p of [4000, 4001]) {
      synFrom(r, p);
      inject(r.tcp, { srcPort: p, seq: PEER_ISS + 1, ack: 1001, flags: ACK });
    }
    r.ip.take();
    expect(l.pending).toBe(2);
    synFrom(r, 4002);
    expect(r.ip.take()).toHaveLength(0);
    expect(r.tcp.stats.listenOverflows).toBe(1);
    l.accept();
    synFrom(r, 4002);
    expect(r.ip.one().flags).toBe(SYN | ACK);
  });

  test("SYN queue full: SYN cookies answer without keeping state", () => {
    const r = rig({ synQueueSize: 2 });
    r.tcp.listen(80, { backlog: 100 });
    for (const p of [5000, 5001, 5002, 5003]) synFrom(r, p);
    const out = r.ip.take();
    expect(out).toHaveLength(4);
    expect(out.every((s) => s.flags === (SYN | ACK))).toBe(true);
    expect(r.tcp.connectionCount).toBe(2);
    expect(r.tcp.stats.synCookiesSent).toBe(2);
    expect(out[2]!.ts).toBeNull(); // cookies carry no options beyond MSS
  });

  test("a valid cookie ACK creates an established connection", () => {
    const r = rig({ synQueueSize: 1 });
    const l = r.tcp.listen(80, { backlog: 100 });
    synFrom(r, 5000);
    synFrom(r, 5001);
    const cookieSynAck = r.ip.take()[1]!;
    inject(r.tcp, { srcPort: 5001, seq: PEER_ISS + 1, ack: cookieSynAck.seq + 1, flags: ACK, payload: new Uint8Array([7]) });
    expect(l.pending).toBe(1);
    const s = l.accept()!;
    expect([s.remotePort, s.stateName, s.readableLength, s.mss]).toEqual([5001, "ESTABLISHED", 1, 1460]);
    expect(r.tcp.stats.synCookiesAccepted).toBe(1);
  });

  test("cookies keep window scale, SACK and timestamps via the timestamp echo (like Linux)", () => {
    const r = rig({ synQueueSize: 1 });
    const l = r.tcp.listen(80, { backlog: 100 });
    synFrom(r, 5000);
    inject(r.tcp, { srcPort: 5001, seq: PEER_ISS, flags: SYN, mss: 1460, wscale: 5, sackPermitted: true, ts: [777, 0] });
    const sa = r.ip.take()[1]!;
    expect(sa.ts).not.toBeNull();
    expect(sa.ts![1]).toBe(777);
    expect(sa.ts![0] & 63).toBe(5 | 16); // peer shift 5, SACK bit
    expect(sa.sackPermitted).toBe(true);
    expect(sa.wscale).toBeGreaterThanOrEqual(0);
    inject(r.tcp, { srcPort: 5001, seq: PEER_ISS + 1, ack: sa.seq + 1, flags: ACK, window: 100, ts: [778, sa.ts![0]] });
    const s = l.accept()!;
    const i = s.info();
    expect([i.windowScaling, i.sack, i.timestamps, i.sndWnd, i.mss]).toEqual([true, true, true, 100 << 5, 1448]);
    expect(r.tcp.stats.synCookiesAccepted).toBe(1);
  });

  test("a forged cookie ACK is answered with RST", () => {
    const r = rig({ synQueueSize: 1 });
    const l = r.tcp.listen(80);
    inject(r.tcp, { srcPort: 6000, seq: 1, ack: 0x12345678, flags: ACK });
    expect(r.ip.one().flags).toBe(RST);
    expect(l.pending).toBe(0);
  });

  test("while cookies are in use, an ACK that overtook the handshake ACK is dropped, not reset", () => {
    const r = rig({ synQueueSize: 1 });
    const l = r.tcp.listen(80, { backlog: 100 });
    synFrom(r, 5000);
    synFrom(r, 5001);
    const cookieSynAck = r.ip.take()[1]!;
    // second data segment (sequence already advanced) arrives before the first one
    inject(r.tcp, { srcPort: 5001, seq: PEER_ISS + 1 + 100, ack: cookieSynAck.seq + 1, flags: ACK, payload: new Uint8Array(10) });
    expect(r.ip.take()).toHaveLength(0);
    expect(l.pending).toBe(0);
    inject(r.tcp, { srcPort: 5001, seq: PEER_ISS + 1, ack: cookieSynAck.seq + 1, flags: ACK, payload: new Uint8Array(100) });
    expect(l.pending).toBe(1);
    expect(l.accept()!.readableLength).toBe(100);
  });

  test("without cookies a full SYN queue drops SYNs", () => {
    const r = rig({ synQueueSize: 1, synCookies: false });
    r.tcp.listen(80, { backlog: 100 });
    synFrom(r, 5000);
    synFrom(r, 5001);
    expect(r.ip.take()).toHaveLength(1);
  });

  test("connection limit refuses new SYNs", () => {
    const r = rig({ maxConnections: 1 });
    r.tcp.listen(80, { backlog: 10 });
    synFrom(r, 5000);
    synFrom(r, 5001);
    expect(r.ip.take()).toHaveLength(1);
    expect(r.tcp.stats.connectionsRefusedLimit).toBe(1);
    expect(() => r.tcp.connect(PEER, 99)).toThrow("EMFILE");
  });

  test("memory limit: rings are charged when allocated; beyond the budget send fails (ENOBUFS) and data is not taken", () => {
    const r = rig({ maxBufferBytes: 100_000, recvBufferSize: 40_000, sendBufferSize: 40_000 });
    const s1 = establishActive(r);
    expect(s1.send(new Uint8Array(10), 0, 10)).toBe(10); // tx ring: 40 000
    inject(r.tcp, { srcPort: 80, dstPort: 4000, seq: PEER_ISS + 1, ack: 1011, flags: ACK, payload: new Uint8Array(5) }); // rx: 40 000
    r.ip.take();
    const s2 = r.tcp.connect(PEER, 81, { localPort: 4001 });
    const syn = r.ip.one();
    inject(r.tcp, { srcPort: 81, dstPort: 4001, seq: 7000, ack: syn.seq + 1, flags: SYN | ACK, mss: 1460 });
    r.ip.take();
    expect(s2.stateName).toBe("ESTABLISHED");
    expect(() => s2.send(new Uint8Array(10), 0, 10)).toThrow("ENOBUFS");
    inject(r.tcp, { srcPort: 81, dstPort: 4001, seq: 7001, ack: syn.seq + 1, flags: ACK, payload: new Uint8Array(5) });
    expect(s2.readableLength).toBe(0);
    s1.abort(); // returns 80 000 bytes to the budget
    expect(s2.send(new Uint8Array(10), 0, 10)).toBe(10);
  });

  test("established passive connections count against the limit until released", () => {
    const r = rig();
    establishPassive(r);
    expect(r.tcp.connectionCount).toBe(1);
  });
});

describe("window scaling edge cases", () => {
  test("the window in a SYN-ACK is not scaled even when window scaling is negotiated", () => {
    const r = rig();
    const s = establishActive(r, { wscale: 7, window: 2048 });
    s.nodelay = true;
    s.send(new Uint8Array(10_000), 0, 10_000);
    // 2048 bytes of window: one full segment; the 588-byte rest waits (sender SWS avoidance)
    expect(r.ip.take().map((x) => x.payload.length)).toEqual([1460]);
  });
});
