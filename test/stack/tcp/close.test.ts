import { describe, expect, test } from "bun:test";
import { ACK, bytes, establishActive, establishPassive, FIN, inject, PEER_ISS, recorder, rig, RST, SYN, type Rig } from "./harness.ts";

const P = { srcPort: 80, dstPort: 4000 };
const pseq = PEER_ISS + 1;

describe("active close", () => {
  test("FIN_WAIT_1 -> FIN_WAIT_2 -> TIME_WAIT -> CLOSED after 2*MSL", () => {
    const r = rig();
    const ev = recorder();
    const s = establishActive(r, { handler: ev.handler });
    ev.log.length = 0;
    s.shutdown("write");
    const fin = r.ip.one();
    expect([fin.flags, fin.seq, fin.ack]).toEqual([FIN | ACK, 1001, pseq]);
    expect(s.stateName).toBe("FIN_WAIT_1");
    inject(r.tcp, { ...P, seq: pseq, ack: 1002, flags: ACK });
    expect(s.stateName).toBe("FIN_WAIT_2");
    inject(r.tcp, { ...P, seq: pseq, ack: 1002, flags: FIN | ACK });
    expect(s.stateName).toBe("TIME_WAIT");
    const a = r.ip.one();
    expect([a.flags, a.seq, a.ack]).toEqual([ACK, 1002, pseq + 1]);
    expect(s.peerClosed).toBe(true);
    r.advance(59_999);
    expect(s.stateName).toBe("TIME_WAIT");
    r.advance(1);
    expect(s.stateName).toBe("CLOSED");
    expect(r.tcp.connectionCount).toBe(0);
    expect(ev.log).toEqual(["readable", "close"]);
  });

  test("FIN+ACK acknowledging our FIN in FIN_WAIT_1 goes straight to TIME_WAIT", () => {
    const r = rig();
    const s = establishActive(r);
    s.shutdown("write");
    r.ip.take();
    inject(r.tcp, { ...P, seq: pseq, ack: 1002, flags: FIN | ACK });
    expect(s.stateName).toBe("TIME_WAIT");
    expect(r.ip.one().ack).toBe(pseq + 1);
  });

  test("FIN follows queued data", () => {
    const r = rig();
    const s = establishActive(r);
    s.nodelay = true;
    s.send(bytes(100), 0, 100);
    s.shutdown("write");
    const out = r.ip.take();
    const last = out.at(-1)!;
    expect(last.flags & FIN).toBe(FIN);
    expect(last.seq + last.payload.length).toBe(1101);
  });

  test("FIN is retransmitted on timeout", () => {
    const r = rig();
    const s = establishActive(r);
    s.shutdown("write");
    r.ip.take();
    r.advance(1000);
    const f = r.ip.one();
    expect([f.flags & FIN, f.seq]).toEqual([FIN, 1001]);
  });

  test("half-close: after shutdown(write) data is still received in FIN_WAIT_2", () => {
    const r = rig();
    const s = establishActive(r);
    s.shutdown("write");
    inject(r.tcp, { ...P, seq: pseq, ack: 1002, flags: ACK });
    inject(r.tcp, { ...P, seq: pseq, ack: 1002, flags: ACK, payload: bytes(300) });
    expect(s.readableLength).toBe(300);
    expect(s.stateName).toBe("FIN_WAIT_2");
  });

  test("send after shutdown(write) throws EPIPE", () => {
    const r = rig();
    const s = establishActive(r);
    s.shutdown("write");
    expect(() => s.send(bytes(1), 0, 1)).toThrow("EPIPE");
    expect(s.writableLength).toBe(0);
  });

  test("FIN_WAIT_2 of a closed (orphaned) socket times out", () => {
    const r = rig({ finWait2Ms: 5000 });
    const s = establishActive(r);
    s.close();
    inject(r.tcp, { ...P, seq: pseq, ack: 1002, flags: ACK });
    expect(s.stateName).toBe("FIN_WAIT_2");
    r.advance(5000);
    expect(s.stateName).toBe("CLOSED");
  });

  test("FIN_WAIT_2 after shutdown only (socket still open) does not time out", () => {
    const r = rig({ finWait2Ms: 5000 });
    const s = establishActive(r);
    s.shutdown("write");
    inject(r.tcp, { ...P, seq: pseq, ack: 1002, flags: ACK });
    r.advance(100_000);
    expect(s.stateName).toBe("FIN_WAIT_2");
  });
});

