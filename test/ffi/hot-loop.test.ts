import { afterEach, describe, expect, test } from "bun:test";
import { closeFd, setSocketBuffers } from "../../ffi/libc.ts";
import { ownUdpSocket } from "./own-udp-socket.ts";
import { EPOLLET, EPOLLIN, EpollSet } from "../../ffi/epoll-set.ts";
import { BULK_BYTES, epollWatching, HotLoop, parseCoalesceMicros, parseSpinMicros } from "../../ffi/hot-loop.ts";
import { ReadinessDoorbell } from "../../ffi/readiness-doorbell.ts";
import { AF_INET, encodeSockaddr, RecvBatch, SendBatch, SOCKADDR_BYTES } from "../../ffi/udp.ts";
import { adoptSocketFd, unixClose, unixPollMany, unixRecv, unixSend, unixSocketPair } from "../../ffi/unix.ts";
import { waitFor } from "../e2e/helpers.ts";
import { ioUringAllowed } from "./io-uring-allowed.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** Another process that sends a small datagram ("tick") to `port` every millisecond until killed. */
function startTicker(port: number): { kill(): void } {
  const script = `const s = await Bun.udpSocket({}); for (;;) { s.send("tick", ${port}, "127.0.0.1"); const t = performance.now(); while (performance.now() - t < 1) {} }`;
  const ticker = Bun.spawn([process.execPath, "-e", script], { stdout: "ignore", stderr: "pipe" });
  cleanups.push(() => ticker.kill());
  return ticker;
}

/** A doorbell on a fresh UDP socket whose onReady records each datagram (and what `alsoOnReady` says). */
async function bellOn(loop: HotLoop, alsoOnReady?: () => void) {
  const { fd, port } = await ownUdpSocket();
  const batch = new RecvBatch(8, 2048);
  const got: string[] = [];
  const bell = await ReadinessDoorbell.open(
    fd,
    () => {
      for (;;) {
        const n = batch.receive(fd);
        for (let i = 0; i < n; i++) got.push(Buffer.from(batch.bytes.subarray(batch.start(i), batch.start(i) + batch.length(i))).toString());
        if (n < batch.capacity) break;
      }
      alsoOnReady?.();
    },
    undefined,
    loop,
  );
  if (typeof bell === "string") throw new Error(bell);
  const tx = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
  cleanups.push(() => {
    bell.close();
    closeFd(fd);
    tx.close();
  });
  return { bell, got, fd, port, send: (text: string) => tx.send(text, port, "127.0.0.1") };
}

describe("unixPollMany and epollWatching", () => {
  test("poll() never reads past the array it is given", () => {
    const fds = new Int32Array(2);
    expect(unixPollMany(fds, 2, 0)).toBe(-22);
    expect(unixPollMany(fds, -1, 0)).toBe(-22);
  });

  test("finds the epoll descriptor Bun watches an adopted socket with, and none for a socket nobody watches", async () => {
    const pair = unixSocketPair()!;
    const other = unixSocketPair()!;
    const s = await adoptSocketFd<undefined>({ fd: pair[0], socket: { data() {}, error() {}, close() {} } });
    cleanups.push(() => {
      s.end();
      unixClose(pair[1]);
      unixClose(other[0]);
      unixClose(other[1]);
    });
    const ep = epollWatching(pair[0]);
    expect(ep).toBeGreaterThanOrEqual(0);
    expect(epollWatching(other[0])).toBe(-1);
    // it is Bun's event loop: once Bun has taken its events, a byte for the adopted socket makes
    // that epoll descriptor readable again
    const fds = Int32Array.of(ep, 1);
    await waitFor("Bun to take its events", async () => (unixPollMany(fds, 1, 0) === 0 ? true : null), 5000);
    expect(unixSend(pair[1], Uint8Array.of(7), 0, 1)).toBe(1);
    expect(unixPollMany(fds, 1, 0)).toBe(1);
    expect((fds[1]! >>> 16) & 1).toBe(1); // POLLIN
  });
});

