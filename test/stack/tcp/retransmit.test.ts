import { describe, expect, test } from "bun:test";
import { ACK, bytes, establishActive, inject, PEER_ISS, recorder, rig, RST, type Rig } from "./harness.ts";
import type { TcpSocket } from "../../../src/stack/tcp/index.ts";
import type { CongestionName } from "../../../src/stack/tcp/congestion/index.ts";

const P = { srcPort: 80, dstPort: 4000 };
const pseq = PEER_ISS + 1;
const ackOf = (r: Rig, ack: number, extra: Record<string, unknown> = {}) => inject(r.tcp, { ...P, seq: pseq, ack, flags: ACK, ...extra });

/** Established with `n` full segments (1460) in flight starting at 1001. */
function inFlight(n: number, opts: { sack?: boolean; congestion?: CongestionName } = {}): { r: Rig; s: TcpSocket } {
  const r = rig({ congestion: opts.congestion ?? "newreno" });
  const s = establishActive(r, { sack: opts.sack, window: 65535 });
  s.send(bytes(n * 1460), 0, n * 1460);
  expect(r.ip.take()).toHaveLength(n);
  return { r, s };
}
const seg = (i: number) => 1001 + i * 1460;

describe("retransmission timeout (RFC 6298)", () => {
  test("first RTO after 1 s without an RTT sample, retransmits the first segment only", () => {
    const { r } = inFlight(4);
    r.advance(999);
    expect(r.ip.take()).toHaveLength(0);
    r.advance(1);
    const out = r.ip.take();
    expect(out.map((x) => [x.seq, x.payload.length])).toEqual([[1001, 1460]]);
    expect(r.tcp.stats.rtoTimeouts).toBe(1);
  });

  test("exponential backoff: 1 s, 2 s, 4 s", () => {
    const { r } = inFlight(1);
    r.advance(1000);
    expect(r.ip.take()).toHaveLength(1);
    r.advance(1999);
    expect(r.ip.take()).toHaveLength(0);
    r.advance(1);
    expect(r.ip.take()).toHaveLength(1);
    r.advance(4000);
    expect(r.ip.take()).toHaveLength(1);
  });

  test("after an RTO, each ACK lets slow start resend the rest (go-back-N)", () => {
    const { r } = inFlight(4);
    r.advance(1000);
    r.ip.take();
    ackOf(r, seg(1));
    expect(r.ip.take().map((x) => x.seq)).toEqual([seg(1), seg(2)]);
  });

  test("an RTT sample (Karn: not from a retransmitted segment) sets the RTO", () => {
    const r = rig();
    const s = establishActive(r, {});
    s.send(bytes(100), 0, 100);
    r.ip.take();
    r.clock.advance(80);
    ackOf(r, 1101);
    s.send(bytes(100), 0, 100);
    r.ip.take();
    // srtt=80, rttvar=40 -> rto = 80 + 160 = 240
    expect(r.tcp.nextDeadline() - r.clock.now()).toBe(240);
  });

  test("Karn: the ACK of a retransmitted segment gives no RTT sample", () => {
    const r = rig();
    const s = establishActive(r, {});
    s.send(bytes(100), 0, 100);
    r.ip.take();
    r.advance(1000);
    r.ip.take();
    r.clock.advance(10);
    ackOf(r, 1101);
    s.send(bytes(100), 0, 100);
    r.ip.take();
    // still backed-off initial RTO (no sample): 1000 * 2
    expect(r.tcp.nextDeadline() - r.clock.now()).toBe(2000);
  });

  test("too many retransmissions: RST and ETIMEDOUT", () => {
    const r = rig({ dataRetries: 2, congestion: "newreno" });
    const ev = recorder();
    const s = establishActive(r, { handler: ev.handler });
    ev.log.length = 0;
    s.send(bytes(10), 0, 10);
    r.ip.take();
    r.advance(1000);
    r.advance(2000);
    expect(r.ip.take()).toHaveLength(2);
    r.advance(4000);
    const out = r.ip.take();
    expect(out.map((x) => x.flags & RST)).toEqual([RST]);
    expect(s.error).toBe("ETIMEDOUT");
    expect(ev.log).toEqual(["error:ETIMEDOUT", "close"]);
  });

  test("soft ICMP error is reported instead of ETIMEDOUT", () => {
    const r = rig({ dataRetries: 0 });
    const s = establishActive(r);
    s.send(bytes(10), 0, 10);
    const d = r.ip.one();
    const q = new Uint8Array(28);
    q[0] = 0x45;
    q[9] = 6;
    q.set([10, 0, 0, 1], 12);
    q.set([10, 0, 0, 2], 16);
    q.set([0x0f, 0xa0, 0, 80], 20);
    new DataView(q.buffer).setUint32(24, d.seq);
    r.tcp.onIcmpError(3, 1, 0, q, 0, q.length);
    expect(s.error).toBeNull();
    r.advance(1000);
    expect(s.error).toBe("EHOSTUNREACH");
  });

  test("the RTO timer stops when everything is acknowledged", () => {
    const { r } = inFlight(2);
    ackOf(r, seg(2));
    expect(r.tcp.nextDeadline()).toBe(Infinity);
  });

  test("the RTO timer restarts on each new ACK", () => {
    const { r } = inFlight(3);
    r.clock.advance(600);
    ackOf(r, seg(1));
    r.ip.take();
    expect(r.tcp.nextDeadline() - r.clock.now()).toBeGreaterThanOrEqual(200);
    r.advance(500);
    expect(r.ip.take()).toHaveLength(0); // would have fired at t=1000 without the restart
  });
});

