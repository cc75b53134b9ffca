/**
 * Two NetStacks in one process over FaultLinks on a ManualClock: ARP, TCP handshake and bulk
 * transfers both ways at once, with loss, reordering, duplication, corruption and delay, across
 * many seeds. Every transfer must arrive intact (sha256) within a bound of simulated time.
 */
import { describe, expect, test } from "bun:test";
import { createLinkPair, type FaultConfig } from "../../src/stack/link/fault-link.ts";
import { Simulator } from "../../src/stack/link/simulator.ts";
import { NetStack } from "../../src/stack/stack.ts";
import { ManualClock } from "../../src/util/clock.ts";
import { SeededRng } from "../../src/util/random.ts";
import { IP_A, IP_B, MAC_A, MAC_B } from "./frames.ts";
import { clientExchange, echoServer, hashingServer, sha256, type Received } from "./stack-apps.ts";

function pair(seed: number, faults: FaultConfig, mtu = 1500) {
  const clock = new ManualClock(0);
  const rng = new SeededRng(seed);
  const { aToB, bToA } = createLinkPair(clock, rng, faults);
  const tcp = { recvBufferSize: 256 * 1024, sendBufferSize: 256 * 1024 };
  const a = new NetStack(aToB, { mac: MAC_A, mtu, clock, rng: new SeededRng(seed * 7 + 1), tcp });
  const b = new NetStack(bToA, { mac: MAC_B, mtu, clock, rng: new SeededRng(seed * 7 + 2), tcp });
  a.addAddress(IP_A, 24);
  b.addAddress(IP_B, 24);
  aToB.receiver = b;
  bToA.receiver = a;
  a.start();
  b.start();
  const sim = new Simulator(clock).add(a, b, aToB, bToA);
  return { clock, a, b, aToB, bToA, sim };
}

function data(seed: number, n: number): Uint8Array {
  const d = new Uint8Array(n);
  new SeededRng(seed).fill(d);
  return d;
}

async function settle<T>(sim: Simulator, p: Promise<T>, maxMs: number): Promise<T | "timeout"> {
  let v: T | undefined;
  let done = false;
  void p.then((x) => {
    v = x;
    done = true;
  });
  const ok = await sim.run(() => done, maxMs);
  return ok ? v! : "timeout";
}

const SCENARIOS: { name: string; faults: FaultConfig; seeds: number; bytes: number; maxMs: number }[] = [
  { name: "clean, 1 ms delay", faults: { delayMs: 1 }, seeds: 2, bytes: 2 << 20, maxMs: 60_000 },
  { name: "2% loss", faults: { lossPct: 2, delayMs: 5 }, seeds: 10, bytes: 512 * 1024, maxMs: 300_000 },
  { name: "reordering 20%, duplication 10%", faults: { reorderPct: 20, reorderDelayMs: 4, dupPct: 10, delayMs: 10, jitterMs: 2 }, seeds: 10, bytes: 512 * 1024, maxMs: 300_000 },
  { name: "5% loss, 1% corruption, jitter", faults: { lossPct: 5, corruptPct: 1, delayMs: 20, jitterMs: 10 }, seeds: 10, bytes: 256 * 1024, maxMs: 600_000 },
];

