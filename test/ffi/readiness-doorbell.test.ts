import { afterEach, describe, expect, test } from "bun:test";
import { IoUring } from "../../ffi/io-uring.ts";
import { closeFd, setSockOptInt } from "../../ffi/libc.ts";
import { ownUdpSocket } from "./own-udp-socket.ts";
import { ReadinessDoorbell } from "../../ffi/readiness-doorbell.ts";
import { AF_INET, encodeSockaddr, RecvBatch, SendBatch, SOCKADDR_BYTES } from "../../ffi/udp.ts";
import { unixShutdown } from "../../ffi/unix.ts";
import { waitFor } from "../e2e/helpers.ts";
import { ioUringAllowed } from "./io-uring-allowed.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

describe("IoUring", () => {
  test("refuses a size that is not a power of two in 1..4096", () => {
    expect(() => IoUring.open(3)).toThrow(RangeError);
    expect(() => IoUring.open(0)).toThrow(RangeError);
    expect(() => IoUring.open(8192)).toThrow(RangeError);
  });

  test("opens where the kernel allows io_uring, else says why", () => {
    const r = IoUring.open(4);
    if (ioUringAllowed()) {
      expect(r).toBeInstanceOf(IoUring);
      if (typeof r !== "string") {
        // A full submission queue refuses more entries instead of overwriting one.
        for (let i = 0; i < 4; i++) expect(r.prepare(0, 0, -1, 0, 0, 0, i)).toBe(true); // IORING_OP_NOP
        expect(r.prepare(0, 0, -1, 0, 0, 0, 9)).toBe(false);
        expect(r.submit()).toBe(4);
        const seen: number[] = [];
        r.reap((u, res) => {
          expect(res).toBe(0);
          seen.push(u);
        });
        expect(seen.sort()).toEqual([0, 1, 2, 3]);
        r.close();
        expect(r.prepare(0, 0, -1, 0, 0, 0, 0)).toBe(false);
        expect(r.submit()).toBeLessThan(0);
      }
    } else expect(typeof r).toBe("string");
  });
});

