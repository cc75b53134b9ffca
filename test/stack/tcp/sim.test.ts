import { describe, expect, test } from "bun:test";
import { SeededRng } from "../../../src/util/random.ts";
import { transfer } from "./sim-transfer.ts";
import { SimNet, type Faults } from "./sim-link.ts";
import type { TcpSocket } from "../../../src/stack/tcp/index.ts";

const profiles: [string, Faults][] = [
  ["clean", { delayMs: 5 }],
  ["loss 1%", { loss: 0.01, delayMs: 10 }],
  ["loss 5%", { loss: 0.05, delayMs: 10 }],
  ["loss 15%", { loss: 0.15, delayMs: 3 }],
  ["reorder", { reorder: 0.25, reorderDelayMs: 20, delayMs: 5 }],
  ["duplicate", { duplicate: 0.2, delayMs: 5 }],
  ["delay 50ms", { delayMs: 50 }],
  ["everything", { loss: 0.05, duplicate: 0.05, reorder: 0.1, reorderDelayMs: 30, delayMs: 25 }],
  ["bottleneck", { delayMs: 20, rateBytesPerMs: 2000, queueBytes: 60_000 }],
];

describe("simulated transfers over a faulty IP link (hash compare)", () => {
  for (const [name, faults] of profiles) {
    for (const cc of ["cubic", "newreno", "bbr"] as const) {
      for (const sack of [true, false]) {
        test(`${name}, ${cc}, sack=${sack}, 8 seeds`, () => {
          for (let seed = 1; seed <= 8; seed++) {
            const r = transfer(seed * 101 + name.length, faults, 200_000, 60_000, { congestion: cc, sack });
            expect({ seed, ok: r.ok }).toEqual({ seed, ok: true });
            expect(r.receivedHash).toBe(r.sentHash);
            expect(r.backHash).toBe(r.backSentHash!);
          }
        });
      }
    }
  }

  test("sequence numbers wrap around 2^32 mid-transfer (both directions)", () => {
    for (let seed = 1; seed <= 4; seed++) {
      const r = transfer(seed, { loss: 0.03, reorder: 0.1, delayMs: 5 }, 300_000, 300_000, {
        issFn: () => 0xffffffff - 100_000,
      });
      expect(r.ok).toBe(true);
      expect(r.receivedHash).toBe(r.sentHash);
      expect(r.backHash).toBe(r.backSentHash!);
    }
  });

  test("MTU 2800 with loss: segments fill the larger MSS", () => {
    const r = transfer(7, { loss: 0.02, delayMs: 5, mtu: 2800 }, 500_000, 10_000);
    expect(r.ok).toBe(true);
    expect(r.receivedHash).toBe(r.sentHash);
  });

  test("no window scaling / timestamps / SACK at all", () => {
    const r = transfer(9, { loss: 0.03, delayMs: 5 }, 300_000, 30_000, { windowScaling: false, timestamps: false, sack: false });
    expect(r.ok).toBe(true);
    expect(r.receivedHash).toBe(r.sentHash);
  });

  test("small buffers (4 KB) force zero windows and persist probing", () => {
    const r = transfer(11, { loss: 0.02, delayMs: 5 }, 100_000, 20_000, { recvBufferSize: 4096, sendBufferSize: 4096 });
    expect(r.ok).toBe(true);
    expect(r.receivedHash).toBe(r.sentHash);
  });

  test("a burst of loss in a big window (slow start overshooting a deep queue) is repaired in a few round trips", () => {
    // 32 out-of-order ranges (receiver) and SACK ranges (sender) made this take 23.7 s: past them,
    // the receiver dropped islands and the sender's pipe counted SACKed data as in flight.
    const big = { recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 };
    const r = transfer(3, { delayMs: 10, rateBytesPerMs: 12_500, queueBytes: 400_000 }, 4 << 20, 0, { congestion: "cubic", ...big });
    expect(r.ok).toBe(true);
    expect(r.receivedHash).toBe(r.sentHash);
    expect(r.senderStats.fastRetransmits).toBeGreaterThan(0); // the overshoot happened
    expect(r.simMs).toBeLessThan(1000); // measured 463 ms; the link alone needs 336
  });

  test("receive autotuning keeps ahead of a sender in slow start (a window more than 2x per RTT when it speeds up)", () => {
    // default buffers: the receiver starts at 256 KB and grows toward 4 MB; 20 ms round trips
    const r = transfer(1, { delayMs: 10 }, 8 << 20, 0, { congestion: "cubic" });
    expect(r.ok).toBe(true);
    expect(r.receivedHash).toBe(r.sentHash);
    expect(r.simMs).toBeLessThan(250); // measured 220 ms; doubling per RTT at most: 280
  });

  test("CUBIC vs NewReno sanity on a long fat lossy path: both intact, CUBIC not slower", () => {
    let cubicMs = 0;
    let renoMs = 0;
    for (let seed = 1; seed <= 3; seed++) {
      const f: Faults = { loss: 0.002, delayMs: 40, rateBytesPerMs: 12_500, queueBytes: 400_000 };
      const big = { recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 };
      const c = transfer(seed, f, 8 << 20, 0, { congestion: "cubic", ...big });
      const n = transfer(seed, f, 8 << 20, 0, { congestion: "newreno", ...big });
      expect(c.ok && n.ok).toBe(true);
      expect(c.receivedHash).toBe(c.sentHash);
      expect(n.receivedHash).toBe(n.sentHash);
      cubicMs += c.simMs;
      renoMs += n.simMs;
    }
    expect(cubicMs).toBeLessThanOrEqual(renoMs * 1.05);
  });
});

