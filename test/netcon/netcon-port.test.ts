/**
 * NetconPort: a network's config becomes the user-space stack's MAC, MTU, addresses and routes
 * (again on every change); an address taken away resets what used it; two endpoints (two homes,
 * even the same network) live side by side; closing the port (leave) closes the endpoint and every
 * connection on it.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { POLLHUP, POLLOUT, unixShutdown } from "../../ffi/unix.ts";
import { NetconPort } from "../../src/netcon/netcon-port.ts";
import type { PortConfig } from "../../src/port/port.ts";
import { FRAME_HEADROOM } from "../../src/stack/link.ts";
import { ipv4 } from "../../src/vl1/inet-address.ts";
import { programIoState } from "../../src/netcon/program-port.ts";
import type { TcpSocket } from "../../src/stack/tcp/index.ts";
import { ioUringAllowed } from "../ffi/io-uring-allowed.ts";
import { waitFor } from "../e2e/helpers.ts";
import { ControlClient, readExactly, unixClose, unixSend, waitFd, writable } from "./support/control-client.ts";

const tmp = mkdtempSync(join(tmpdir(), "ztnc-port-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const nwid = 0x8056c2e21c000002n;

function config(addrs: [number, number, number, number, number][], mtu = 2800): PortConfig {
  return {
    mac: 0x02aa00000009,
    mtu,
    addresses: addrs.map(([a, b, c, d, bits]) => ipv4(a, b, c, d, bits)),
    routes: [{ target: ipv4(10, 20, 0, 0, 16), via: ipv4(10, 9, 0, 254, 0), flags: 0, metric: 0 }],
  };
}

/** Two ports joined by an in-process wire (frames cross in a microtask). */
function wiredPair(name: string): [NetconPort, NetconPort] {
  const p1 = new NetconPort(join(tmp, `${name}1`), nwid, 0x02aa00000011, 2800);
  const p2 = new NetconPort(join(tmp, `${name}2`), nwid, 0x02aa00000012, 2800);
  const wire = (to: NetconPort) => ({
    sendFrame: (b: Uint8Array, s: number, e: number) => {
      const f = new Uint8Array(FRAME_HEADROOM + e - s);
      f.set(b.subarray(s, e), FRAME_HEADROOM);
      queueMicrotask(() => to.deliver.receiveFrame(f, FRAME_HEADROOM, f.length));
    },
  });
  p1.start(wire(p2));
  p2.start(wire(p1));
  return [p1, p2];
}