describe.if(ioUringAllowed())("ReadinessDoorbell (io_uring allowed here), without a hot loop", () => {
  test("rings once per readiness, after which the datagrams are read with recvmmsg, sender and all", async () => {
    const { fd, port } = await ownUdpSocket();
    const batch = new RecvBatch(8, 2048);
    const got: string[] = [];
    let senderPort = -1;
    const bell = await ReadinessDoorbell.open(fd, () => {
      for (;;) {
        const n = batch.receive(fd);
        for (let i = 0; i < n; i++) {
          const s = batch.start(i);
          got.push(Buffer.from(batch.bytes.subarray(s, s + batch.length(i))).toString());
          const name = batch.bytes.subarray(batch.nameStart(i), batch.nameStart(i) + batch.nameLength(i));
          expect(name[0]).toBe(2); // AF_INET
          expect([...name.subarray(4, 8)]).toEqual([127, 0, 0, 1]);
          senderPort = (name[2]! << 8) | name[3]!;
        }
        if (n < batch.capacity) break;
      }
    }, undefined, null);
    if (typeof bell === "string") throw new Error(bell);
    cleanups.push(() => {
      bell.close();
      closeFd(fd);
    });
    const tx = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
    cleanups.push(() => tx.close());
    expect(bell.stats.rings).toBe(0);
    tx.send("one", port, "127.0.0.1");
    await waitFor("the first ring", async () => (got.length === 1 ? true : null), 5000);
    expect(got).toEqual(["one"]);
    expect(senderPort).toBe(tx.port);
    // 20 more in one burst: everything arrives, in order, in at most 20 rings (usually one or two).
    for (let i = 0; i < 20; i++) tx.send(`d${i}`, port, "127.0.0.1");
    await waitFor("21 datagrams", async () => (got.length === 21 ? true : null), 5000);
    expect(got.slice(1)).toEqual(Array.from({ length: 20 }, (_, i) => `d${i}`));
    expect(bell.stats.rings).toBeGreaterThanOrEqual(2);
    expect(bell.stats.rings).toBeLessThanOrEqual(21);
    expect(bell.stats.failures + bell.stats.submitErrors).toBe(0);
  });

  test("a pending ICMP error (IP_RECVERR) rings once, is emptied, and rings no more", async () => {
    const { fd, port } = await ownUdpSocket();
    setSockOptInt(fd, 0, 11, 1); // IP_RECVERR on
    const batch = new RecvBatch(4, 2048);
    let errors = 0;
    let datagrams = 0;
    const bell = await ReadinessDoorbell.open(fd, () => {
      const n = batch.receive(fd);
      if (n > 0) datagrams += n;
      else errors += batch.discardErrors(fd);
    }, undefined, null);
    if (typeof bell === "string") throw new Error(bell);
    cleanups.push(() => {
      bell.close();
      closeFd(fd);
    });
    // A port nobody listens on: the kernel queues "port unreachable" on our socket.
    const { fd: gone, port: closedPort } = await ownUdpSocket();
    closeFd(gone);
    const self = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
    cleanups.push(() => self.close());
    // Send from our own fd (so the error is queued on it) with a one-slot SendBatch.
    const out = new SendBatch(1, 64);
    const name = new Uint8Array(SOCKADDR_BYTES);
    const len = encodeSockaddr(name, AF_INET, { family: 4, ip: Uint8Array.of(127, 0, 0, 1), port: closedPort });
    expect(out.add(Uint8Array.of(1, 2, 3), 0, 3, name, len)).toBe(true);
    expect(out.send(fd)).toBe(1);
    await waitFor("the error to be emptied", async () => (errors >= 1 ? true : null), 5000);
    const ringsAfterError = bell.stats.rings;
    // Now a datagram: exactly one more ring, so the error did not keep the bell ringing.
    self.send("after", port, "127.0.0.1");
    await waitFor("the datagram", async () => (datagrams === 1 ? true : null), 5000);
    expect(bell.stats.rings).toBe(ringsAfterError + 1);
  });

  test("a broken chain (the bell's send fails) is found by the check, counted and armed again", async () => {
    const { fd, port } = await ownUdpSocket();
    const batch = new RecvBatch(4, 2048);
    const bell = await ReadinessDoorbell.open(fd, () => batch.receive(fd), undefined, null);
    if (typeof bell === "string") throw new Error(bell);
    cleanups.push(() => {
      bell.close();
      closeFd(fd);
    });
    expect(bell.check()).toBe(false); // nothing wrong yet
    // No more sends on the bell's socketpair: the next poll completes, the linked send fails.
    expect(unixShutdown((bell as unknown as { sendFd: number }).sendFd, 1)).toBe(0);
    const tx = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
    cleanups.push(() => tx.close());
    tx.send("x", port, "127.0.0.1");
    await waitFor("the check to find the failure", async () => (bell.check() ? true : null), 5000);
    expect(bell.stats.failures).toBeGreaterThanOrEqual(1);
    expect(bell.stats.rings).toBe(0);
  });

  test("after close it rings no more; the socket stays usable", async () => {
    const a = await ownUdpSocket();
    const b = await ownUdpSocket();
    let ringsB = 0;
    const batch = new RecvBatch(4, 2048);
    const bellA = await ReadinessDoorbell.open(a.fd, () => batch.receive(a.fd), undefined, null);
    const bellB = await ReadinessDoorbell.open(b.fd, () => {
      ringsB++;
      batch.receive(b.fd);
    }, undefined, null);
    if (typeof bellA === "string" || typeof bellB === "string") throw new Error("no doorbell");
    cleanups.push(() => {
      bellB.close();
      closeFd(a.fd);
      closeFd(b.fd);
    });
    bellA.close();
    const tx = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
    cleanups.push(() => tx.close());
    tx.send("to a", a.port, "127.0.0.1");
    tx.send("to b", b.port, "127.0.0.1");
    await waitFor("b's ring", async () => (ringsB === 1 ? true : null), 5000);
    expect(bellA.stats.rings).toBe(0);
    // a's datagram is still queued in its socket, untouched
    expect(batch.receive(a.fd)).toBe(1);
    bellA.close(); // twice is harmless
  });
});
