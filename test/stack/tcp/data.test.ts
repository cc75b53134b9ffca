import { describe, expect, test } from "bun:test";
import { ACK, bytes, establishActive, FIN, inject, PEER_ISS, PSH, recorder, rig, RST } from "./harness.ts";

// After establishActive: our next seq 1001, peer's next seq PEER_ISS+1; peer ports 80 -> us 4000.
const P = { srcPort: 80, dstPort: 4000 };
const pseq = PEER_ISS + 1;

describe("sending", () => {
  test("a write larger than the MSS is cut into MSS-sized segments, PSH on the last", () => {
    const r = rig();
    const s = establishActive(r);
    s.nodelay = true;
    s.send(bytes(4000), 0, 4000);
    const out = r.ip.take();
    expect(out.map((x) => [x.seq, x.payload.length])).toEqual([
      [1001, 1460],
      [2461, 1460],
      [3921, 1080],
    ]);
    expect(out[2]!.flags & PSH).toBe(PSH);
    expect(out.every((x) => x.ack === pseq)).toBe(true);
    expect(Buffer.from(out.map((x) => x.payload).reduce((a, b) => new Uint8Array([...a, ...b]))).equals(Buffer.from(bytes(4000)))).toBe(true);
  });

  test("initial congestion window limits the first flight to 10 segments", () => {
    const r = rig();
    const s = establishActive(r, { window: 65535 });
    s.send(bytes(20 * 1460), 0, 20 * 1460);
    expect(r.ip.take()).toHaveLength(10);
  });

  test("peer receive window limits the flight", () => {
    const r = rig();
    const s = establishActive(r, { window: 3000 });
    s.send(bytes(10000), 0, 10000);
    expect(r.ip.take().map((x) => x.payload.length)).toEqual([1460, 1460]);
  });

  test("ACK of new data frees the send buffer and raises onWritable", () => {
    const r = rig();
    const ev = recorder();
    const s = establishActive(r, { handler: ev.handler });
    ev.log.length = 0;
    s.send(bytes(1000), 0, 1000);
    r.ip.take();
    const before = s.writableLength;
    inject(r.tcp, { ...P, seq: pseq, ack: 2001, flags: ACK });
    expect(s.writableLength).toBe(before + 1000);
    expect(ev.log).toEqual(["writable"]);
  });

  test("send buffer full: send() takes only what fits", () => {
    const r = rig({ sendBufferSize: 5000 });
    const s = establishActive(r, { window: 0 });
    expect(s.send(bytes(8000), 0, 8000)).toBe(5000);
    expect(s.writableLength).toBe(0);
  });

  test("zero-copy send: write into the ring's free region and commit", () => {
    const r = rig();
    const s = establishActive(r);
    const tx = s.tx!;
    const at = tx.writeStart();
    tx.buf.set([9, 8, 7], at);
    s.commit(3);
    const d = r.ip.one();
    expect([...d.payload]).toEqual([9, 8, 7]);
  });
});

describe("Nagle and TCP_NODELAY", () => {
  test("Nagle holds a second small segment while one is unacknowledged", () => {
    const r = rig();
    const s = establishActive(r);
    s.send(bytes(10), 0, 10);
    expect(r.ip.take()).toHaveLength(1);
    s.send(bytes(10), 0, 10);
    s.send(bytes(10), 0, 10);
    expect(r.ip.take()).toHaveLength(0);
    inject(r.tcp, { ...P, seq: pseq, ack: 1011, flags: ACK });
    const d = r.ip.one();
    expect([d.seq, d.payload.length]).toEqual([1011, 20]);
  });

  test("TCP_NODELAY sends small segments at once", () => {
    const r = rig();
    const s = establishActive(r);
    s.nodelay = true;
    s.send(bytes(10), 0, 10);
    s.send(bytes(10), 0, 10);
    expect(r.ip.take().map((x) => x.seq)).toEqual([1001, 1011]);
  });

  test("Nagle does not hold full-sized segments", () => {
    const r = rig();
    const s = establishActive(r);
    s.send(bytes(10), 0, 10);
    r.ip.take();
    s.send(bytes(1460), 0, 1460);
    expect(r.ip.take().map((x) => x.payload.length)).toEqual([1460]);
  });
});