describe.if(ioUringAllowed())("HotLoop (io_uring allowed here)", () => {
  test("after a ring it drains the sockets itself: more datagrams, no more rings, deferred work at each batch's end", async () => {
    const loop = new HotLoop(true, 5, 60_000);
    const order: string[] = [];
    const { bell, got, send } = await bellOn(loop, () => {
      order.push(`read ${got.length}`);
      loop.defer(() => order.push(`deferred after ${got.length}`));
    });
    expect(loop.usable).toBe(true);
    send("one");
    await waitFor("the first datagram", async () => (got.length === 1 ? true : null), 5000);
    expect(bell.stats.rings).toBe(1);
    for (let i = 0; i < 10; i++) {
      send(`d${i}`);
      const want = i + 2;
      await waitFor(`datagram ${want}`, async () => (got.length === want ? true : null), 5000);
    }
    expect(got).toEqual(["one", ...Array.from({ length: 10 }, (_, i) => `d${i}`)]);
    // the loop was in charge: one ring, the rest found by its poll()
    expect(bell.stats.rings).toBe(1);
    expect(bell.armed).toBe(false);
    expect(loop.stats.entries).toBe(1);
    expect(loop.stats.wakeups).toBeGreaterThanOrEqual(1);
    // each batch's deferred work ran right after it, before the next read
    for (let i = 0; i + 1 < order.length; i += 2) expect(order[i + 1]).toBe(order[i]!.replace("read", "deferred after"));
  });

  test("it takes over only after what the event loop queued in that turn: an immediate set in the drain runs at once", async () => {
    const loop = new HotLoop(true, 1000, 60_000);
    const { fd, port } = await ownUdpSocket();
    const batch = new RecvBatch(8, 2048);
    let rangAt = 0;
    let ranAt = 0;
    const bell = await ReadinessDoorbell.open(
      fd,
      () => {
        batch.receive(fd);
        if (rangAt !== 0) return;
        rangAt = performance.now();
        // plain setImmediate, as Bun's own code or a library would: not deferred through the loop
        setImmediate(() => {
          ranAt = performance.now();
        });
      },
      undefined,
      loop,
    );
    if (typeof bell === "string") throw new Error(bell);
    // the sender is a socket of ours too, so that nothing else wakes Bun's epoll meanwhile
    const tx = await ownUdpSocket();
    const pair = unixSocketPair()!;
    const watched = await adoptSocketFd<undefined>({ fd: pair[0], socket: { data() {}, error() {}, close() {} } });
    cleanups.push(() => {
      bell.close();
      closeFd(fd);
      closeFd(tx.fd);
      watched.end();
      unixClose(pair[1]);
    });
    const ep = Int32Array.of(epollWatching(pair[0]), 1);
    await waitFor("Bun's epoll to be quiet", async () => (unixPollMany(ep, 1, 0) === 0 ? true : null), 5000);
    const out = new SendBatch(1, 64);
    const name = new Uint8Array(SOCKADDR_BYTES);
    const len = encodeSockaddr(name, AF_INET, { family: 4, ip: Uint8Array.of(127, 0, 0, 1), port });
    expect(out.add(Uint8Array.of(1), 0, 1, name, len)).toBe(true);
    expect(out.send(tx.fd)).toBe(1);
    await waitFor("the immediate", async () => (ranAt !== 0 ? true : null), 5000);
    // a loop that blocked in poll() from inside the ring's callback would have held it a slice (1 s)
    expect(ranAt - rangAt).toBeLessThan(500);
    expect(loop.stats.entries).toBe(1);
  });

  test("Bun's own events are served while it polls: timers fire and Bun's sockets receive", async () => {
    const loop = new HotLoop(true, 50, 60_000);
    const { got, send } = await bellOn(loop);
    send("start");
    await waitFor("the loop to take over", async () => (got.length === 1 ? true : null), 5000);
    // a socket of Bun's own, read by Bun: its datagram wakes Bun's epoll, so the loop hands over
    const heard: string[] = [];
    const bunSock = await Bun.udpSocket({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data(_s, data) {
          heard.push(Buffer.from(data).toString());
        },
      },
    });
    cleanups.push(() => bunSock.close());
    const tx = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
    cleanups.push(() => tx.close());
    tx.send("to bun", bunSock.port, "127.0.0.1");
    await waitFor("Bun's socket", async () => (heard.length === 1 ? true : null), 5000);
    // a timer fires, at most about a slice late
    const t0 = performance.now();
    await new Promise<void>((resolve) => setTimeout(resolve, 10));
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(loop.stats.loopEvents + loop.stats.slices).toBeGreaterThanOrEqual(1);
    send("still");
    await waitFor("the loop's socket", async () => (got.length === 2 ? true : null), 5000);
  });

  test("Bun's timers fire while traffic never pauses for a slice: the loop gives Bun's event loop a turn every slice", async () => {
    const loop = new HotLoop(true, 5, 60_000);
    const { got, port } = await bellOn(loop);
    // another process: a datagram every millisecond, gaps always shorter than the 5 ms slice
    const ticker = startTicker(port);
    // the loop has taken over and traffic flows
    await waitFor("the ticks", async () => (got.length >= 50 ? true : null), 10_000);
    expect(loop.inCharge).toBe(true);
    const slices = loop.stats.slices;
    const t0 = performance.now();
    await new Promise<void>((resolve) => setTimeout(resolve, 20));
    const late = performance.now() - t0 - 20;
    const during = got.length;
    ticker.kill();
    expect(late).toBeLessThan(1000);
    expect(loop.stats.slices).toBeGreaterThan(slices);
    // and the ticks went on arriving while the timer waited
    expect(during).toBeGreaterThan(50);
  }, 30_000);

  test("a timer it was told of fires on time though the loop's slice is long: the loop hands back for it", async () => {
    const loop = new HotLoop(true, 1000, 60_000);
    const { bell, got, send } = await bellOn(loop);
    send("one");
    await waitFor("the first datagram", async () => (got.length === 1 ? true : null), 5000);
    expect(bell.armed).toBe(false); // the loop is in charge, polling in slices of a second
    const set = performance.now();
    const fired = await new Promise<number>((resolve) => {
      const due = loop.timerAt(performance.now() + 20);
      setTimeout(() => {
        loop.timerDone(due);
        resolve(performance.now());
      }, 20);
    });
    // told of the deadline, the loop handed back by then, not at the end of its 1 s slice
    expect(fired - set).toBeLessThan(500);
    expect(loop.stats.timers).toBeGreaterThanOrEqual(1);
    expect(bell.armed).toBe(true);
    send("two");
    await waitFor("the second datagram", async () => (got.length === 2 ? true : null), 5000);
  });

  test("after the quiet time it hands back to the doorbells: armed again, the next datagram rings", async () => {
    const loop = new HotLoop(true, 5, 100);
    const { bell, got, send } = await bellOn(loop);
    send("one");
    await waitFor("the first datagram", async () => (got.length === 1 ? true : null), 5000);
    await waitFor("the loop to go idle", async () => (loop.stats.idles === 1 ? true : null), 5000);
    expect(bell.armed).toBe(true);
    send("two");
    await waitFor("the second datagram", async () => (got.length === 2 ? true : null), 5000);
    expect(bell.stats.rings).toBe(2);
    expect(loop.stats.entries).toBe(2);
  });

  test("turned off: every readiness rings, and deferred work goes to the event loop; turned on, it takes over", async () => {
    const loop = new HotLoop(false);
    const { bell, got, send } = await bellOn(loop);
    expect(loop.usable).toBe(false);
    for (let i = 0; i < 3; i++) {
      send(`d${i}`);
      const want = i + 1;
      await waitFor(`datagram ${want}`, async () => (got.length === want ? true : null), 5000);
    }
    expect(bell.stats.rings).toBe(3);
    expect(loop.stats.entries).toBe(0);
    let ran = false;
    loop.defer(() => {
      ran = true;
    });
    expect(ran).toBe(false);
    await waitFor("the deferred work", async () => (ran ? true : null), 5000);
    // turned on later (as the service does): the next ring hands over to the loop
    loop.setEnabled(true);
    expect(loop.usable).toBe(true);
    send("d3");
    await waitFor("datagram 4", async () => (got.length === 4 ? true : null), 5000);
    expect(loop.stats.entries).toBe(1);
    send("d4");
    await waitFor("datagram 5", async () => (got.length === 5 ? true : null), 5000);
    expect(bell.stats.rings).toBe(4);
  });

  test("a drain that closes another source: the loop polls again with the new set and goes on", async () => {
    const loop = new HotLoop(true, 5, 60_000);
    const holder: { other: ReadinessDoorbell | null } = { other: null };
    const a = await bellOn(loop, () => {
      if (a.got.includes("close b")) holder.other?.close();
    });
    const b = await bellOn(loop);
    holder.other = b.bell;
    b.send("b1");
    await waitFor("b's first", async () => (b.got.length === 1 ? true : null), 5000);
    a.send("close b");
    await waitFor("a's first", async () => (a.got.length === 1 ? true : null), 5000);
    b.send("b2");
    a.send("a2");
    await waitFor("a's second", async () => (a.got.length === 2 ? true : null), 5000);
    expect(b.got).toEqual(["b1"]);
    expect(a.got).toEqual(["close b", "a2"]);
    expect(loop.stats.idles + loop.stats.timers).toBe(0); // still in charge throughout
  });

  test("a source removed while the loop is in charge is no longer read", async () => {
    const loop = new HotLoop(true, 5, 60_000);
    const a = await bellOn(loop);
    const b = await bellOn(loop);
    a.send("a1");
    await waitFor("a's first", async () => (a.got.length === 1 ? true : null), 5000);
    a.bell.close();
    a.send("a2");
    b.send("b1");
    await waitFor("b's", async () => (b.got.length === 1 ? true : null), 5000);
    expect(a.got).toEqual(["a1"]);
  });

  test("spin: a spin that finds nothing halves until spinning stops; close traffic grows it back and is caught spinning", async () => {
    const loop = new HotLoop(true, 5, 60_000);
    loop.setSpin(2000);
    expect(loop.spinWindowUs).toBe(2000);
    const { got, port, send } = await bellOn(loop);
    // datagrams 10 ms apart: every spin after one ends with nothing read
    for (let i = 0; i < 12; i++) {
      send(`far ${i}`);
      await waitFor(`far ${i}`, async () => (got.length === i + 1 ? true : null), 5000);
      await Bun.sleep(10); // the gap is the point here, not a wait for readiness
    }
    expect(loop.stats.spinsWasted).toBeGreaterThanOrEqual(8); // 2 ms halved 8 times is below 10 µs
    expect(loop.spinWindowUs).toBe(0);
    const spinsWhenStopped = loop.stats.spins;
    send("far again");
    // a spin would come in the loop's next poll, before this test code runs again
    await waitFor("far again", async () => (got.length === 13 ? true : null), 5000);
    expect(loop.stats.spins).toBe(spinsWhenStopped);
    // another process sends 300 datagrams 200 µs apart (the loop keeps this thread in poll())
    const script = `const s = await Bun.udpSocket({}); for (let i = 0; i < 300; i++) { s.send("near", ${port}, "127.0.0.1"); const t = performance.now(); while (performance.now() - t < 0.2) {} } s.close();`;
    const sender = Bun.spawn([process.execPath, "-e", script], { stdout: "ignore", stderr: "pipe" });
    cleanups.push(() => sender.kill());
    await waitFor("the near datagrams", async () => (got.length === 313 ? true : null), 20_000);
    expect(await sender.exited).toBe(0);
    expect(loop.spinWindowUs).toBeGreaterThan(0);
    expect(loop.stats.spinHits).toBeGreaterThan(0);
  });

  test("with an epoll set it waits in the set: one epoll_wait serves sources and members; handed back, the set rings for its members only", async () => {
    const loop = new HotLoop(true, 5, 2000);
    const set = await EpollSet.open(16, loop);
    if (typeof set === "string") throw new Error(set);
    cleanups.push(() => set.close());
    const pair = unixSocketPair()!;
    cleanups.push(() => {
      unixClose(pair[0]);
      unixClose(pair[1]);
    });
    const memberGot: number[] = [];
    const buf = new Uint8Array(64);
    const slot = set.add(pair[0], EPOLLIN | EPOLLET, {
      onEpollEvents: () => {
        for (let r = unixRecv(pair[0], buf, 0, 64); r > 0; r = unixRecv(pair[0], buf, 0, 64)) memberGot.push(...buf.subarray(0, r));
      },
    });
    expect(slot).toBeGreaterThanOrEqual(0);
    const { bell, got, send } = await bellOn(loop);
    send("first");
    await waitFor("the first datagram", async () => (got.length === 1 ? true : null), 5000);
    const waits0 = set.stats.waits;
    const setWaits0 = loop.stats.setWaits;
    const rings0 = set.rings;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 4; i++) {
        expect(unixSend(pair[1], Uint8Array.of(4 * round + i), 0, 1)).toBe(1);
        send(`d${4 * round + i}`);
      }
      await waitFor(`round ${round}`, async () => (memberGot.length === 4 * round + 4 && got.length === 4 * round + 5 ? true : null), 5000);
    }
    expect(memberGot).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(got.slice(1)).toEqual(Array.from({ length: 20 }, (_, i) => `d${i}`));
    // every epoll_wait of the set was the loop's own wait, or the dispatch of a ring of the set's
    // doorbell (while the loop was not in charge); none came after a poll() that found the set ready
    expect(loop.stats.setWaits - setWaits0).toBeGreaterThan(0);
    expect(set.stats.waits - waits0).toBe(loop.stats.setWaits - setWaits0 + (set.rings - rings0));
    // quiet: the loop hands back; the datagram source left the set, so its traffic rings its own
    // doorbell, not the set's
    await waitFor("the hand-back", async () => (loop.inCharge ? null : true), 10_000);
    const setRings = set.rings;
    const bellRings = bell.stats.rings;
    send("after");
    await waitFor("the datagram after", async () => (got.length === 22 ? true : null), 5000);
    expect(bell.stats.rings).toBe(bellRings + 1);
    expect(set.rings).toBe(setRings);
  }, 20_000);

  /** Datagrams of 1 KiB, a bulk batch's worth of them. */
  const DATAGRAM = "x".repeat(1024);
  const BURST = BULK_BYTES / 1024;

  /**
   * A bell whose drains tell the loop how many bytes they read, as the service's sources do; the
   * bytes of each drain and when it ended are kept.
   */
  async function reportingBell(loop: HotLoop) {
    let bellRef: { noteBatch(n: number): void } | null = null;
    let seen = 0;
    const batches: number[] = [];
    /** When each drain ended (performance.now()). */
    const ends: number[] = [];
    const b = await bellOn(loop, () => {
      let bytes = 0;
      for (let i = seen; i < b.got.length; i++) bytes += b.got[i]!.length;
      batches.push(bytes);
      bellRef?.noteBatch(bytes);
      seen = b.got.length;
      ends.push(performance.now());
    });
    bellRef = b.bell;
    return { ...b, batches, ends };
  }

  test("coalescing: a drain that reads a bulk batch makes the loop sleep before its next wait; small batches do not", async () => {
    const loop = new HotLoop(true, 5, 60_000);
    loop.setCoalesce(3000);
    const { got, send, batches } = await reportingBell(loop);
    // one datagram at a time: never bulk, never a sleep
    for (let i = 0; i < 5; i++) {
      send(`one ${i}`);
      await waitFor(`one ${i}`, async () => (got.length === i + 1 ? true : null), 5000);
    }
    expect(loop.stats.coalesces).toBe(0);
    // a burst queued before the loop can poll again (this thread sends it): one bulk drain
    for (let i = 0; i < BURST; i++) send(DATAGRAM);
    await waitFor("the burst", async () => (got.length === 5 + BURST ? true : null), 5000);
    expect(Math.max(...batches)).toBeGreaterThanOrEqual(BULK_BYTES);
    await waitFor("the sleep after it", async () => (loop.stats.coalesces === 1 ? true : null), 5000);
    // the flag is spent: a single datagram after it does not sleep again
    send("single");
    await waitFor("single", async () => (got.length === 6 + BURST ? true : null), 5000);
    expect(loop.stats.coalesces).toBe(1);
    // off: the same burst does not sleep
    loop.setCoalesce(0);
    for (let i = 0; i < BURST; i++) send(DATAGRAM);
    await waitFor("the second burst", async () => (got.length === 6 + 2 * BURST ? true : null), 5000);
    // many small datagrams at once (ACKs, say) are not bulk: no sleep either
    loop.setCoalesce(3000);
    for (let i = 0; i < 64; i++) send("ack");
    await waitFor("the small ones", async () => (got.length === 6 + 2 * BURST + 64 ? true : null), 5000);
    expect(loop.stats.coalesces).toBe(1);
  });

  test("coalescing: after a bulk drain the next drain comes no sooner than the sleep, while another sender ticks every millisecond", async () => {
    const loop = new HotLoop(true, 5, 60_000);
    loop.setCoalesce(10_000);
    const { got, port, send, batches, ends } = await reportingBell(loop);
    // another process: one small datagram every millisecond until killed
    const ticker = startTicker(port);
    await waitFor("the ticks", async () => (got.length >= 20 ? true : null), 10_000);
    expect(loop.stats.coalesces).toBe(0); // ticks alone are never bulk
    for (let i = 0; i < BURST; i++) send(DATAGRAM);
    await waitFor("a sleep after the burst", async () => (loop.stats.coalesces >= 1 ? true : null), 10_000);
    const bulk = batches.findIndex((n) => n >= BULK_BYTES);
    await waitFor("the drain after it", async () => (batches.length > bulk + 1 ? true : null), 10_000);
    ticker.kill();
    // the loop slept 10 ms before waiting again: the ticks of that time came in one drain
    expect(ends[bulk + 1]! - ends[bulk]!).toBeGreaterThanOrEqual(9.5);
    expect(batches[bulk + 1]!).toBeGreaterThan(4 * "tick".length);
  }, 30_000);

  test("setCoalesce refuses what is not a whole number 0..10000 µs", () => {
    const loop = new HotLoop(false);
    for (const bad of [-1, 10_001, 1.5, Number.NaN, Infinity]) expect(() => loop.setCoalesce(bad)).toThrow(RangeError);
    loop.setCoalesce(0);
    expect(loop.coalesceWindowUs).toBe(0);
    loop.setCoalesce(150);
    expect(loop.coalesceWindowUs).toBe(150);
  });

  test("setSpin refuses what is not 0..10000 µs", () => {
    const loop = new HotLoop(false);
    for (const bad of [-1, 10_001, Number.NaN, Infinity]) expect(() => loop.setSpin(bad)).toThrow(RangeError);
    loop.setSpin(0);
    expect(loop.spinWindowUs).toBe(0);
  });
});

describe("parseSpinMicros (ZT_HOT_SPIN_US)", () => {
  test("whole numbers 0..10000 only", () => {
    expect(parseSpinMicros("0")).toBe(0);
    expect(parseSpinMicros("100")).toBe(100);
    expect(parseSpinMicros("10000")).toBe(10_000);
    for (const bad of ["", "-1", "10001", "1.5", "1e3", " 5", "abc", "123456"]) expect(parseSpinMicros(bad)).toBeNull();
  });
});

describe("parseCoalesceMicros (ZT_RX_COALESCE_US)", () => {
  test("whole numbers 0..10000 only", () => {
    expect(parseCoalesceMicros("0")).toBe(0);
    expect(parseCoalesceMicros("150")).toBe(150);
    expect(parseCoalesceMicros("10000")).toBe(10_000);
    for (const bad of ["", "-1", "10001", "1.5", "abc", " 150"]) expect(parseCoalesceMicros(bad)).toBeNull();
  });
});
