import { describe, expect, test } from "bun:test";
import { Bbr } from "../../../src/stack/tcp/congestion/bbr.ts";
import { transfer } from "./sim-transfer.ts";
import { SimNet, type Faults } from "./sim-link.ts";
import type { TcpSocket } from "../../../src/stack/tcp/index.ts";

const MSS = 1000;

/**
 * Feeds a Bbr a path that delivers `rate` bytes/ms with `rtt` ms of round trip: one ACK per ms,
 * a round every rtt ms. Returns the time reached.
 */
function drive(b: Bbr, from: number, ms: number, rate: number, rtt: number, inflight = () => rate * rtt): number {
  let t = from;
  for (let i = 0; i < ms; i++) {
    t++;
    b.onRttSample(rtt, true, t);
    b.onDelivered(rate, 0, inflight(), MSS, t, t % rtt === 0);
  }
  return t;
}

describe("BBR model (units)", () => {
  test("STARTUP grows the window by what is delivered and paces at 2.885 x the first estimate", () => {
    const b = new Bbr(10 * MSS);
    expect(b.pacingRate).toBe(0); // no RTT yet: the initial window goes out unpaced
    b.onRttSample(10, true, 1);
    b.onDelivered(5 * MSS, 0, 5 * MSS, MSS, 1, false);
    expect(b.cwnd).toBe(15 * MSS);
    expect(b.modeName).toBe("startup");
    expect(b.pacingRate).toBeCloseTo((2.885 * 10 * MSS) / 10);
  });

  test("the bandwidth estimate is the delivery rate; STARTUP ends 3 rounds after it stops growing, DRAIN then PROBE_BW", () => {
    const b = new Bbr(10 * MSS);
    let t = drive(b, 0, 100, 1000, 10); // a steady 1000 B/ms: no growth after the first rounds
    expect(b.bandwidth).toBeCloseTo(1000, -1);
    expect(b.minRttMs).toBe(10);
    expect(["drain", "probe_bw"]).toContain(b.modeName);
    t = drive(b, t, 30, 1000, 10, () => 5 * MSS); // inflight below the BDP (10 KB): drained
    expect(b.modeName).toBe("probe_bw");
    // PROBE_BW: window = 2 x BDP plus send quanta and ACK aggregation; pacing near the estimate
    expect(b.cwnd).toBeGreaterThanOrEqual(2 * 1000 * 10);
    expect(b.cwnd).toBeLessThan(2 * 1000 * 10 + 20 * MSS);
    expect(b.pacingRate).toBeGreaterThan(0.7 * 1000);
    expect(b.pacingRate).toBeLessThan(1.3 * 1000);
  });

  test("PROBE_BW cycles its pacing gain: 1.25 to probe, 0.75 to drain, 1 to cruise", () => {
    const b = new Bbr(10 * MSS);
    let t = drive(b, 0, 130, 1000, 10, () => 5 * MSS);
    const gains = new Set<number>();
    for (let i = 0; i < 200; i++) {
      t = drive(b, t, 1, 1000, 10, () => 25 * MSS); // inflight high enough to end a probe
      gains.add(Math.round((b.pacingRate / b.bandwidth) * 100) / 100);
    }
    expect([...gains].sort()).toEqual([0.74, 0.99, 1.24]); // x 0.99 pacing margin
  });

  test("a higher delivery rate raises the estimate; a lower one is forgotten only after 10 rounds", () => {
    const b = new Bbr(10 * MSS);
    let t = drive(b, 0, 200, 1000, 10, () => 5 * MSS);
    t = drive(b, t, 50, 2000, 10, () => 10 * MSS);
    expect(b.bandwidth).toBeCloseTo(2000, -2);
    t = drive(b, t, 50, 500, 10, () => 5 * MSS); // 5 rounds of less: the max holds
    expect(b.bandwidth).toBeCloseTo(2000, -2);
    drive(b, t, 100, 500, 10, () => 5 * MSS); // 10 more rounds: it is gone
    expect(b.bandwidth).toBeCloseTo(500, -1);
  });

  test("application-limited samples never lower the estimate", () => {
    const b = new Bbr(10 * MSS);
    let t = drive(b, 0, 200, 1000, 10, () => 5 * MSS);
    for (let i = 0; i < 300; i++) {
      b.onAppLimited();
      t = drive(b, t, 1, 100, 10, () => MSS);
    }
    expect(b.bandwidth).toBeCloseTo(1000, -1);
  });

  test("random loss does not shrink the model: recovery conserves packets, then the window is restored", () => {
    const b = new Bbr(10 * MSS);
    let t = drive(b, 0, 200, 1000, 10, () => 15 * MSS);
    const before = b.cwnd;
    b.onEnterRecovery(before, MSS, t, before - MSS);
    expect(b.cwnd).toBe(before); // inflight + 1 segment
    b.onDelivered(MSS, 2 * MSS, before - 3 * MSS, MSS, ++t, false);
    expect(b.cwnd).toBe(before - 2 * MSS); // what was lost left the window
    b.onExitRecovery(MSS, t, false);
    expect(b.cwnd).toBe(before);
    expect(b.bandwidth).toBeCloseTo(1000, -1);
    b.onRto(before, MSS, t);
    expect(b.cwnd).toBe(4 * MSS);
    b.onExitRecovery(MSS, t, true);
    expect(b.cwnd).toBe(before); // a timeout's recovery restores the window too
  });

  test("packet conservation lasts until the round under way ends, then the window grows again", () => {
    // At 1% random loss on a 20 ms path most rounds start a recovery; conserving through the
    // next round as well kept STARTUP from growing at all (stack-loss bench).
    const b = new Bbr(10 * MSS);
    b.onRttSample(10, true, 1);
    b.onDelivered(MSS, 0, 10 * MSS, MSS, 1, false);
    expect(b.cwnd).toBe(11 * MSS);
    b.onEnterRecovery(20 * MSS, MSS, 2, 10 * MSS);
    expect(b.cwnd).toBe(11 * MSS); // inflight + 1 segment
    b.onDelivered(MSS, 0, 5 * MSS, MSS, 3, false);
    expect(b.cwnd).toBe(11 * MSS); // conserving: no more than what was delivered goes out
    b.onDelivered(MSS, 0, 5 * MSS, MSS, 4, true); // the round ends
    expect(b.cwnd).toBe(12 * MSS);
    b.onDelivered(MSS, 0, 5 * MSS, MSS, 5, false);
    expect(b.cwnd).toBe(13 * MSS); // STARTUP's growth, still in recovery
    expect(b.modeName).toBe("startup");
  });

  test("PROBE_RTT: after 10 s without a lower RTT, 4 segments for 200 ms and a round, then back", () => {
    const b = new Bbr(10 * MSS);
    let t = drive(b, 0, 200, 1000, 10, () => 5 * MSS);
    expect(b.modeName).toBe("probe_bw");
    // RTT samples now all 12 ms: the 10 ms one expires at 10 s
    let sawProbeRtt = -1;
    for (let i = 0; i < 10_500 && sawProbeRtt < 0; i++) {
      t++;
      b.onRttSample(12, true, t);
      b.onDelivered(1000, 0, 3 * MSS, MSS, t, t % 10 === 0);
      if (b.modeName === "probe_rtt") sawProbeRtt = t;
    }
    expect(sawProbeRtt).toBeGreaterThan(10_000);
    expect(b.cwnd).toBe(4 * MSS);
    t = drive(b, t, 250, 1000, 12, () => 3 * MSS);
    expect(b.modeName).toBe("probe_bw");
    expect(b.minRttMs).toBe(12);
    expect(b.cwnd).toBeGreaterThan(4 * MSS);
  });
});

