import { describe, expect, test } from "bun:test";
import { RtoEstimator } from "../../../src/stack/tcp/rto.ts";
import { Cubic } from "../../../src/stack/tcp/congestion/cubic.ts";
import { NewReno } from "../../../src/stack/tcp/congestion/newreno.ts";
import { TimerHeap } from "../../../src/util/timer-heap.ts";
import { SynCookies } from "../../../src/stack/tcp/syn-cookie.ts";
import { SeededRng } from "../../../src/util/random.ts";
import { icmpUnreachToErrno } from "../../../src/stack/tcp/errors.ts";

describe("RTO estimator (RFC 6298)", () => {
  test("initial RTO before any sample", () => {
    expect(new RtoEstimator(200, 120_000, 1000).current()).toBe(1000);
  });
  test("first sample: srtt=R, rttvar=R/2, rto=srtt+4*rttvar", () => {
    const r = new RtoEstimator(200, 120_000, 1000);
    r.sample(100);
    expect([r.srtt, r.rttvar, r.rto]).toEqual([100, 50, 300]);
  });
  test("subsequent samples use alpha=1/8, beta=1/4", () => {
    const r = new RtoEstimator(200, 120_000, 1000);
    r.sample(100);
    r.sample(200);
    expect(r.rttvar).toBeCloseTo(0.75 * 50 + 0.25 * 100);
    expect(r.srtt).toBeCloseTo(0.875 * 100 + 0.125 * 200);
  });
  test("minimum RTO is enforced", () => {
    const r = new RtoEstimator(200, 120_000, 1000);
    r.sample(1);
    expect(r.current()).toBe(200);
  });
  test("backoff doubles up to the maximum; a new sample resets it", () => {
    const r = new RtoEstimator(200, 5000, 1000);
    r.onTimeout();
    expect(r.current()).toBe(2000);
    r.onTimeout();
    r.onTimeout();
    expect(r.current()).toBe(5000);
    r.sample(100);
    expect(r.current()).toBe(300);
  });
});

describe("congestion control", () => {
  test("NewReno slow start grows by acked bytes (ABC, L=2)", () => {
    const c = new NewReno(10 * 1000);
    c.onAck(1000, 1000);
    expect(c.cwnd).toBe(11_000);
    c.onAck(5000, 1000);
    expect(c.cwnd).toBe(13_000);
  });
  test("NewReno congestion avoidance: +1 MSS per cwnd acked", () => {
    const c = new NewReno(10_000);
    c.ssthresh = 5000;
    for (let i = 0; i < 10; i++) c.onAck(1000, 1000);
    expect(c.cwnd).toBe(11_000);
  });
  test("NewReno loss: ssthresh = max(flight/2, 2 MSS); RTO: cwnd = 1 MSS", () => {
    const c = new NewReno(20_000);
    c.onEnterRecovery(20_000, 1000);
    expect([c.ssthresh, c.cwnd]).toEqual([10_000, 10_000]);
    c.onRto(3000, 1000);
    expect([c.ssthresh, c.cwnd]).toEqual([2000, 1000]);
  });
  test("CUBIC multiplicative decrease uses beta = 0.7", () => {
    const c = new Cubic(100 * 1000);
    c.onEnterRecovery(100_000, 1000);
    expect(c.ssthresh).toBe(70_000);
    expect(c.cwnd).toBe(70_000);
    expect(c.wMax).toBe(100);
  });
  test("CUBIC fast convergence lowers W_max on consecutive losses", () => {
    const c = new Cubic(100 * 1000);
    c.onEnterRecovery(0, 1000);
    c.onEnterRecovery(0, 1000); // cwnd 70 < last max 100
    expect(c.wMax).toBeCloseTo(70 * 0.85);
  });
  test("CUBIC grows back toward W_max (concave) and beyond (convex) over time", () => {
    const c = new Cubic(100 * 1000);
    c.onEnterRecovery(0, 1000);
    c.onExitRecovery(1000, 0, false);
    let t = 0;
    const at = (ms: number) => {
      while (t < ms) {
        t += 10;
        c.onAck(1000, 1000, t, 10);
      }
      return c.cwnd / 1000;
    };
    const w1 = at(1000);
    const wK = at(4000); // K = cbrt(100*0.3/0.4) ~ 4.2 s
    const w8 = at(8000);
    expect(w1).toBeGreaterThan(70);
    expect(wK).toBeGreaterThan(w1);
    expect(wK).toBeLessThan(101);
    expect(w8).toBeGreaterThan(100);
  });
  test("CUBIC RTO collapses cwnd to 1 MSS", () => {
    const c = new Cubic(50_000);
    c.onRto(0, 1000);
    expect(c.cwnd).toBe(1000);
    expect(c.ssthresh).toBe(35_000);
  });
});