describe("receiving and delayed ACKs", () => {
  test("one segment: ACK delayed by 40 ms", () => {
    const r = rig();
    const s = establishActive(r);
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK, payload: bytes(100) });
    expect(s.readableLength).toBe(100);
    expect(r.ip.take()).toHaveLength(0);
    r.advance(39);
    expect(r.ip.take()).toHaveLength(0);
    r.advance(1);
    const a = r.ip.one();
    expect([a.flags, a.ack]).toEqual([ACK, pseq + 100]);
  });

  test("every second segment is acknowledged at once", () => {
    const r = rig();
    establishActive(r);
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK, payload: bytes(1460) });
    expect(r.ip.take()).toHaveLength(0);
    inject(r.tcp, { ...P, seq: pseq + 1460, ack: 1001, flags: ACK, payload: bytes(1460) });
    expect(r.ip.one().ack).toBe(pseq + 2920);
  });

  test("outgoing data piggybacks the pending ACK and cancels the delayed-ACK timer", () => {
    const r = rig();
    const s = establishActive(r);
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK, payload: bytes(10) });
    s.send(bytes(5), 0, 5);
    const d = r.ip.one();
    expect(d.ack).toBe(pseq + 10);
    r.advance(100);
    expect(r.ip.take()).toHaveLength(0);
  });

  test("onReadable fires; recv copies out and consume frees space", () => {
    const r = rig();
    const ev = recorder();
    const s = establishActive(r, { handler: ev.handler });
    ev.log.length = 0;
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK, payload: bytes(50) });
    expect(ev.log).toEqual(["readable"]);
    const dst = new Uint8Array(20);
    expect(s.recv(dst, 0, 20)).toBe(20);
    expect([...dst]).toEqual([...bytes(50).subarray(0, 20)]);
    expect(s.readableLength).toBe(30);
  });

  test("zero-copy receive: read region of the rx ring, then consume", () => {
    const r = rig();
    const s = establishActive(r);
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK, payload: bytes(30, 3) });
    const rx = s.rx!;
    const view = rx.buf.subarray(rx.readStart(), rx.readStart() + rx.readContiguous());
    expect([...view]).toEqual([...bytes(30, 3)]);
    s.consume(30);
    expect(s.readableLength).toBe(0);
  });

  test("duplicate (already received) data is ACKed immediately and not delivered twice", () => {
    const r = rig();
    const s = establishActive(r);
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK, payload: bytes(100) });
    r.ip.take();
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK, payload: bytes(100) });
    expect(r.ip.one().ack).toBe(pseq + 100);
    expect(s.readableLength).toBe(100);
  });

  test("partially overlapping data: only the new part is taken", () => {
    const r = rig();
    const s = establishActive(r);
    const data = bytes(200);
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK, payload: data.slice(0, 100) });
    inject(r.tcp, { ...P, seq: pseq + 50, ack: 1001, flags: ACK, payload: data.slice(50, 200) });
    const out = new Uint8Array(200);
    expect(s.recv(out, 0, 200)).toBe(200);
    expect([...out]).toEqual([...data]);
  });
});