describe("fast retransmit and NewReno recovery (RFC 5681 / 6582)", () => {
  test("three duplicate ACKs trigger a fast retransmit of snd.una", () => {
    const { r } = inFlight(6);
    ackOf(r, seg(0));
    ackOf(r, seg(0));
    expect(r.ip.take()).toHaveLength(0);
    ackOf(r, seg(0));
    const out = r.ip.take();
    expect(out[0]!.seq).toBe(seg(0));
    expect(r.tcp.stats.fastRetransmits).toBe(1);
  });

  test("two duplicate ACKs are not enough", () => {
    const { r } = inFlight(6);
    ackOf(r, seg(0));
    ackOf(r, seg(0));
    expect(r.ip.take()).toHaveLength(0);
    expect(r.tcp.stats.fastRetransmits).toBe(0);
  });

  test("ACKs carrying data are not duplicate ACKs", () => {
    const { r } = inFlight(6);
    for (let i = 0; i < 3; i++) inject(r.tcp, { ...P, seq: pseq + i, ack: seg(0), flags: ACK, payload: bytes(1) });
    expect(r.tcp.stats.fastRetransmits).toBe(0);
  });

  test("partial ACK retransmits the next hole; full ACK ends recovery", () => {
    const { r, s } = inFlight(6);
    for (let i = 0; i < 3; i++) ackOf(r, seg(0));
    r.ip.take();
    ackOf(r, seg(2)); // partial: segment 2 lost too
    const out = r.ip.take();
    expect(out[0]!.seq).toBe(seg(2));
    ackOf(r, seg(6));
    expect(s.writableLength).toBe(256 * 1024);
  });

  test("dupACKs in recovery inflate the window and release new data", () => {
    const { r, s } = inFlight(10);
    s.send(bytes(5 * 1460), 0, 5 * 1460);
    r.ip.take();
    for (let i = 0; i < 3; i++) ackOf(r, seg(0));
    r.ip.take();
    let sentNew = 0;
    for (let i = 0; i < 8; i++) {
      ackOf(r, seg(0));
      sentNew += r.ip.take().filter((x) => x.seq >= seg(10)).length;
    }
    expect(sentNew).toBeGreaterThan(0);
  });

  test("no second fast retransmit for losses from the same window (recover point)", () => {
    const { r } = inFlight(8);
    for (let i = 0; i < 3; i++) ackOf(r, seg(0));
    ackOf(r, seg(8)); // full ack
    r.ip.take();
    expect(r.tcp.stats.fastRetransmits).toBe(1);
  });
});

