import { expect, test } from "bun:test";
import { systemClock } from "../../../src/util/clock.ts";
import { SeededRng } from "../../../src/util/random.ts";
import { driveTcpTimers, TcpLayer } from "../../../src/stack/tcp/index.ts";
import { FakeIp, PEER, SYN } from "./harness.ts";

test("real-time driver retransmits a SYN on time with one host timer", async () => {
  const ip = new FakeIp();
  const tcp = new TcpLayer({ ip, clock: systemClock, rng: new SeededRng(3), initialRto: 30 });
  const driver = driveTcpTimers(tcp, systemClock);
  const t0 = performance.now();
  tcp.connect(PEER, 80);
  expect(ip.take().map((s) => s.flags)).toEqual([SYN]);
  await Bun.sleep(15);
  expect(ip.take()).toHaveLength(0);
  await Bun.sleep(40);
  const resent = ip.take();
  expect(resent.map((s) => s.flags)).toEqual([SYN]);
  expect(performance.now() - t0).toBeGreaterThanOrEqual(30);
  driver.stop();
  await Bun.sleep(100);
  expect(ip.take()).toHaveLength(0);
});