describe("out-of-order reassembly and SACK generation", () => {
  test("a gap: data stored, duplicate ACK with a SACK block sent at once", () => {
    const r = rig();
    const s = establishActive(r, { sack: true });
    inject(r.tcp, { ...P, seq: pseq + 100, ack: 1001, flags: ACK, payload: bytes(100) });
    const a = r.ip.one();
    expect(a.ack).toBe(pseq);
    expect(a.sack).toEqual([[pseq + 100, pseq + 200]]);
    expect(s.readableLength).toBe(0);
  });

  test("filling the hole delivers everything in order and ACKs at once", () => {
    const r = rig();
    const s = establishActive(r, { sack: true });
    const data = bytes(300);
    inject(r.tcp, { ...P, seq: pseq + 200, ack: 1001, flags: ACK, payload: data.slice(200) });
    inject(r.tcp, { ...P, seq: pseq + 100, ack: 1001, flags: ACK, payload: data.slice(100, 200) });
    r.ip.take();
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK, payload: data.slice(0, 100) });
    const a = r.ip.one();
    expect(a.ack).toBe(pseq + 300);
    expect(a.sack).toEqual([]);
    const out = new Uint8Array(300);
    s.recv(out, 0, 300);
    expect([...out]).toEqual([...data]);
  });

  test("several islands: the most recent one is reported first (RFC 2018)", () => {
    const r = rig();
    establishActive(r, { sack: true });
    inject(r.tcp, { ...P, seq: pseq + 100, ack: 1001, flags: ACK, payload: bytes(10) });
    inject(r.tcp, { ...P, seq: pseq + 300, ack: 1001, flags: ACK, payload: bytes(10) });
    inject(r.tcp, { ...P, seq: pseq + 200, ack: 1001, flags: ACK, payload: bytes(10) });
    const last = r.ip.take().at(-1)!;
    expect(last.sack[0]).toEqual([pseq + 200, pseq + 210]);
    expect(last.sack).toHaveLength(3);
  });

  test("without SACK permitted, no SACK blocks are sent", () => {
    const r = rig();
    establishActive(r, { sack: false });
    inject(r.tcp, { ...P, seq: pseq + 100, ack: 1001, flags: ACK, payload: bytes(10) });
    expect(r.ip.one().sack).toEqual([]);
  });

  test("overlapping out-of-order segments merge", () => {
    const r = rig();
    const s = establishActive(r, { sack: true });
    const data = bytes(400);
    inject(r.tcp, { ...P, seq: pseq + 100, ack: 1001, flags: ACK, payload: data.slice(100, 250) });
    inject(r.tcp, { ...P, seq: pseq + 200, ack: 1001, flags: ACK, payload: data.slice(200, 400) });
    expect(r.ip.take().at(-1)!.sack).toEqual([[pseq + 100, pseq + 400]]);
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK, payload: data.slice(0, 150) });
    const out = new Uint8Array(400);
    expect(s.recv(out, 0, 400)).toBe(400);
    expect([...out]).toEqual([...data]);
  });

  test("a FIN that arrives before missing data is processed once the gap fills", () => {
    const r = rig();
    const s = establishActive(r);
    inject(r.tcp, { ...P, seq: pseq + 10, ack: 1001, flags: ACK | FIN, payload: bytes(10) });
    expect(s.peerClosed).toBe(false);
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK, payload: bytes(10) });
    expect(s.peerClosed).toBe(true);
    expect(s.stateName).toBe("CLOSE_WAIT");
    expect(r.ip.take().at(-1)!.ack).toBe(pseq + 21);
  });

  test("data beyond the receive window is trimmed", () => {
    const r = rig({ recvBufferSize: 1000 });
    const s = establishActive(r);
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK, payload: bytes(1500) });
    expect(s.readableLength).toBe(1000);
    r.advance(40);
    const a = r.ip.one();
    expect([a.ack, a.window]).toEqual([pseq + 1000, 0]);
  });

  test("a segment entirely outside the window draws an ACK and is dropped", () => {
    const r = rig({ recvBufferSize: 1000 });
    const s = establishActive(r);
    inject(r.tcp, { ...P, seq: pseq + 5000, ack: 1001, flags: ACK, payload: bytes(10) });
    expect(r.ip.one().ack).toBe(pseq);
    expect(s.readableLength).toBe(0);
  });
});