describe("NetconPort", () => {
  test("config is applied to the stack, and applied again on change", async () => {
    const port = new NetconPort(join(tmp, "a"), nwid, 0x02aa00000009, 2800);
    const frames: number[] = [];
    port.start({ sendFrame: (_b, s, e) => frames.push(e - s) });
    await port.configure(config([[10, 9, 0, 5, 24]]));
    const iface = port.stack.iface;
    expect(iface.addresses().map((a) => a.addr)).toEqual([0x0a090005]);
    expect(iface.routes.lookup(0x0a140101)?.gateway).toBe(0x0a0900fe);
    expect(frames.length).toBeGreaterThan(0); // gratuitous ARP on start
    await port.configure(config([[10, 9, 0, 6, 24]], 1400));
    expect(iface.addresses().map((a) => a.addr)).toEqual([0x0a090006]);
    expect(iface.mtu).toBe(1400);
    await port.close();
    expect(existsSync(join(tmp, "a", "netcon.d", `${nwid.toString(16)}.rpc`))).toBe(false);
  });

  test("an address taken away resets the connections that used it", async () => {
    const port = new NetconPort(join(tmp, "b"), nwid, 0x02aa00000009, 2800);
    const sent: Uint8Array[] = [];
    port.start({ sendFrame: (b, s, e) => sent.push(b.slice(s, e)) });
    await port.configure(config([[10, 9, 0, 5, 24]]));
    const t = port.stack.connect(0x0a090063, 80);
    let err = "";
    t.handler = { onError: (_s, code) => (err = code) };
    expect(t.stateName).toBe("SYN_SENT");
    await port.configure(config([]));
    expect(err).not.toBe("");
    expect(port.stack.tcp.connectionCount).toBe(0);
    await port.close();
  });

  test("two endpoints of the same network in two homes live side by side; close resets program sockets", async () => {
    const [p1, p2] = wiredPair("c");
    await p1.configure(config([[10, 9, 1, 1, 24]]));
    await p2.configure(config([[10, 9, 1, 2, 24]]));
    // a listener on p2's stack, a program socket on p1 connecting to it
    p2.stack.listen(7, { handler: { onAcceptable: (l) => void l.accept() } });
    const c = await ControlClient.open(p1.endpoint.controlPath);
    const s = await c.socket();
    expect((await c.connect(s, p1.endpoint.dataPath, 0x0a090102, 7)).err).toBe(0);
    expect((await waitFd(s.fd, POLLOUT)) & POLLOUT).toBe(POLLOUT);
    await p1.close(); // leave
    expect((await waitFd(s.fd, POLLHUP)) & POLLHUP).toBe(POLLHUP);
    const until = Date.now() + 2000;
    while (!c.closed && Date.now() < until) await Bun.sleep(5);
    expect(c.closed).toBe(true);
    // the other home's endpoint is untouched
    const c2 = await ControlClient.open(p2.endpoint.controlPath);
    expect(c2.servicePid).toBe(process.pid);
    c2.close();
    unixClose(s.fd);
    await p2.close();
  });

  test("request/response through a program socket: the program is read when it wrote, not on every ACK", async () => {
    const [p1, p2] = wiredPair("rr");
    await p1.configure(config([[10, 9, 1, 1, 24]]));
    await p2.configure(config([[10, 9, 1, 2, 24]]));
    // an echo server on p2's stack
    const echoBuf = new Uint8Array(4096);
    const echo = (t: TcpSocket): void => {
      const n = t.recv(echoBuf, 0, echoBuf.length);
      if (n > 0) t.send(echoBuf, 0, n);
    };
    p2.stack.listen(7, {
      handler: {
        onAcceptable: (l) => {
          for (let t = l.accept(); t !== null; t = l.accept()) t.handler = { onReadable: echo };
        },
      },
    });
    const c = await ControlClient.open(p1.endpoint.controlPath);
    const s = await c.socket();
    expect((await c.connect(s, p1.endpoint.dataPath, 0x0a090102, 7)).err).toBe(0);
    expect((await waitFd(s.fd, POLLOUT)) & POLLOUT).toBe(POLLOUT);
    const before = programIoState();
    const request = new Uint8Array(64).fill(0x72);
    const TRANSACTIONS = 200;
    for (let i = 0; i < TRANSACTIONS; i++) {
      request[0] = i;
      expect(unixSend(s.fd, request, 0, 64)).toBe(64);
      expect(await readExactly(s.fd, 64)).toEqual(request);
    }
    if (ioUringAllowed()) {
      expect(programIoState().way).toBe("epoll");
      // each request is one read; each answer also ACKs the request, and reading the program again
      // then (it wrote nothing more) was one system call per transaction that found nothing
      expect(programIoState().reads - before.reads).toBeGreaterThanOrEqual(TRANSACTIONS);
      expect(programIoState().emptyReads - before.emptyReads).toBeLessThan(TRANSACTIONS / 10);
    } else {
      expect(programIoState().way).toBe("bun"); // io_uring refused here (no doorbell): Bun reads
    }
    c.close();
    unixClose(s.fd);
    await p1.close();
    await p2.close();
  });

  test("a program that fills the send ring, then shuts its side while the peer is not reading: every byte, then the FIN, reach the peer", async () => {
    const [p1, p2] = wiredPair("eof");
    await p1.configure(config([[10, 9, 1, 1, 24]]));
    await p2.configure(config([[10, 9, 1, 2, 24]]));
    let received = 0;
    let finSeen = false;
    let reading = false;
    let peer: TcpSocket | null = null;
    const sink = new Uint8Array(65536);
    const read = (sock: TcpSocket): void => {
      if (!reading) return; // the peer's window closes, then our send ring fills
      for (let n = sock.recv(sink, 0, sink.length); n > 0; n = sock.recv(sink, 0, sink.length)) received += n;
      if (sock.peerClosed) finSeen = true;
    };
    p2.stack.listen(9, {
      handler: {
        onAcceptable: (l) => {
          for (let t = l.accept(); t !== null; t = l.accept()) {
            peer = t;
            t.handler = { onReadable: read };
          }
        },
      },
    });
    // the bridge's TCP socket on p1's side, to see when its send ring is full
    let ours: TcpSocket | null = null;
    const connect = p1.stack.connect.bind(p1.stack);
    p1.stack.connect = (addr, port, opts) => (ours = connect(addr, port, opts));
    const c = await ControlClient.open(p1.endpoint.controlPath);
    const s = await c.socket();
    expect((await c.connect(s, p1.endpoint.dataPath, 0x0a090102, 9)).err).toBe(0);
    const chunk = new Uint8Array(65536).fill(0x5a);
    let sent = 0;
    // write until the peer's window is shut, our send ring is full and the program's socket too:
    // then the bridge waits for room, and nothing will give it any while the peer does not read
    const stuck = (): boolean => ours !== null && ours.writableLength === 0 && ours.info().sndWnd === 0 && writable(s.fd) === 0;
    for (;;) {
      const w = unixSend(s.fd, chunk, 0, chunk.length);
      if (w > 0) {
        sent += w;
        continue;
      }
      if (stuck()) break;
      await waitFor("room in the program's socket, or the bridge stuck for want of room", async () => (writable(s.fd) !== 0 || stuck() ? true : null), 10_000);
    }
    expect(sent).toBeGreaterThan(65536);
    // the end comes while the bridge waits for room: its event is told then, and not again
    const told = programIoState().events;
    expect(unixShutdown(s.fd, 1)).toBe(0);
    if (ioUringAllowed()) await waitFor("the end to be told", async () => (programIoState().events > told ? true : null), 5000);
    reading = true;
    read(peer!);
    await waitFor("every byte and the FIN", async () => (received === sent && finSeen ? true : null), 20_000);
    c.close();
    unixClose(s.fd);
    await p1.close();
    await p2.close();
  }, 30_000);
});