describe("passive close", () => {
  test("peer FIN -> CLOSE_WAIT (ACK at once, readable EOF); close -> LAST_ACK -> CLOSED", () => {
    const r = rig();
    const ev = recorder();
    const s = establishActive(r, { handler: ev.handler });
    ev.log.length = 0;
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: FIN | ACK });
    expect(r.ip.one().ack).toBe(pseq + 1);
    expect(s.stateName).toBe("CLOSE_WAIT");
    expect([s.peerClosed, s.readableLength]).toEqual([true, 0]);
    expect(ev.log).toEqual(["readable"]);
    s.close();
    const fin = r.ip.one();
    expect([fin.flags, fin.seq]).toEqual([FIN | ACK, 1001]);
    expect(s.stateName).toBe("LAST_ACK");
    inject(r.tcp, { ...P, seq: pseq + 1, ack: 1002, flags: ACK });
    expect(s.stateName).toBe("CLOSED");
    expect(r.tcp.connectionCount).toBe(0);
  });

  test("CLOSE_WAIT: we can still send", () => {
    const r = rig();
    const s = establishActive(r);
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: FIN | ACK });
    r.ip.take();
    expect(s.send(bytes(10), 0, 10)).toBe(10);
    expect(r.ip.one().payload.length).toBe(10);
  });

  test("data after the peer's FIN is ignored (re-ACKed)", () => {
    const r = rig();
    const s = establishActive(r);
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: FIN | ACK });
    r.ip.take();
    inject(r.tcp, { ...P, seq: pseq + 1, ack: 1001, flags: ACK, payload: bytes(10) });
    expect(s.readableLength).toBe(0);
    expect(r.ip.one().ack).toBe(pseq + 1);
  });
});

describe("simultaneous close", () => {
  test("FIN_WAIT_1 + peer FIN -> CLOSING -> TIME_WAIT on the ACK of our FIN", () => {
    const r = rig();
    const s = establishActive(r);
    s.shutdown("write");
    r.ip.take();
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: FIN | ACK });
    expect(s.stateName).toBe("CLOSING");
    expect(r.ip.one().ack).toBe(pseq + 1);
    inject(r.tcp, { ...P, seq: pseq + 1, ack: 1002, flags: ACK });
    expect(s.stateName).toBe("TIME_WAIT");
  });
});

describe("TIME_WAIT", () => {
  function timeWait(): { r: Rig } {
    const r = rig();
    const s = establishActive(r);
    s.shutdown("write");
    inject(r.tcp, { ...P, seq: pseq, ack: 1002, flags: FIN | ACK });
    r.ip.take();
    expect(s.stateName).toBe("TIME_WAIT");
    return { r };
  }
  test("a retransmitted FIN is ACKed and restarts the 2*MSL timer", () => {
    const { r } = timeWait();
    r.advance(30_000);
    inject(r.tcp, { ...P, seq: pseq, ack: 1002, flags: FIN | ACK });
    expect(r.ip.one().ack).toBe(pseq + 1);
    r.advance(45_000);
    expect(r.tcp.connectionCount).toBe(1);
    r.advance(15_000);
    expect(r.tcp.connectionCount).toBe(0);
  });

  test("RST in TIME_WAIT is ignored (RFC 1337)", () => {
    const { r } = timeWait();
    inject(r.tcp, { ...P, seq: pseq + 1, flags: RST });
    expect(r.tcp.connectionCount).toBe(1);
  });

  test("TIME_WAIT reuse: a SYN with a higher sequence number opens a new connection", () => {
    const r = rig();
    const l = r.tcp.listen(80);
    inject(r.tcp, { seq: PEER_ISS, flags: SYN });
    inject(r.tcp, { seq: PEER_ISS + 1, ack: 1001, flags: ACK });
    const s = l.accept()!;
    s.close(); // server closes first -> ends in TIME_WAIT
    inject(r.tcp, { seq: PEER_ISS + 1, ack: 1002, flags: FIN | ACK });
    r.ip.take();
    expect(s.stateName).toBe("TIME_WAIT");
    inject(r.tcp, { seq: PEER_ISS + 100_000, flags: SYN });
    const sa = r.ip.one();
    expect([sa.flags, sa.ack]).toEqual([SYN | ACK, PEER_ISS + 100_001]);
    expect(sa.seq).toBe(1002 + 250_000); // ISS above the old connection's sequence space
    inject(r.tcp, { seq: PEER_ISS + 100_001, ack: sa.seq + 1, flags: ACK });
    expect(l.pending).toBe(1);
  });

  test("TIME_WAIT: a SYN with an old sequence number only gets an ACK", () => {
    const r = rig();
    const l = r.tcp.listen(80);
    inject(r.tcp, { seq: PEER_ISS, flags: SYN });
    inject(r.tcp, { seq: PEER_ISS + 1, ack: 1001, flags: ACK });
    const s = l.accept()!;
    s.close();
    inject(r.tcp, { seq: PEER_ISS + 1, ack: 1002, flags: FIN | ACK });
    r.ip.take();
    inject(r.tcp, { seq: PEER_ISS - 10, flags: SYN });
    const a = r.ip.one();
    expect(a.flags).toBe(ACK);
    expect(s.stateName).toBe("TIME_WAIT");
  });
});