describe("SACK loss recovery (RFC 6675)", () => {
  test("SACK blocks covering 3 segments above a hole trigger recovery before 3 dupacks", () => {
    const { r } = inFlight(6, { sack: true });
    ackOf(r, seg(0), { sack: [[seg(1), seg(4)]] });
    const out = r.ip.take();
    expect(out[0]!.seq).toBe(seg(0));
    expect(r.tcp.stats.fastRetransmits).toBe(1);
  });

  test("only holes are retransmitted, SACKed data is skipped", () => {
    const { r } = inFlight(8, { sack: true });
    // segments 0 and 2 lost; 1, 3..7 received
    ackOf(r, seg(0), { sack: [[seg(1), seg(2)]] });
    ackOf(r, seg(0), { sack: [[seg(3), seg(5)], [seg(1), seg(2)]] });
    ackOf(r, seg(0), { sack: [[seg(3), seg(8)], [seg(1), seg(2)]] });
    const out = r.ip.take();
    const rtx = out.filter((x) => x.seq < seg(8)).map((x) => x.seq);
    expect(rtx).toEqual([seg(0), seg(2)]);
  });

  test("D-SACK / stale blocks below snd.una are ignored", () => {
    const { r } = inFlight(4, { sack: true });
    ackOf(r, seg(2), { sack: [[seg(0), seg(1)]] });
    ackOf(r, seg(2), { sack: [[seg(0), seg(1)]] });
    expect(r.tcp.stats.fastRetransmits).toBe(0);
  });

  test("after an RTO the repair resends un-SACKed data in order and skips SACKed segments", () => {
    const { r } = inFlight(4, { sack: true });
    ackOf(r, seg(0), { sack: [[seg(2), seg(3)]] });
    r.ip.take();
    r.advance(1000);
    expect(r.ip.take().map((x) => x.seq)).toEqual([seg(0)]);
    ackOf(r, seg(1), { sack: [[seg(2), seg(3)]] });
    expect(r.ip.take().map((x) => x.seq)).toEqual([seg(1), seg(3)]);
  });

  test("a second RTO in a row forgets the scoreboard (receiver may have reneged)", () => {
    const { r } = inFlight(4, { sack: true });
    ackOf(r, seg(0), { sack: [[seg(2), seg(3)]] });
    r.ip.take();
    r.advance(1000);
    r.advance(2000);
    expect(r.ip.take().map((x) => x.seq)).toEqual([seg(0), seg(0)]);
    ackOf(r, seg(1));
    expect(r.ip.take().map((x) => x.seq)).toEqual([seg(1), seg(2)]);
  });

  test("tail loss probe: the last segment is re-sent after ~2 RTT instead of waiting for the RTO", () => {
    const r = rig();
    const s = establishActive(r, { sack: true, ts: true });
    s.send(bytes(100), 0, 100);
    const d = r.ip.one();
    r.clock.advance(20);
    inject(r.tcp, { ...P, seq: pseq, ack: d.seq + 100, flags: ACK, ts: [200, d.ts![0]] });
    s.send(bytes(3 * 1448), 0, 3 * 1448);
    const burst = r.ip.take();
    expect(burst).toHaveLength(3);
    const pto = r.tcp.nextDeadline() - r.clock.now();
    expect(pto).toBeGreaterThanOrEqual(2);
    expect(pto).toBeLessThan(200); // the RTO
    r.advance(pto - 1);
    expect(r.ip.take()).toHaveLength(0);
    r.advance(1);
    const probe = r.ip.one();
    expect(probe.seq).toBe(burst[2]!.seq);
    expect(r.tcp.stats.tailLossProbes).toBe(1);
  });

  test("lost retransmission: re-sent again once data sent after it is SACKed well above it", () => {
    const r = rig({ congestion: "newreno" });
    const s = establishActive(r, { sack: true });
    s.send(bytes(20 * 1460), 0, 20 * 1460);
    expect(r.ip.take()).toHaveLength(10);
    ackOf(r, seg(0), { sack: [[seg(1), seg(10)]] });
    const first = r.ip.take();
    expect(first[0]!.seq).toBe(seg(0)); // fast retransmit, then new data seg 10..13
    expect(first.slice(1).map((x) => x.seq)).toEqual([seg(10), seg(11), seg(12), seg(13)]);
    ackOf(r, seg(0), { sack: [[seg(1), seg(14)]] }); // data sent after the retransmission arrived
    expect(r.ip.take()[0]!.seq).toBe(seg(0));
    expect(r.tcp.stats.lostRetransmits).toBe(1);
  });

  test("Eifel: an ACK echoing a timestamp older than our retransmission undoes the window cut", () => {
    const r = rig({ congestion: "newreno" });
    const s = establishActive(r, { sack: true, ts: true });
    s.send(bytes(10 * 1448), 0, 10 * 1448);
    const out = r.ip.take();
    const tsOrig = out[0]!.ts![0];
    r.clock.advance(5);
    const base = 1001;
    const seg2 = (i: number) => base + i * 1448;
    inject(r.tcp, { ...P, seq: pseq, ack: base, flags: ACK, ts: [300, tsOrig], sack: [[seg2(1), seg2(5)]] });
    expect(r.tcp.stats.fastRetransmits).toBe(1);
    r.ip.take();
    // the original seg 0 arrives after all: cumulative ACK echoes its (older) timestamp
    inject(r.tcp, { ...P, seq: pseq, ack: seg2(10), flags: ACK, ts: [301, tsOrig] });
    expect(r.tcp.stats.spuriousRecoveries).toBe(1);
    s.send(bytes(30 * 1448), 0, 30 * 1448);
    expect(r.ip.take().length).toBeGreaterThanOrEqual(10); // window restored, not halved
  });

  test("recovery ends when the recovery point is acknowledged and cwnd = ssthresh", () => {
    const { r, s } = inFlight(6, { sack: true });
    ackOf(r, seg(0), { sack: [[seg(1), seg(4)]] });
    r.ip.take();
    ackOf(r, seg(6));
    s.send(bytes(20 * 1460), 0, 20 * 1460);
    // newreno ssthresh = flight/2 = 3 segments
    expect(r.ip.take()).toHaveLength(3);
  });

  test("CUBIC recovery reduces the window to 70%", () => {
    const { r, s } = inFlight(10, { sack: true, congestion: "cubic" });
    ackOf(r, seg(0), { sack: [[seg(1), seg(5)]] });
    r.ip.take();
    ackOf(r, seg(10));
    s.send(bytes(20 * 1460), 0, 20 * 1460);
    expect(r.ip.take()).toHaveLength(7);
  });
});

