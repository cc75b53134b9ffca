import { describe, expect, test } from "bun:test";
import { closeFd, dupFd } from "../../ffi/libc.ts";
import { POLLIN, unixPoll } from "../../ffi/unix.ts";
import { AF_INET, AF_INET6, encodeSockaddr, ffiUdpSupported, RecvBatch, SendBatch, SOCKADDR_BYTES } from "../../ffi/udp.ts";
import { parseReceiveChoice, type ReceivePath, UdpTransport } from "../../src/transport/udp.ts";
import type { InetAddress } from "../../src/vl1/inet-address.ts";
import { waitFor } from "../e2e/helpers.ts";
import { ioUringAllowed } from "./io-uring-allowed.ts";

/** A transport on 127.0.0.1 and a Bun socket collecting what reaches it, as text. */
async function transportAndSink(): Promise<{ got: string[]; sink: Bun.udp.Socket<"buffer">; t: UdpTransport }> {
  const got: string[] = [];
  const sink = await Bun.udpSocket({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(_s, d) {
        got.push(Buffer.from(d).toString());
      },
    },
  });
  const t = await UdpTransport.open({ port: 0, bindV4: "127.0.0.1", bindV6: null, onDatagram: () => {} });
  return { got, sink, t };
}

describe("sockaddr encoding", () => {
  test("IPv4 on an AF_INET socket: sockaddr_in, port big-endian", () => {
    const out = new Uint8Array(SOCKADDR_BYTES);
    expect(encodeSockaddr(out, AF_INET, { family: 4, ip: Uint8Array.of(10, 1, 2, 3), port: 9993 })).toBe(16);
    expect([...out.subarray(0, 8)]).toEqual([AF_INET, 0, 9993 >> 8, 9993 & 255, 10, 1, 2, 3]);
  });

  test("IPv4 on a dual-stack socket becomes ::ffff:a.b.c.d", () => {
    const out = new Uint8Array(SOCKADDR_BYTES);
    expect(encodeSockaddr(out, AF_INET6, { family: 4, ip: Uint8Array.of(127, 0, 0, 1), port: 1 })).toBe(28);
    expect(out[0]).toBe(AF_INET6);
    expect([...out.subarray(8, 24)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1]);
  });

  test("refused: IPv6 on an AF_INET socket, wrong address length, bad port, short output", () => {
    const out = new Uint8Array(SOCKADDR_BYTES);
    expect(encodeSockaddr(out, AF_INET, { family: 6, ip: new Uint8Array(16), port: 1 })).toBe(0);
    expect(encodeSockaddr(out, AF_INET, { family: 4, ip: new Uint8Array(16), port: 1 })).toBe(0);
    expect(encodeSockaddr(out, AF_INET, { family: 4, ip: new Uint8Array(4), port: 70000 })).toBe(0);
    expect(encodeSockaddr(new Uint8Array(10), AF_INET, { family: 4, ip: new Uint8Array(4), port: 1 })).toBe(0);
  });
});

