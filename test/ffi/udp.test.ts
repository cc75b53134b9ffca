import { describe, expect, test } from "bun:test";
import { AF_INET, AF_INET6, encodeSockaddr, ffiUdpSupported, SendBatch, SOCKADDR_BYTES } from "../../ffi/udp.ts";
import { UdpTransport } from "../../src/transport/udp.ts";
import { waitFor } from "../e2e/helpers.ts";

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