describe("close, abort, linger", () => {
  test("close with unread data sends RST", () => {
    const r = rig();
    const s = establishActive(r);
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK, payload: bytes(10) });
    r.ip.take();
    s.close();
    const rst = r.ip.one();
    expect(rst.flags & RST).toBe(RST);
    expect(s.stateName).toBe("CLOSED");
  });

  test("linger 0: close sends RST", () => {
    const r = rig();
    const s = establishActive(r);
    s.linger = 0;
    s.close();
    expect(r.ip.one().flags & RST).toBe(RST);
  });

  test("linger n: close aborts if the FIN is not acknowledged in time", () => {
    const r = rig();
    const s = establishActive(r);
    s.linger = 500;
    s.close();
    r.ip.take();
    r.advance(500);
    expect(r.ip.one().flags & RST).toBe(RST);
    expect(s.stateName).toBe("CLOSED");
  });

  test("abort sends RST with snd.nxt and closes; onClose follows", async () => {
    const r = rig();
    const ev = recorder();
    const s = establishActive(r, { handler: ev.handler });
    ev.log.length = 0;
    s.abort();
    const rst = r.ip.one();
    expect([rst.flags, rst.seq]).toEqual([RST | ACK, 1001]);
    expect(s.stateName).toBe("CLOSED");
    await Promise.resolve();
    expect(ev.log).toEqual(["close"]);
  });

  test("close in SYN_SENT just forgets the connection", () => {
    const r = rig();
    const s = r.tcp.connect(0x0a000002, 80);
    r.ip.take();
    s.close();
    expect(r.ip.take()).toHaveLength(0);
    expect(r.tcp.connectionCount).toBe(0);
  });

  test("data arriving after close() is answered with RST", () => {
    const r = rig();
    const s = establishActive(r);
    s.close();
    r.ip.take();
    inject(r.tcp, { ...P, seq: pseq, ack: 1002, flags: ACK, payload: bytes(10) });
    expect(r.ip.one().flags & RST).toBe(RST);
    expect(s.stateName).toBe("CLOSED");
  });

  test("shutdown(read) discards incoming data but still ACKs it", () => {
    const r = rig();
    const s = establishActive(r);
    s.shutdown("read");
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK, payload: bytes(1460) });
    inject(r.tcp, { ...P, seq: pseq + 1460, ack: 1001, flags: ACK, payload: bytes(1460) });
    expect(s.readableLength).toBe(0);
    expect(r.ip.one().ack).toBe(pseq + 2920);
  });

  test("after close() the handler only hears onClose", () => {
    const r = rig();
    const ev = recorder();
    const s = establishPassive(r);
    s.handler = ev.handler;
    s.close();
    inject(r.tcp, { srcPort: 4000, dstPort: 80, seq: pseq, ack: 1002, flags: FIN | ACK });
    r.advance(60_000);
    expect(ev.log).toEqual(["close"]);
  });
});
