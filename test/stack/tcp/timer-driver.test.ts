/**
 * driveTcpTimers: the SYN retransmission timer on a manual clock (exact: not before the RTO, at the
 * RTO, nothing after stop), and once in real time with bounds that only catch a driver that does
 * not work at all (a loaded machine may stall the event loop for a long time).
 */
import { expect, test } from "bun:test";
import { ManualClock, ManualTimers, systemClock } from "../../../src/util/clock.ts";
import { SeededRng } from "../../../src/util/random.ts";
import { driveTcpTimers, TcpLayer } from "../../../src/stack/tcp/index.ts";
import { FakeIp, PEER, SYN } from "./harness.ts";

test("the driver retransmits a SYN exactly at the RTO with one host timer (manual clock)", () => {
  const clock = new ManualClock(5000);
  const timers = new ManualTimers(clock);
  const ip = new FakeIp();
  const tcp = new TcpLayer({ ip, clock, rng: new SeededRng(3), initialRto: 30 });
  const driver = driveTcpTimers(tcp, clock, timers);
  tcp.connect(PEER, 80);
  expect(ip.take().map((s) => s.flags)).toEqual([SYN]);
  expect(timers.pending).toBe(1);
  timers.advance(29);
  expect(ip.take()).toHaveLength(0);
  timers.advance(1);
  expect(ip.take().map((s) => s.flags)).toEqual([SYN]);
  expect(timers.pending).toBe(1); // re-armed for the next (backed-off) retransmission
  driver.stop();
  expect(timers.pending).toBe(0);
  timers.advance(60_000);
  expect(ip.take()).toHaveLength(0);
});

test("real-time driver retransmits a SYN, never before the RTO", async () => {
  const ip = new FakeIp();
  const tcp = new TcpLayer({ ip, clock: systemClock, rng: new SeededRng(3), initialRto: 30 });
  const driver = driveTcpTimers(tcp, systemClock);
  const t0 = systemClock.now();
  tcp.connect(PEER, 80);
  expect(ip.take().map((s) => s.flags)).toEqual([SYN]);
  let resent: number | null = null;
  const deadline = t0 + 5000;
  while (resent === null && systemClock.now() < deadline) {
    await Bun.sleep(5);
    if (ip.take().some((s) => s.flags === SYN)) resent = systemClock.now();
  }
  driver.stop();
  expect(resent).not.toBeNull();
  expect(resent! - t0).toBeGreaterThanOrEqual(30);
});