describe("receive window and window updates", () => {
  test("advertised window shrinks as data is buffered, and reaches zero", () => {
    const r = rig({ recvBufferSize: 4000 });
    const s = establishActive(r);
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK, payload: bytes(1000) });
    inject(r.tcp, { ...P, seq: pseq + 1000, ack: 1001, flags: ACK, payload: bytes(1000) });
    expect(r.ip.one().window).toBe(2000);
    inject(r.tcp, { ...P, seq: pseq + 2000, ack: 1001, flags: ACK, payload: bytes(1000) });
    inject(r.tcp, { ...P, seq: pseq + 3000, ack: 1001, flags: ACK, payload: bytes(1000) });
    expect(r.ip.one().window).toBe(0);
    expect(s.readableLength).toBe(4000);
  });

  test("reading from a zero window sends a window update", () => {
    const r = rig({ recvBufferSize: 4000 });
    const s = establishActive(r);
    for (let i = 0; i < 4; i++) inject(r.tcp, { ...P, seq: pseq + i * 1000, ack: 1001, flags: ACK, payload: bytes(1000) });
    r.ip.take();
    s.consume(2000);
    const u = r.ip.one();
    expect([u.flags, u.ack, u.window]).toEqual([ACK, pseq + 4000, 2000]);
  });

  test("receiver SWS avoidance: a tiny read does not announce a tiny window", () => {
    const r = rig({ recvBufferSize: 4000 });
    const s = establishActive(r);
    for (let i = 0; i < 4; i++) inject(r.tcp, { ...P, seq: pseq + i * 1000, ack: 1001, flags: ACK, payload: bytes(1000) });
    r.ip.take();
    s.consume(10);
    expect(r.ip.take()).toHaveLength(0);
  });

  test("the right window edge never moves left", () => {
    const r = rig({ recvBufferSize: 4000 });
    establishActive(r);
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK, payload: bytes(100) });
    r.advance(40);
    const a = r.ip.one();
    expect(a.ack + a.window).toBeGreaterThanOrEqual(pseq + 4000);
  });
});

describe("zero window and persist probes", () => {
  test("zero window: nothing sent, persist probes back off, window opening resumes sending", () => {
    const r = rig();
    const s = establishActive(r, { window: 0 });
    s.send(bytes(100), 0, 100);
    expect(r.ip.take()).toHaveLength(0);
    const t0 = r.clock.now();
    const first = r.tcp.nextDeadline() - t0;
    expect(first).toBeGreaterThanOrEqual(200);
    r.advance(first);
    const p1 = r.ip.one();
    expect([p1.seq, p1.payload.length, p1.flags]).toEqual([1000, 0, ACK]); // snd.una - 1
    const second = r.tcp.nextDeadline() - r.clock.now();
    expect(second).toBe(first * 2);
    r.advance(second);
    expect(r.ip.take()).toHaveLength(1);
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK, window: 1000 });
    const d = r.ip.one();
    expect([d.seq, d.payload.length]).toEqual([1001, 100]);
  });

  test("a window update (same ACK, larger window) is not a duplicate ACK", () => {
    const r = rig();
    const s = establishActive(r, { window: 1460 });
    s.nodelay = true;
    s.send(bytes(3000), 0, 3000);
    expect(r.ip.take()).toHaveLength(1);
    for (let i = 0; i < 3; i++) inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK, window: 1460 + i });
    // window grew each time: no fast retransmit of 1001
    expect(r.ip.take().filter((x) => x.seq === 1001)).toHaveLength(0);
    expect(r.tcp.stats.fastRetransmits).toBe(0);
  });

  test("the window-update rule ignores an older segment's window (SND.WL1/WL2)", () => {
    const r = rig();
    const s = establishActive(r, { window: 5000 });
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK, payload: bytes(10), window: 5000 });
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK, window: 0 }); // old seq: wl1 > seq
    s.nodelay = true;
    s.send(bytes(100), 0, 100);
    expect(r.ip.take().some((x) => x.payload.length === 100)).toBe(true);
  });
});