describe("timer heap", () => {
  test("orders by deadline, supports updates and removal", () => {
    const h = new TimerHeap<{ deadline: number; heapIndex: number; id: number }>();
    const items = [5, 3, 9, 1, 7].map((d, id) => ({ deadline: d, heapIndex: -1, id }));
    for (const it of items) h.update(it);
    expect(h.peek()!.deadline).toBe(1);
    items[3]!.deadline = 10;
    h.update(items[3]!);
    expect(h.peek()!.deadline).toBe(3);
    items[1]!.deadline = Infinity;
    h.update(items[1]!);
    expect(h.peek()!.deadline).toBe(5);
    h.remove(items[0]!);
    const order: number[] = [];
    while (h.size > 0) {
      const t = h.peek()!;
      order.push(t.deadline);
      h.remove(t);
    }
    expect(order).toEqual([7, 9, 10]);
  });
});

describe("SYN cookies", () => {
  const c = new SynCookies(new SeededRng(5));
  test("a cookie verifies for the same tuple and encodes the MSS class", () => {
    const iss = c.make(1000, 1, 80, 2, 4000, 12345, 1460);
    expect(c.check(2000, 1, 80, 2, 4000, 12345, iss)).toBe(true);
    expect(c.mss).toBe(1460);
  });
  test("a cookie fails for another tuple or peer ISN", () => {
    const iss = c.make(1000, 1, 80, 2, 4000, 12345, 1460);
    expect(c.check(1000, 1, 80, 2, 4001, 12345, iss)).toBe(false);
    expect(c.check(1000, 1, 80, 2, 4000, 12346, iss)).toBe(false);
  });
  test("a cookie expires after two 64 s slots", () => {
    const iss = c.make(0, 1, 80, 2, 4000, 1, 536);
    expect(c.check(64_000 + 10, 1, 80, 2, 4000, 1, iss)).toBe(true);
    expect(c.check(128_000 + 10, 1, 80, 2, 4000, 1, iss)).toBe(false);
  });
  test("MSS rounds down to the table", () => {
    const iss = c.make(0, 1, 80, 2, 4000, 1, 1400);
    c.check(0, 1, 80, 2, 4000, 1, iss);
    expect(c.mss).toBe(1360);
  });
});

describe("ICMP code to errno", () => {
  const cases: [number, string][] = [[0, "ENETUNREACH"], [1, "EHOSTUNREACH"], [3, "ECONNREFUSED"], [10, "EHOSTUNREACH"], [13, "EHOSTUNREACH"]];
  for (const [code, want] of cases) test(`code ${code} -> ${want}`, () => expect(icmpUnreachToErrno(code)).toBe(want as ReturnType<typeof icmpUnreachToErrno>));
});

describe("HyStart++ delay increase (RFC 9406)", () => {
  test("slow start ends when this round's min RTT exceeds last round's by eta", () => {
    const c = new Cubic(10_000);
    for (let i = 0; i < 8; i++) c.onRttSample(50);
    c.onRoundEnd();
    for (let i = 0; i < 7; i++) c.onRttSample(57);
    expect(c.ssthresh).toBe(Number.MAX_SAFE_INTEGER); // needs 8 samples
    c.onRttSample(57); // 57 >= 50 + 6.25
    expect(c.ssthresh).toBe(c.cwnd);
  });
  test("a small RTT rise (below eta) keeps slow start", () => {
    const c = new NewReno(10_000);
    for (let i = 0; i < 8; i++) c.onRttSample(50);
    c.onRoundEnd();
    for (let i = 0; i < 8; i++) c.onRttSample(55);
    expect(c.ssthresh).toBe(Number.MAX_SAFE_INTEGER);
  });
  test("eta is at least 4 ms (LAN jitter is not a queue)", () => {
    const c = new Cubic(10_000);
    for (let i = 0; i < 8; i++) c.onRttSample(0.2);
    c.onRoundEnd();
    for (let i = 0; i < 8; i++) c.onRttSample(3);
    expect(c.ssthresh).toBe(Number.MAX_SAFE_INTEGER);
  });
});