describe("SendBatch", () => {
  test("refuses what does not fit (too long, empty, outside the buffer, full) without queueing it", () => {
    const b = new SendBatch(2, 100);
    const name = new Uint8Array(SOCKADDR_BYTES);
    const len = encodeSockaddr(name, AF_INET, { family: 4, ip: Uint8Array.of(127, 0, 0, 1), port: 9 });
    const data = new Uint8Array(200);
    expect(b.add(data, 0, 101, name, len)).toBe(false);
    expect(b.add(data, 5, 5, name, len)).toBe(false);
    expect(b.add(data, 150, 201, name, len)).toBe(false);
    expect(b.add(data, 0, 10, name, 29)).toBe(false);
    expect(b.count).toBe(0);
    expect(b.add(data, 0, 10, name, len)).toBe(true);
    expect(b.add(data, 0, 100, name, len)).toBe(true);
    expect(b.add(data, 0, 1, name, len)).toBe(false);
    expect(b.count).toBe(2);
  });

  test("the transport's batches arrive whole and in order (sendmmsg where supported)", async () => {
    const { got, sink, t } = await transportAndSink();
    try {
      expect(t.sendPath).toBe(ffiUdpSupported() ? "sendmmsg" : "sendMany");
      const to = { family: 4 as const, ip: Uint8Array.of(127, 0, 0, 1), port: sink.port };
      const buf = new Uint8Array(2000);
      // 150 datagrams: more than one batch (64), from a buffer reused after every call
      for (let i = 0; i < 150; i++) {
        const text = `datagram ${i} `.padEnd(100 + i, "x");
        const n = Buffer.from(buf.buffer).write(text, 7);
        t.sendCopy(buf, 7, 7 + n, to);
      }
      await waitFor("150 datagrams", async () => (got.length >= 150 ? true : null), 5000);
      expect(got.length).toBe(150);
      for (let i = 0; i < 150; i++) expect(got[i]).toBe(`datagram ${i} `.padEnd(100 + i, "x"));
      expect(t.sendErrors).toBe(0);
    } finally {
      t.close();
      sink.close();
    }
  });
});


describe("sparse traffic is sent at once", () => {
  test("the first datagram of a turn after a sparse turn goes out at once; a busy turn's next ones wait for the batch", async () => {
    const { got, sink, t } = await transportAndSink();
    try {
      const to = { family: 4 as const, ip: Uint8Array.of(127, 0, 0, 1), port: sink.port };
      const send = (text: string): void => {
        const b = Buffer.from(text);
        t.sendCopy(b, 0, b.length, to);
      };
      const turnEnd = (): Promise<void> => new Promise((r) => setImmediate(r));
      // a fresh transport counts as after a sparse turn: a lone datagram goes at once
      send("lone 1");
      expect(t.immediateFlushes).toBe(1);
      await turnEnd();
      send("lone 2");
      expect(t.immediateFlushes).toBe(2);
      await turnEnd();
      // a busy turn: its first still at once (the turn before was sparse), the other nine batched
      for (let i = 0; i < 10; i++) send(`busy ${i}`);
      expect(t.immediateFlushes).toBe(3);
      await turnEnd();
      // after a busy turn, even a lone datagram waits for the turn's batch (bulk keeps batching)
      send("after busy");
      expect(t.immediateFlushes).toBe(3);
      await turnEnd();
      send("sparse again");
      expect(t.immediateFlushes).toBe(4);
      await waitFor("14 datagrams", async () => (got.length >= 14 ? true : null), 5000);
      expect(got).toEqual(["lone 1", "lone 2", ...Array.from({ length: 10 }, (_, i) => `busy ${i}`), "after busy", "sparse again"]);
      expect(t.sendErrors).toBe(0);
    } finally {
      t.close();
      sink.close();
    }
  });
});

describe("RecvBatch", () => {
  test("refuses sizes it cannot hold", () => {
    expect(() => new RecvBatch(0, 100)).toThrow(RangeError);
    expect(() => new RecvBatch(2000, 100)).toThrow(RangeError);
    expect(() => new RecvBatch(4, 0)).toThrow(RangeError);
    expect(() => new RecvBatch(4, 70000)).toThrow(RangeError);
  });

  test("nothing queued is 0; a datagram longer than its slot is marked truncated and cut to the slot", async () => {
    const s = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
    const fd = dupFd((s as unknown as { fd: number }).fd);
    const port = s.port;
    s.close();
    const tx = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
    try {
      const b = new RecvBatch(4, 100);
      expect(b.receive(fd)).toBe(0);
      tx.send(new Uint8Array(150).fill(7), port, "127.0.0.1");
      tx.send(new Uint8Array(100).fill(8), port, "127.0.0.1");
      // Bun's send returns once the datagram is queued; poll() waits for the fact, not for time.
      let n = 0;
      while (n < 2 && unixPoll(fd, POLLIN, 5000) > 0) n += b.receive(fd);
      expect(n).toBe(2);
      expect(b.truncated(0)).toBe(true);
      expect(b.length(0)).toBe(100);
      expect(b.truncated(1)).toBe(false);
      expect(b.length(1)).toBe(100);
      expect(b.bytes[b.start(1) + 99]).toBe(8);
      expect(b.nameLength(1)).toBe(16);
    } finally {
      closeFd(fd);
      tx.close();
    }
  });
});