describe("sequence number wrap-around", () => {
  test("our data crosses 2^32", () => {
    const r = rig({}, 0xffffff00);
    const s = establishActive(r);
    s.nodelay = true;
    s.send(bytes(1000), 0, 1000);
    const d = r.ip.one();
    expect(d.seq).toBe(0xffffff01);
    inject(r.tcp, { ...P, seq: pseq, ack: (0xffffff01 + 1000) >>> 0, flags: ACK });
    s.send(bytes(10), 0, 10);
    expect(r.ip.one().seq).toBe(0x2e9);
  });

  test("peer data crosses 2^32 with reordering", () => {
    const r = rig();
    const s = r.tcp.connect(0x0a000002, 80, { localPort: 4000 });
    r.ip.take();
    const piss = 0xffffffa0;
    inject(r.tcp, { ...P, seq: piss, ack: 1001, flags: 2 | ACK, mss: 1460, sackPermitted: true });
    r.ip.take();
    const data = bytes(300);
    const base = piss + 1;
    inject(r.tcp, { ...P, seq: (base + 150) >>> 0, ack: 1001, flags: ACK, payload: data.slice(150) });
    expect(r.ip.one().sack).toEqual([[(base + 150) >>> 0, (base + 300) >>> 0]]);
    inject(r.tcp, { ...P, seq: base, ack: 1001, flags: ACK, payload: data.slice(0, 150) });
    expect(r.ip.one().ack).toBe((base + 300) >>> 0);
    const out = new Uint8Array(300);
    s.recv(out, 0, 300);
    expect([...out]).toEqual([...data]);
  });
});

describe("timestamps (RFC 7323)", () => {
  test("segments carry TSval and echo the peer's latest TSval", () => {
    const r = rig();
    const s = establishActive(r, { ts: true });
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK, payload: bytes(10), ts: [555, 0] });
    s.send(bytes(5), 0, 5);
    const d = r.ip.one();
    expect(d.ts![1]).toBe(555);
  });

  test("PAWS: a segment with an older timestamp is dropped and ACKed", () => {
    const r = rig();
    const s = establishActive(r, { ts: true });
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK, payload: bytes(10), ts: [500, 0] });
    r.ip.take();
    inject(r.tcp, { ...P, seq: pseq + 10, ack: 1001, flags: ACK, payload: bytes(10), ts: [400, 0] });
    expect(s.readableLength).toBe(10);
    expect(r.ip.one().ack).toBe(pseq + 10);
    expect(r.tcp.stats.pawsDropped).toBe(1);
  });

  test("RTT measured from the echoed timestamp sets the RTO", () => {
    const r = rig();
    const s = establishActive(r, { ts: true });
    s.send(bytes(10), 0, 10);
    const d = r.ip.one();
    r.clock.advance(50);
    inject(r.tcp, { ...P, seq: pseq, ack: 1011, flags: ACK, ts: [200, d.ts![0]] });
    s.send(bytes(10), 0, 10);
    r.ip.take();
    // srtt 50 -> rto = max(200, 50 + 4*25) = 200
    expect(r.tcp.nextDeadline() - r.clock.now()).toBe(200);
  });
});

describe("congestion window use", () => {
  test("slow start: each ACK of a full segment adds one MSS (10 ACKs -> 20 segments)", () => {
    const r = rig();
    const s = establishActive(r);
    s.send(bytes(10 * 1460), 0, 10 * 1460);
    expect(r.ip.take()).toHaveLength(10);
    for (let i = 1; i <= 10; i++) inject(r.tcp, { ...P, seq: pseq, ack: 1001 + i * 1460, flags: ACK });
    r.ip.take();
    s.send(bytes(40 * 1460), 0, 40 * 1460);
    expect(r.ip.take()).toHaveLength(20);
  });

  test("an application-limited sender does not grow cwnd", () => {
    const r = rig();
    const s = establishActive(r);
    s.nodelay = true;
    let una = 1001;
    for (let i = 0; i < 20; i++) {
      s.send(bytes(100), 0, 100);
      r.ip.take();
      una += 100;
      inject(r.tcp, { ...P, seq: pseq, ack: una, flags: ACK });
    }
    s.send(bytes(40 * 1460), 0, 40 * 1460);
    expect(r.ip.take()).toHaveLength(10);
  });
});