describe("RACK-like timers and early retransmit", () => {
  test("early retransmit (RFC 5827): 3 segments out, 2 dupACKs suffice when nothing new can be sent", () => {
    const { r } = inFlight(3);
    ackOf(r, seg(0));
    expect(r.ip.take()).toHaveLength(0);
    ackOf(r, seg(0));
    expect(r.ip.take()[0]!.seq).toBe(seg(0));
  });

  test("with one segment out, a dupACK does not trigger a retransmission", () => {
    const { r } = inFlight(1);
    ackOf(r, seg(0));
    ackOf(r, seg(0));
    expect(r.ip.take()).toHaveLength(0);
  });

  test("a D-SACK duplicate ACK is not counted as a dupACK", () => {
    const { r } = inFlight(6, { sack: true });
    for (let i = 0; i < 4; i++) ackOf(r, seg(1), { sack: [[seg(0), seg(1)]] });
    expect(r.tcp.stats.fastRetransmits).toBe(0);
  });

  test("SACKed data above a missing head: the probe timer declares the head lost (no RTO wait)", () => {
    const r = rig({ congestion: "newreno" });
    const s = establishActive(r, { sack: true, ts: true });
    s.send(bytes(100), 0, 100);
    const d = r.ip.one();
    r.clock.advance(20);
    inject(r.tcp, { ...P, seq: pseq, ack: d.seq + 100, flags: ACK, ts: [200, d.ts![0]] });
    s.send(bytes(10 * 1448), 0, 10 * 1448);
    const out = r.ip.take();
    const base = out[0]!.seq;
    // only one later segment SACKed: not enough for dupthresh
    inject(r.tcp, { ...P, seq: pseq, ack: base, flags: ACK, ts: [201, d.ts![0]], sack: [[base + 1448, base + 2896]] });
    expect(r.ip.take()).toHaveLength(0);
    const t = r.tcp.nextDeadline() - r.clock.now();
    expect(t).toBeLessThan(200);
    r.advance(t);
    expect(r.ip.take()[0]!.seq).toBe(base);
    expect(r.tcp.stats.fastRetransmits).toBe(1);
    expect(r.tcp.stats.rtoTimeouts).toBe(0);
  });

  test("in recovery, a repair that is lost again is re-sent by the probe timer before the RTO", () => {
    const r = rig({ congestion: "newreno" });
    const s = establishActive(r, { sack: true, ts: true });
    s.send(bytes(100), 0, 100);
    const d = r.ip.one();
    r.clock.advance(20);
    inject(r.tcp, { ...P, seq: pseq, ack: d.seq + 100, flags: ACK, ts: [200, d.ts![0]] });
    s.send(bytes(6 * 1448), 0, 6 * 1448);
    const base = r.ip.take()[0]!.seq;
    inject(r.tcp, { ...P, seq: pseq, ack: base, flags: ACK, ts: [201, d.ts![0]], sack: [[base + 1448, base + 6 * 1448]] });
    expect(r.ip.take()[0]!.seq).toBe(base); // fast retransmit
    const t = r.tcp.nextDeadline() - r.clock.now();
    expect(t).toBeLessThan(200);
    r.advance(t);
    expect(r.ip.take().map((x) => x.seq)).toEqual([base]); // re-sent without waiting for the RTO
    expect(r.tcp.stats.rtoTimeouts).toBe(0);
  });
});