describe("two stacks over a faulty link (simulated time)", () => {
  for (const sc of SCENARIOS) {
    for (let seed = 1; seed <= sc.seeds; seed++) {
      test(`${sc.name}, seed ${seed}: transfers both ways at once arrive intact`, async () => {
        const { a, b, sim, aToB, bToA } = pair(seed, sc.faults);
        const up = data(seed, sc.bytes);
        const srv = hashingServer(b, 80, (r) => new TextEncoder().encode(r.sha256));
        const reply = clientExchange(a, IP_B, 80, up);
        const down = data(seed + 1000, sc.bytes);
        const echo = echoServer(a, 7, 64 * 1024);
        const back = clientExchange(b, IP_A, 7, down);
        const r = await settle(sim, Promise.all([reply, back, Promise.all(srv.results)]), sc.maxMs);
        expect(r).not.toBe("timeout");
        const [rep, ech] = r as [Received, Received, Received[]];
        expect(rep.error).toBeNull();
        expect(ech.error).toBeNull();
        // The server hashed what it got and sent the digest back: it must be the digest of what we sent.
        expect(srv.results.length).toBe(1);
        expect((await srv.results[0]!).sha256).toBe(sha256(up));
        expect(rep.bytes).toBe(64);
        expect(ech.sha256).toBe(sha256(down));
        expect(echo.accepted).toBe(1);
        // The faults were really injected.
        const st = (k: "lost" | "reordered" | "duplicated" | "corrupted") => aToB.stats[k] + bToA.stats[k];
        if (sc.faults.lossPct) expect(st("lost")).toBeGreaterThan(0);
        if (sc.faults.reorderPct) expect(st("reordered")).toBeGreaterThan(0);
        if (sc.faults.dupPct) expect(st("duplicated")).toBeGreaterThan(0);
        if (sc.faults.corruptPct) expect(st("corrupted")).toBeGreaterThan(0);
      }, 60_000);
    }
  }

  test("many connections through one lossy link", async () => {
    const { a, b, sim } = pair(99, { lossPct: 3, delayMs: 2, reorderPct: 5 });
    echoServer(b, 7, 8192);
    const jobs: Promise<boolean>[] = [];
    for (let i = 0; i < 200; i++) {
      const d = data(i, 1000 + i * 13);
      jobs.push(clientExchange(a, IP_B, 7, d, { recvBufferSize: 8192, sendBufferSize: 8192 }).then((r) => r.error === null && r.sha256 === sha256(d)));
    }
    const r = await settle(sim, Promise.all(jobs), 600_000);
    expect(r).not.toBe("timeout");
    expect((r as boolean[]).filter(Boolean).length).toBe(200);
  }, 60_000);

  test("MTU 2800 with fragmented pings and TCP side by side", async () => {
    const { a, b, sim } = pair(5, { delayMs: 1, lossPct: 1 }, 2800);
    const seen = new Set<number>();
    a.iface.onEchoReply = (_src, _id, seq) => seen.add(seq);
    for (let i = 0; i < 10; i++) a.iface.sendPing(IP_B, 1, i, 6000);
    const d = data(7, 1 << 20);
    const srv = hashingServer(b, 80);
    void clientExchange(a, IP_B, 80, d);
    await sim.run(() => srv.results.length === 1, 120_000);
    const got = await settle(sim, srv.results[0]!, 120_000);
    expect(got).not.toBe("timeout");
    expect((got as Received).sha256).toBe(sha256(d));
    expect(seen.size).toBeGreaterThan(5);
    expect(b.iface.stats.fragmentsReassembled).toBeGreaterThan(5);
  }, 60_000);
});

describe("a stack talking to itself", () => {
  test("TCP to our own address (simulated time): 1 MiB echoed intact, nothing on the link", async () => {
    const { a, sim, aToB } = pair(11, {});
    echoServer(a, 7, 64 * 1024);
    const d = data(3, 1 << 20);
    const r = await settle(sim, clientExchange(a, IP_A, 7, d), 60_000);
    expect(r).not.toBe("timeout");
    expect((r as Received).sha256).toBe(sha256(d));
    expect(aToB.stats.sent).toBe(1); // only the gratuitous ARP from start()
    expect(a.iface.stats.loopbackDatagrams).toBeGreaterThan(100);
  }, 30_000);

  test("TCP to our own address in real time", async () => {
    const sent: number[] = [];
    const s = new NetStack({ sendFrame: (_b, st, e) => void sent.push(e - st) }, { mac: MAC_A, mtu: 1500 });
    s.addAddress(IP_A, 24);
    s.start();
    echoServer(s, 7, 64 * 1024);
    const d = data(4, 1 << 20);
    const r = await clientExchange(s, IP_A, 7, d);
    s.stop();
    expect(r.error).toBeNull();
    expect(r.sha256).toBe(sha256(d));
    expect(sent.length).toBe(1);
  }, 30_000);
});