describe("lazy ring buffers", () => {
  test("an idle established connection holds no rings; the first byte allocates the receive ring", () => {
    const r = rig();
    const s = establishActive(r);
    expect(s.rx).toBeNull();
    expect(s.readableLength).toBe(0);
    expect(s.writableLength).toBe(256 * 1024);
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK, payload: bytes(5) });
    expect(s.rx!.capacity).toBe(256 * 1024);
    expect(s.readableLength).toBe(5);
  });

  test("a FIN alone does not allocate a receive ring", () => {
    const r = rig();
    const s = establishActive(r);
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK | FIN });
    expect(s.peerClosed).toBe(true);
    expect(s.rx).toBeNull();
  });

  test("the send ring appears on first access for zero-copy writes", () => {
    const r = rig({ sendBufferSize: 8192 });
    const s = establishActive(r);
    const tx = s.tx!;
    expect(tx.capacity).toBe(8192);
    expect(tx.writeContiguous()).toBe(8192);
  });

  test("a half-open (SYN_RECEIVED) connection allocates no ring", () => {
    const r = rig();
    r.tcp.listen(80);
    inject(r.tcp, { srcPort: 4000, dstPort: 80, seq: PEER_ISS, flags: 2 });
    const sa = r.ip.one();
    expect(sa.window).toBe(65535); // full window offered although no ring exists yet
  });
});

describe("D-SACK generation (RFC 2883)", () => {
  test("a duplicate of delivered data is reported once as the first SACK block", () => {
    const r = rig();
    establishActive(r, { sack: true });
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK, payload: bytes(100) });
    r.ip.take();
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK, payload: bytes(100) });
    const a = r.ip.one();
    expect(a.sack).toEqual([[pseq, pseq + 100]]);
    inject(r.tcp, { ...P, seq: pseq + 100, ack: 1001, flags: ACK, payload: bytes(10) });
    r.advance(40);
    expect(r.ip.one().sack).toEqual([]); // not repeated
  });

  test("a partial duplicate reports only the duplicated part", () => {
    const r = rig();
    establishActive(r, { sack: true });
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK, payload: bytes(100) });
    r.ip.take();
    inject(r.tcp, { ...P, seq: pseq + 50, ack: 1001, flags: ACK, payload: bytes(100) });
    const out = r.ip.take();
    expect(out.at(-1)!.sack).toEqual([[pseq + 50, pseq + 100]]);
  });

  test("a duplicate of out-of-order data: D-SACK first, then the island", () => {
    const r = rig();
    establishActive(r, { sack: true });
    inject(r.tcp, { ...P, seq: pseq + 100, ack: 1001, flags: ACK, payload: bytes(50) });
    r.ip.take();
    inject(r.tcp, { ...P, seq: pseq + 100, ack: 1001, flags: ACK, payload: bytes(50) });
    expect(r.ip.one().sack).toEqual([[pseq + 100, pseq + 150], [pseq + 100, pseq + 150]]);
  });
});

describe("buffer sizes (SO_RCVBUF / SO_SNDBUF)", () => {
  test("setBufferSizes before data sizes the rings and the advertised window", () => {
    const r = rig();
    const s = establishActive(r, { wscale: 2 });
    s.setBufferSizes(10_000, 6000);
    expect(s.writableLength).toBe(6000);
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK, payload: bytes(1000) });
    expect(s.rx!.capacity).toBe(10_000);
    r.advance(40);
    expect(r.ip.one().window << 3).toBe(9000); // our shift is 3; the window follows the smaller ring
  });

  test("a ring that already holds data keeps its size", () => {
    const r = rig();
    const s = establishActive(r);
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK, payload: bytes(10) });
    s.setBufferSizes(4096);
    expect(s.rx!.capacity).toBe(256 * 1024);
  });

  test("sizes beyond the memory limit are refused with ENOBUFS; absurd sizes with EINVAL", () => {
    const r = rig({ maxBufferBytes: 1_000_000 });
    const s = establishActive(r);
    expect(() => s.setBufferSizes(900_000, 900_000)).toThrow("ENOBUFS");
    expect(() => s.setBufferSizes(10)).toThrow("EINVAL");
  });
});