describe("BBR over the simulated link", () => {
  const big = { recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 };

  test("random loss (1%, 2 and 20 ms RTT; 5%): intact, and 5x+ what CUBIC moves there (it cuts its window at every loss)", () => {
    for (const f of [
      { loss: 0.01, delayMs: 1 },
      { loss: 0.01, delayMs: 10 },
      { loss: 0.05, delayMs: 2 },
    ] satisfies Faults[]) {
      const c = transfer(3, f, 4 << 20, 0, { congestion: "cubic", ...big });
      const b = transfer(3, f, 4 << 20, 0, { congestion: "bbr", ...big });
      expect(c.ok && b.ok).toBe(true);
      expect(b.receivedHash).toBe(b.sentHash);
      // measured: 10x, 9x and 15x
      expect(b.simMs * 5).toBeLessThan(c.simMs);
    }
  });

  test("no false 'spurious recovery' under random loss without reordering (it raised dupThresh to 24)", () => {
    const r = transfer(3, { loss: 0.05, delayMs: 1 }, 8 << 20, 0, { congestion: "bbr", ...big });
    expect(r.ok).toBe(true);
    expect(r.senderStats.fastRetransmits).toBeGreaterThan(5);
    expect(r.senderStats.spuriousRecoveries).toBe(0);
    // every retransmission repairs a loss, give or take lost repairs: not 2.5x the drops as before
    expect(r.senderStats.retransmits).toBeLessThan(r.dropped * 0.8);
  });

  test("reordering (10% of segments 3 ms late, 100 ms RTT) costs neither BBR nor CUBIC most of their rate", () => {
    // BBR: its recovery state outlived an undone (spurious) recovery, 4.5 instead of 10.7 MB/s.
    // CUBIC: a recovery that began while the last one's repairs were out was never undone, 1.1
    // instead of 7.1 MB/s (the kernel's reordering test: 1.7 instead of 22 MiB/s).
    const f: Faults = { delayMs: 50, reorder: 0.1, reorderDelayMs: 3 };
    for (const congestion of ["bbr", "cubic"] as const) {
      const clean = transfer(1, { delayMs: 50 }, 16 << 20, 0, { congestion, ...big });
      const r = transfer(1, f, 16 << 20, 0, { congestion, ...big });
      expect(r.ok && clean.ok).toBe(true);
      expect(r.receivedHash).toBe(r.sentHash);
      expect(r.senderStats.spuriousRecoveries).toBeGreaterThan(0); // the reordering fooled it, and it knew
      expect(r.simMs).toBeLessThan(clean.simMs * (congestion === "bbr" ? 1.2 : 2.5));
    }
  });

  test("a clean bottleneck, deep or shallow buffer: close to the link rate, where CUBIC overflows the shallow one", () => {
    const link = 12_500; // bytes per ms
    for (const queueBytes of [400_000, 30_000]) {
      const f: Faults = { delayMs: 10, rateBytesPerMs: link, queueBytes };
      const b = transfer(2, f, 8 << 20, 0, { congestion: "bbr", ...big });
      const c = transfer(2, f, 8 << 20, 0, { congestion: "cubic", ...big });
      expect(b.ok && c.ok).toBe(true);
      expect(b.receivedHash).toBe(b.sentHash);
      const ideal = (8 << 20) / link; // 671 ms; measured 860 / 905 ms with STARTUP
      expect(b.simMs).toBeLessThan(ideal * 1.5);
      expect(b.simMs).toBeLessThanOrEqual(c.simMs * 1.1);
    }
  });

  test("two BBR flows on one bottleneck both get a share", () => {
    const net = new SimNet(5, { delayMs: 10, rateBytesPerMs: 5000, queueBytes: 100_000 });
    const a = net.addNode(0x0a000001, { congestion: "bbr", ...big });
    const b = net.addNode(0x0a000002, { congestion: "bbr", ...big });
    const got = [0, 0];
    const sink = new Uint8Array(1 << 16);
    let accepted = 0;
    b.listen(80, {
      handler: {
        onAcceptable: (l) => {
          for (let s = l.accept(); s !== null; s = l.accept()) {
            const idx = accepted++;
            s.handler = {
              onReadable: (sock) => {
                for (let n = sock.recv(sink, 0, sink.length); n > 0; n = sock.recv(sink, 0, sink.length)) got[idx]! += n;
              },
            };
          }
        },
      },
    });
    const data = new Uint8Array(1 << 20);
    const pump = (s: TcpSocket) => {
      while (s.writableLength > 0) s.send(data, 0, Math.min(data.length, s.writableLength));
    };
    for (let i = 0; i < 2; i++) a.connect(0x0a000002, 80, { handler: { onConnect: pump, onWritable: pump } });
    net.run(() => false, 20_000);
    const total = got[0]! + got[1]!;
    expect(total).toBeGreaterThan(5000 * 20_000 * 0.7); // the link stays busy
    expect(Math.min(got[0]!, got[1]!) / total).toBeGreaterThan(0.25);
  });

  test("pacing: an application's 64 KB burst goes out spread over milliseconds, not at once (CUBIC sends it at once)", () => {
    const spread = (congestion: "bbr" | "cubic"): number => {
      const net = new SimNet(7, { delayMs: 20 });
      const a = net.addNode(0x0a000001, { congestion, ...big });
      const b = net.addNode(0x0a000002, { congestion, ...big });
      const arrivals: number[] = [];
      const sink = new Uint8Array(1 << 16);
      let recvd = 0;
      b.listen(80, {
        handler: {
          onAcceptable: (l) => {
            const s = l.accept()!;
            s.handler = {
              onReadable: (sock) => {
                for (let n = sock.recv(sink, 0, sink.length); n > 0; n = sock.recv(sink, 0, sink.length)) {
                  recvd += n;
                  arrivals.push(net.clock.now());
                }
              },
            };
          },
        },
      });
      let sock: TcpSocket | null = null;
      a.connect(0x0a000002, 80, { handler: { onConnect: (s) => (sock = s) } });
      net.run(() => sock !== null, 1000);
      const chunk = new Uint8Array(64 * 1024);
      const spreads: number[] = [];
      const t0 = net.clock.now();
      for (let i = 0; i < 30; i++) {
        net.clock.set(t0 + i * 200);
        arrivals.length = 0;
        const want = recvd + chunk.length;
        sock!.send(chunk, 0, chunk.length);
        net.run(() => recvd >= want, 190);
        expect(recvd).toBe(want);
        spreads.push(arrivals[arrivals.length - 1]! - arrivals[0]!);
      }
      return spreads.slice(10).sort((x, y) => x - y)[10]!; // median once warm
    };
    expect(spread("cubic")).toBeLessThan(1);
    expect(spread("bbr")).toBeGreaterThan(5);
  });
});