describe("retransmissions stay inside what was sent", () => {
  test("a fast retransmit never carries bytes beyond snd.max (window-limited sender)", () => {
    const r = rig({ congestion: "newreno" });
    const s = establishActive(r, { window: 1000 });
    s.send(bytes(5000), 0, 5000);
    const first = r.ip.take();
    expect(first.map((x) => x.payload.length)).toEqual([1000]);
    for (let i = 0; i < 3; i++) ackOf(r, 1001, { window: 1000 });
    const rtx = r.ip.take();
    expect(rtx[0]!.seq).toBe(1001);
    expect(rtx[0]!.payload.length).toBe(1000);
  });

  test("a SACK hole smaller than the MSS is repaired with exactly the hole", () => {
    const r = rig({ congestion: "newreno" });
    const s = establishActive(r, { sack: true });
    s.nodelay = true;
    s.send(bytes(100), 0, 100);
    s.send(bytes(4 * 1460), 0, 4 * 1460);
    r.ip.take();
    ackOf(r, 1001, { sack: [[1101, 1101 + 4 * 1460]] });
    const rtx = r.ip.take();
    expect(rtx.map((x) => [x.seq, x.payload.length])).toEqual([[1001, 100]]);
  });
});

describe("D-SACK undo (RFC 3708 style)", () => {
  test("when the only retransmission of a recovery is D-SACKed, the window cut is undone", () => {
    const r = rig({ congestion: "newreno" });
    const s = establishActive(r, { sack: true });
    s.send(bytes(10 * 1460), 0, 10 * 1460);
    r.ip.take();
    ackOf(r, seg(0), { sack: [[seg(1), seg(5)]] }); // recovery, seg 0 retransmitted
    expect(r.ip.take()[0]!.seq).toBe(seg(0));
    ackOf(r, seg(10)); // everything arrived (the original seg 0 was only late)
    ackOf(r, seg(10), { sack: [[seg(0), seg(1)]] }); // D-SACK for the retransmission
    expect(r.tcp.stats.spuriousRecoveries).toBe(1);
    s.send(bytes(30 * 1460), 0, 30 * 1460);
    expect(r.ip.take().length).toBeGreaterThanOrEqual(10); // not cut to ssthresh (5)
  });

  test("without the D-SACK the cut stays", () => {
    const r = rig({ congestion: "newreno" });
    const s = establishActive(r, { sack: true });
    s.send(bytes(10 * 1460), 0, 10 * 1460);
    r.ip.take();
    ackOf(r, seg(0), { sack: [[seg(1), seg(5)]] });
    r.ip.take();
    ackOf(r, seg(10));
    s.send(bytes(30 * 1460), 0, 30 * 1460);
    expect(r.ip.take()).toHaveLength(5);
    expect(r.tcp.stats.spuriousRecoveries).toBe(0);
  });
});