describe("buffer autotuning", () => {
  test("receive ring grows to twice the bytes per RTT plus 16 segments (Linux's rule) when the peer moves more than half of it per RTT and the reader keeps up", () => {
    const r = rig({ autotune: true, recvBufferSize: 4096 });
    const s = establishActive(r, { wscale: 7, ts: true });
    // the peer echoes a TSval of ours that is 10 ms old -> receiver RTT ~10 ms
    const ourTs = () => (s as unknown as { tsNow(): number }).tsNow();
    const echo = () => [500, (ourTs() - 10) >>> 0] as [number, number];
    let off = 0;
    const seg = (n: number) => {
      inject(r.tcp, { ...P, seq: pseq + off, ack: 1001, flags: ACK, payload: bytes(n), ts: echo() });
      off += n;
      s.consume(s.readableLength);
    };
    seg(1000); // starts the measurement
    r.clock.advance(5);
    seg(1460);
    r.clock.advance(6); // > 1 RTT since the start: 2460 bytes in one RTT > half of 4096
    seg(1000);
    expect(s.rx!.capacity).toBe(2 * 2460 + 16 * 1460);
  });

  test("a reader that falls behind does not grow the ring", () => {
    const r = rig({ autotune: true, recvBufferSize: 4096 });
    const s = establishActive(r, { wscale: 7 });
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK, payload: bytes(2048) });
    inject(r.tcp, { ...P, seq: pseq + 2048, ack: 1001, flags: ACK, payload: bytes(2048) });
    expect(s.rx!.capacity).toBe(4096);
  });

  test("an explicitly sized socket never autotunes", () => {
    const r = rig({ autotune: true });
    const s = r.tcp.connect(0x0a000002, 80, { localPort: 4000, recvBufferSize: 4096 });
    const syn = r.ip.one();
    expect(syn.wscale).toBe(0); // the shift only covers the fixed 4 KiB
    inject(r.tcp, { ...P, seq: PEER_ISS, ack: syn.seq + 1, flags: 2 | ACK, mss: 1460, wscale: 7 });
    r.ip.take();
    for (let off = 0; off < 4096; off += 2048) {
      inject(r.tcp, { ...P, seq: pseq + off, ack: 1001, flags: ACK, payload: bytes(2048) });
      s.consume(s.readableLength);
    }
    expect(s.rx!.capacity).toBe(4096);
  });

  test("send ring doubles when the writer is blocked and cwnd could use more", () => {
    const r = rig({ autotune: true, sendBufferSize: 4096 });
    const s = establishActive(r, { window: 65535 });
    expect(s.send(bytes(5000), 0, 5000)).toBe(4096);
    expect(s.writableLength).toBe(0);
    const out = r.ip.take();
    inject(r.tcp, { ...P, seq: pseq, ack: out[0]!.seq + out[0]!.payload.length, flags: ACK });
    expect(s.writableLength).toBe(8192 - (4096 - 1460));
  });
});

describe("persist timeout", () => {
  test("a zero-window peer that stops answering is given up on (ETIMEDOUT, RST)", () => {
    const r = rig({ dataRetries: 3 });
    const s = establishActive(r, { window: 0 });
    s.send(bytes(10), 0, 10);
    for (let i = 0; i < 3; i++) {
      r.advance(r.tcp.nextDeadline() - r.clock.now());
      expect(r.ip.one().seq).toBe(1000);
    }
    r.advance(r.tcp.nextDeadline() - r.clock.now());
    expect(r.ip.one().flags & RST).toBe(RST);
    expect(s.error).toBe("ETIMEDOUT");
  });

  test("answered probes keep the connection alive indefinitely (RFC 1122 4.2.2.17)", () => {
    const r = rig({ dataRetries: 2 });
    const s = establishActive(r, { window: 0 });
    s.send(bytes(10), 0, 10);
    for (let i = 0; i < 6; i++) {
      r.advance(r.tcp.nextDeadline() - r.clock.now());
      r.ip.take();
      inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK, window: 0 });
    }
    expect(s.stateName).toBe("ESTABLISHED");
  });
});