describe("randomized configurations (faults x options x buffers x MTU x ISS)", () => {
  test("60 random scenarios (half with crossing FINs) all deliver intact data both ways", () => {
    const rng = new SeededRng(2026);
    for (let i = 0; i < 60; i++) {
      const faults: Faults = {
        loss: rng.float() < 0.6 ? rng.float() * 0.2 : 0,
        duplicate: rng.float() < 0.4 ? rng.float() * 0.2 : 0,
        reorder: rng.float() < 0.4 ? rng.float() * 0.3 : 0,
        reorderDelayMs: rng.float() * 40,
        delayMs: rng.float() * 60,
        mtu: [576, 1280, 1500, 2800, 9000][rng.u32() % 5]!,
        rateBytesPerMs: rng.float() < 0.3 ? 500 + rng.float() * 20000 : 0,
        queueBytes: 20000 + rng.float() * 500000,
      };
      const sizes = [2048, 8192, 65536, 262144, 1 << 20];
      const wrap = rng.float() < 0.3 ? 0xffffffff - (rng.u32() % 100000) : -1;
      const cfg = {
        congestion: (["cubic", "newreno", "bbr"] as const)[rng.u32() % 3]!,
        sack: rng.float() < 0.8,
        timestamps: rng.float() < 0.8,
        windowScaling: rng.float() < 0.8,
        recvBufferSize: sizes[rng.u32() % 5]!,
        sendBufferSize: sizes[rng.u32() % 5]!,
        ...(wrap >= 0 ? { issFn: () => wrap } : {}),
      };
      const r = transfer(rng.u32(), faults, rng.u32() % 200_000, rng.u32() % 50_000, cfg, rng.float() < 0.5);
      const ok = r.ok && r.receivedHash === r.sentHash && r.backHash === r.backSentHash;
      expect({ i, ok }).toEqual({ i, ok: true });
    }
  });
});