describe("spurious RTO detection (Eifel, RFC 3522/4015)", () => {
  /** Run timers (tail probes first) until the retransmission timeout fired; return what it sent. */
  const untilRto = (r: Rig) => {
    for (let i = 0; i < 20 && r.tcp.stats.rtoTimeouts === 0; i++) {
      r.ip.take();
      r.advance(r.tcp.nextDeadline() - r.clock.now());
    }
    return r.ip.take();
  };

  test("an ACK echoing the original's timestamp after a timeout restores the window", () => {
    const r = rig({ congestion: "newreno" });
    const s = establishActive(r, { sack: true, ts: true });
    s.send(bytes(10 * 1448), 0, 10 * 1448);
    const out = r.ip.take();
    const tsOrig = out[0]!.ts![0];
    const rto = untilRto(r); // the first segment is resent, cwnd collapses to 1 MSS
    expect(rto.map((x) => x.seq)).toEqual([out[0]!.seq]);
    // the (late) ACK for the whole original flight echoes the original timestamp
    inject(r.tcp, { ...P, seq: pseq, ack: out[9]!.seq + 1448, flags: ACK, ts: [300, tsOrig] });
    expect(r.tcp.stats.spuriousRtos).toBe(1);
    s.send(bytes(30 * 1448), 0, 30 * 1448);
    expect(r.ip.take().length).toBeGreaterThanOrEqual(10);
  });

  test("an ACK echoing the retransmission's timestamp keeps the RTO response", () => {
    const r = rig({ congestion: "newreno" });
    const s = establishActive(r, { sack: true, ts: true });
    s.send(bytes(10 * 1448), 0, 10 * 1448);
    const out = r.ip.take();
    const rtx = untilRto(r)[0]!;
    r.clock.advance(5);
    inject(r.tcp, { ...P, seq: pseq, ack: out[0]!.seq + 1448, flags: ACK, ts: [300, rtx.ts![0]] });
    expect(r.tcp.stats.spuriousRtos).toBe(0);
    expect(r.ip.take().length).toBeLessThanOrEqual(2); // slow start from 1 MSS
  });
});

describe("dead peer with SACK and timestamps", () => {
  test("a few tail probes, then the RTO on its own schedule with backoff, then RST + ETIMEDOUT", () => {
    const r = rig({ congestion: "newreno", dataRetries: 3 });
    const s = establishActive(r, { sack: true, ts: true });
    const t0 = r.clock.now();
    s.send(bytes(10 * 1448), 0, 10 * 1448);
    r.ip.take();
    const rtoTimes: number[] = [];
    for (let i = 0; i < 20 && s.error === null; i++) {
      const before = r.tcp.stats.rtoTimeouts;
      r.advance(r.tcp.nextDeadline() - r.clock.now());
      if (r.tcp.stats.rtoTimeouts > before) rtoTimes.push(r.clock.now() - t0);
      r.ip.take();
    }
    expect(r.tcp.stats.tailLossProbes).toBe(4); // probes stop after a few without progress
    expect(rtoTimes).toEqual([200, 600, 1400, 3000]); // the probes did not delay the RTO
    expect(s.error).toBe("ETIMEDOUT");
  });
});