describe("stretch ACKs (ackCoalescing)", () => {
  /** A rig whose "end of the input batch" runs when the test says. */
  function batchRig(limit: number) {
    const pending: (() => void)[] = [];
    const r = rig({ ackCoalescing: limit, afterBatch: (fn) => pending.push(fn) });
    const endBatch = (): void => {
      for (const fn of pending.splice(0)) fn();
    };
    return { r, endBatch, pending };
  }

  test("in-order segments are acknowledged once, at the end of the input batch", () => {
    const { r, endBatch, pending } = batchRig(16);
    establishActive(r);
    for (let i = 0; i < 6; i++) inject(r.tcp, { ...P, seq: pseq + i * 1460, ack: 1001, flags: ACK, payload: bytes(1460) });
    expect(r.ip.take()).toHaveLength(0);
    expect(pending).toHaveLength(1); // one flush scheduled for the whole batch
    endBatch();
    const a = r.ip.one();
    expect([a.flags, a.ack]).toEqual([ACK, pseq + 6 * 1460]);
    endBatch();
    expect(r.ip.take()).toHaveLength(0);
  });

  test("at the limit the ACK goes at once, and the batch end then owes nothing", () => {
    const { r, endBatch } = batchRig(4);
    establishActive(r);
    for (let i = 0; i < 3; i++) inject(r.tcp, { ...P, seq: pseq + i * 1460, ack: 1001, flags: ACK, payload: bytes(1460) });
    expect(r.ip.take()).toHaveLength(0);
    inject(r.tcp, { ...P, seq: pseq + 3 * 1460, ack: 1001, flags: ACK, payload: bytes(1460) });
    expect(r.ip.one().ack).toBe(pseq + 4 * 1460);
    endBatch();
    expect(r.ip.take()).toHaveLength(0);
  });

  test("out-of-order data is still acknowledged at once (duplicate ACK with SACK)", () => {
    const { r } = batchRig(16);
    establishActive(r, { sack: true });
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK, payload: bytes(1460) });
    inject(r.tcp, { ...P, seq: pseq + 2920, ack: 1001, flags: ACK, payload: bytes(1460) });
    const a = r.ip.one();
    expect(a.ack).toBe(pseq + 1460);
    expect(a.sack).toEqual([[pseq + 2920, pseq + 4380]]);
  });

  test("data we send before the batch ends carries the ACK: no separate ACK afterwards", () => {
    const { r, endBatch } = batchRig(16);
    const s = establishActive(r);
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK, payload: bytes(1460) });
    inject(r.tcp, { ...P, seq: pseq + 1460, ack: 1001, flags: ACK, payload: bytes(1460) });
    s.send(bytes(10), 0, 10);
    const d = r.ip.one();
    expect([d.payload.length, d.ack]).toEqual([10, pseq + 2920]);
    endBatch();
    expect(r.ip.take()).toHaveLength(0);
  });

  test("off (0, the default): every second segment at once, nothing scheduled", () => {
    const { r, pending } = batchRig(0);
    establishActive(r);
    inject(r.tcp, { ...P, seq: pseq, ack: 1001, flags: ACK, payload: bytes(1460) });
    inject(r.tcp, { ...P, seq: pseq + 1460, ack: 1001, flags: ACK, payload: bytes(1460) });
    expect(r.ip.one().ack).toBe(pseq + 2920);
    expect(pending).toHaveLength(0);
  });
});