describe("many concurrent connections", () => {
  for (const [name, synQueueSize, congestion] of [
    ["SYN queue", 4096, "cubic"],
    ["SYN cookies (queue of 16)", 16, "cubic"],
    ["SYN queue, BBR (200 paced connections)", 4096, "bbr"],
  ] as const) {
    test(`200 connections x 20 kB through 2% loss and reordering, ${name}: all intact`, () => {
      const net = new SimNet(3, { loss: 0.02, delayMs: 5, reorder: 0.05, reorderDelayMs: 5 });
      const a = net.addNode(1, { congestion });
      const b = net.addNode(2, { synQueueSize, congestion });
      const N = 200;
      const SIZE = 20_000;
      const got = new Map<number, [number, number]>();
      let done = 0;
      const buf = new Uint8Array(65536);
      b.listen(80, {
        backlog: 1000,
        handler: {
          onAcceptable: (l) => {
            for (let s = l.accept(); s; s = l.accept()) {
              const sum: [number, number] = [0, 0];
              got.set(s.remotePort, sum);
              const rd = (x: TcpSocket) => {
                for (let n = x.recv(buf, 0, buf.length); n > 0; n = x.recv(buf, 0, buf.length)) {
                  for (let i = 0; i < n; i++) sum[0] = (Math.imul(sum[0], 31) + buf[i]!) >>> 0;
                  sum[1] += n;
                }
                if (x.peerClosed && x.readableLength === 0 && x.stateName === "CLOSE_WAIT") {
                  x.close();
                  done++;
                }
              };
              s.handler = { onReadable: rd };
              rd(s);
            }
          },
        },
      });
      const expected = new Map<number, number>();
      for (let k = 0; k < N; k++) {
        const data = new Uint8Array(SIZE);
        let h = 0;
        for (let i = 0; i < SIZE; i++) {
          data[i] = (i * 7 + k) & 255;
          h = (Math.imul(h, 31) + data[i]!) >>> 0;
        }
        let sent = 0;
        const pump = (s: TcpSocket) => {
          while (sent < SIZE && s.writableLength > 0) sent += s.send(data, sent, SIZE);
          if (sent === SIZE && s.stateName === "ESTABLISHED") s.shutdown("write");
        };
        const s = a.connect(2, 80, { handler: { onConnect: pump, onWritable: pump } });
        expected.set(s.localPort, h);
      }
      expect(net.run(() => done === N, 600_000)).toBe(true);
      for (const [port, h] of expected) expect({ port, got: got.get(port) }).toEqual({ port, got: [h, SIZE] });
      if (synQueueSize === 16) expect(b.stats.synCookiesAccepted).toBeGreaterThan(100);
    });
  }
});

describe("reconnecting over a 4-tuple the server still holds in TIME_WAIT", () => {
  // The server closes first, so it keeps each 4-tuple in TIME_WAIT for 60 s. A client that
  // comes back from the same port (ephemeral ports wrap around under a high connection rate)
  // must get through at once: its SYN carries a newer timestamp (RFC 6191) because timestamps
  // run on one clock per address pair, not from a fresh random offset per connection.
  test("30 reconnects from one port each take one round trip, no SYN retransmission", () => {
    const net = new SimNet(11, { delayMs: 1 });
    const a = net.addNode(1);
    const b = net.addNode(2);
    b.listen(80, {
      handler: {
        onAcceptable: (l) => {
          for (let s = l.accept(); s; s = l.accept()) s.close(); // server closes first
        },
      },
    });
    const took: number[] = [];
    for (let i = 0; i < 30; i++) {
      const t0 = net.clock.now();
      let up = false;
      const s = a.connect(2, 80, { localPort: 40000, handler: { onConnect: () => (up = true) } });
      expect(net.run(() => up, 120_000)).toBe(true);
      took.push(net.clock.now() - t0);
      // the client reads the server's FIN and closes: both ends finish, the server in TIME_WAIT
      expect(net.run(() => s.peerClosed, 10_000)).toBe(true);
      s.close();
      expect(net.run(() => s.stateName === "CLOSED", 10_000)).toBe(true);
      net.clock.set(net.clock.now() + 10); // a little time between connections, as a real client has
    }
    expect(b.connectionCount).toBe(1); // only the last 4-tuple's TIME_WAIT is left
    expect(took.filter((ms) => ms > 2)).toEqual([]); // 2 ms: one round trip on this link
  });
});