describe("UdpTransport receive paths", () => {
  test("parseReceiveChoice takes auto, recvmmsg and bun only", () => {
    expect(parseReceiveChoice("auto")).toBe("auto");
    expect(parseReceiveChoice("recvmmsg")).toBe("recvmmsg");
    expect(parseReceiveChoice("bun")).toBe("bun");
    expect(parseReceiveChoice("io_uring")).toBeNull();
    expect(parseReceiveChoice("")).toBeNull();
  });

  const paths: ReceivePath[] = ["bun", "recvmmsg"];
  for (const path of paths) {
    test(`${path}: 300 datagrams from two senders arrive whole, in order per sender, with the right endpoint (dual-stack socket)`, async () => {
      const got: { text: string; from: InetAddress }[] = [];
      const t = await UdpTransport.open({
        port: 0,
        receive: path,
        onDatagram: (d, start, end, from) => got.push({ text: Buffer.from(d.subarray(start, end)).toString(), from }),
      });
      const expected: ReceivePath = path === "recvmmsg" && ffiUdpSupported() && ioUringAllowed() ? "recvmmsg" : "bun";
      const a = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
      const b = await Bun.udpSocket({ hostname: "::1", port: 0 });
      try {
        expect(t.receivePath).toBe(expected);
        for (let i = 0; i < 150; i++) {
          a.send(`a${i}`.padEnd(50 + i, "."), t.port, "127.0.0.1");
          b.send(`b${i}`.padEnd(1400, "-"), t.port, "::1");
        }
        await waitFor("300 datagrams", async () => (got.length >= 300 ? true : null), 5000);
        const fromA = got.filter((g) => g.text.startsWith("a"));
        const fromB = got.filter((g) => g.text.startsWith("b"));
        expect(fromA.map((g) => g.text)).toEqual(Array.from({ length: 150 }, (_, i) => `a${i}`.padEnd(50 + i, ".")));
        expect(fromB.map((g) => g.text)).toEqual(Array.from({ length: 150 }, (_, i) => `b${i}`.padEnd(1400, "-")));
        // One endpoint object per sender; IPv4 on the dual-stack socket reported as IPv4.
        expect(new Set(fromA.map((g) => g.from)).size).toBe(1);
        expect(fromA[0]!.from).toMatchObject({ family: 4, port: a.port });
        expect([...fromA[0]!.from.ip]).toEqual([127, 0, 0, 1]);
        expect(fromB[0]!.from).toMatchObject({ family: 6, port: b.port });
        expect([...fromB[0]!.from.ip]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        if (expected === "recvmmsg") {
          expect(t.receiveStats.datagrams).toBe(300);
          expect(t.doorbellStats().rings).toBeGreaterThan(0);
        }
        // sendNow (with and without a TTL) goes out on whichever socket now owns the port.
        const back: string[] = [];
        const sink = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0, socket: { data: (_s, d) => void back.push(Buffer.from(d).toString()) } });
        try {
          const to = { family: 4 as const, ip: Uint8Array.of(127, 0, 0, 1), port: sink.port };
          expect(t.sendNow(Buffer.from("now"), to)).toBe(true);
          expect(t.sendNow(Buffer.from("ttl"), to, 2)).toBe(true);
          await waitFor("both sendNow datagrams", async () => (back.length >= 2 ? true : null), 5000);
          expect(back).toEqual(["now", "ttl"]);
        } finally {
          sink.close();
        }
        expect(t.listeningOn()).toEqual([`::/${t.port}`]);
      } finally {
        t.close();
        a.close();
        b.close();
      }
      // closed: the port is free again
      const again = await Bun.udpSocket({ hostname: "::", port: t.port });
      again.close();
    });
  }
});