describe("ephemeral ports held by our own TIME_WAITs (tcp_tw_reuse)", () => {
  // The client closes first, so its side keeps each 4-tuple in TIME_WAIT. With 8 ephemeral
  // ports, the 9th connection to the same server finds them all taken.
  function churn(timestamps: boolean) {
    const net = new SimNet(5, { delayMs: 1 });
    const a = net.addNode(1, { ephemeralLow: 50000, ephemeralHigh: 50007, timestamps });
    const b = net.addNode(2, { timestamps });
    b.listen(80, {
      handler: {
        onAcceptable: (l) => {
          for (let s = l.accept(); s; s = l.accept()) s.handler = { onReadable: (x) => x.peerClosed && x.close() };
        },
      },
    });
    const once = (): void => {
      let up = false;
      const s = a.connect(2, 80, { handler: { onConnect: () => (up = true) } });
      expect(net.run(() => up, 5_000)).toBe(true);
      s.close(); // client first: TIME_WAIT on our side
      expect(net.run(() => s.stateName === "TIME_WAIT", 5_000)).toBe(true);
    };
    for (let i = 0; i < 8; i++) once();
    return { net, a, once };
  }

  test("with timestamps, a TIME_WAIT older than 1 s gives its 4-tuple to a new connection", () => {
    const { net, a, once } = churn(true);
    expect(() => a.connect(2, 80)).toThrow("no ephemeral port"); // all 8 are under a second old
    net.clock.set(net.clock.now() + 1_000);
    once(); // a full handshake and close over the reclaimed 4-tuple
    expect(a.stats.timeWaitReused).toBe(1);
    expect(a.stats.retransmits).toBe(0);
    expect(a.connectionCount).toBe(8);
  });

  test("with every port taken, the oldest TIME_WAIT is reused, not a port the peer closed a moment ago", () => {
    const net = new SimNet(6, { delayMs: 1 });
    const a = net.addNode(1, { ephemeralLow: 50000, ephemeralHigh: 50007 });
    const b = net.addNode(2);
    let serverFirst = false;
    b.listen(80, {
      handler: {
        onAcceptable: (l) => {
          for (let s = l.accept(); s; s = l.accept()) {
            if (serverFirst) s.close();
            else s.handler = { onReadable: (x) => x.peerClosed && x.close() };
          }
        },
      },
    });
    const once = (): number => {
      const t0 = net.clock.now();
      let up = false;
      const s = a.connect(2, 80, { handler: { onConnect: () => (up = true) } });
      expect(net.run(() => up, 5_000)).toBe(true);
      const took = net.clock.now() - t0;
      if (serverFirst) expect(net.run(() => s.peerClosed, 5_000)).toBe(true);
      s.close();
      expect(net.run(() => s.stateName === (serverFirst ? "CLOSED" : "TIME_WAIT"), 5_000)).toBe(true);
      return took;
    };
    for (let i = 0; i < 8; i++) once(); // every port in TIME_WAIT on our side
    net.clock.set(net.clock.now() + 1_000);
    serverFirst = true; // now the peer keeps the TIME_WAIT: our port is free again at once
    const took = [once(), once(), once()];
    expect(took).toEqual([2, 2, 2]); // one round trip each: no SYN met the peer's fresh TIME_WAIT
    expect(a.stats.rtoTimeouts).toBe(0);
    expect(a.stats.timeWaitReused).toBe(3);
  });

  test("without timestamps the ports stay taken until TIME_WAIT ends", () => {
    const { net, a, once } = churn(false);
    net.clock.set(net.clock.now() + 1_000);
    expect(() => a.connect(2, 80)).toThrow("no ephemeral port");
    net.run(() => false, 60_000);
    once();
    expect(a.stats.timeWaitReused).toBe(0);
  });
});
