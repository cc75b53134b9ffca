/**
 * The service side of network containers at the protocol level (intercept/PROTOCOL.md), driven
 * from TypeScript the way the C library drives it: truthful connect readiness through the stuffed
 * attach, SO_ERROR, accept preambles, EADDRINUSE and freeing of dead sockets, bad input.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { POLLERR, POLLHUP, POLLIN, POLLOUT, unixAccept } from "../../ffi/unix.ts";
import { ACCEPT_PREAMBLE_SIZE, Errno, MAGIC_ACCEPT, Op, SO_ERROR, SOL_SOCKET, IPPROTO_TCP, TCP_NODELAY } from "../../src/netcon/protocol.ts";
import { ControlClient, readExactly, unixClose, unixRecv, unixSend, waitFd, writable } from "./support/control-client.ts";
import { createFixture, type Fixture, NETCON_IP, PEER_IP } from "./support/fixture-net.ts";

const home = mkdtempSync(join(tmpdir(), "ztnc-ctl-"));
const nwid = 0x8056c2e21c000001n;
let fx: Fixture;
let cl: ControlClient;
let cookie = 0n;

beforeAll(async () => {
  fx = createFixture(home, nwid);
  cl = await ControlClient.open(fx.endpoint.controlPath);
});
afterAll(() => {
  cl.close();
  fx.close();
  rmSync(home, { recursive: true, force: true });
});

describe("netcon control protocol", () => {
  test("endpoint directory is owner-only; HELLO reports the service and the network", async () => {
    expect(statSync(join(home, "netcon.d")).mode & 0o777).toBe(0o700);
    expect(cl.servicePid).toBe(process.pid);
    const h = await cl.call(Op.HELLO, 0, 1, process.pid);
    expect(h.err).toBe(0);
    expect(BigInt(h.data32(0)) | (BigInt(h.data32(4)) << 32n)).toBe(nwid);
    expect(h.data32(8)).toBe(2800);
    cookie = BigInt(h.data32(12)) | (BigInt(h.data32(16)) << 32n);
    expect(cookie).not.toBe(0n);
    // the family the program asked for comes back from INFO (an fd recognised after exec)
    const v6 = await cl.call(Op.SOCKET, 0, 2, 1, 0, 10);
    expect((await cl.call(Op.INFO, v6.sockid)).v1).toBe(10);
    expect((await cl.call(Op.SOCKET, 0, 2, 1, 0, 7)).err).toBe(Errno.EAFNOSUPPORT);
    expect((await cl.call(Op.CLOSE, v6.sockid)).err).toBe(0);
    expect((await cl.call(Op.HELLO, 0, 99, 1)).err).toBe(Errno.EPROTONOSUPPORT);
  });

  test("connect: not writable until the handshake ends, then data both ways through the peer's echo", async () => {
    const s = await cl.socket();
    const r = await cl.connect(s, fx.endpoint.dataPath, PEER_IP, 7);
    expect(r.err).toBe(0);
    expect(r.v0).toBe(NETCON_IP);
    // stuffed: no POLLOUT right after the call, before the SYN-ACK could have been processed
    expect(writable(s.fd) & POLLOUT).toBe(0);
    expect((await waitFd(s.fd, POLLOUT)) & POLLOUT).toBe(POLLOUT);
    expect((await cl.call(Op.GETSOCKOPT, s.id, SOL_SOCKET, SO_ERROR)).v0).toBe(0);
    const peer = await cl.call(Op.GETNAME, s.id, 1);
    expect([peer.err, peer.v0, peer.v1]).toEqual([0, PEER_IP, 7]);
    const msg = new TextEncoder().encode("hello through the stack");
    expect(unixSend(s.fd, msg, 0, msg.length)).toBe(msg.length);
    expect(new TextDecoder().decode(await readExactly(s.fd, msg.length))).toBe("hello through the stack");
    unixClose(s.fd);
  });

  test("connect refused: POLLERR|POLLHUP, SO_ERROR ECONNREFUSED once", async () => {
    const s = await cl.socket();
    expect((await cl.connect(s, fx.endpoint.dataPath, PEER_IP, 1)).err).toBe(0);
    const ev = await waitFd(s.fd, POLLOUT | POLLERR | POLLHUP);
    expect(ev & POLLHUP).toBe(POLLHUP);
    expect((await cl.call(Op.GETSOCKOPT, s.id, SOL_SOCKET, SO_ERROR)).v0).toBe(Errno.ECONNREFUSED);
    expect((await cl.call(Op.GETSOCKOPT, s.id, SOL_SOCKET, SO_ERROR)).v0).toBe(0);
    unixClose(s.fd);
  });

  test("immediate errors: unreachable, multicast, unknown socket, no attach", async () => {
    const s = await cl.socket();
    expect((await cl.connect(s, fx.endpoint.dataPath, 0xe0000001, 80)).err).toBe(Errno.ENETUNREACH);
    unixClose(s.fd);
    const s2 = await cl.socket();
    expect((await cl.connect(s2, fx.endpoint.dataPath, ((192 << 24) | (168 << 16) | 1) >>> 0, 80)).err).toBe(Errno.ENETUNREACH);
    unixClose(s2.fd);
    expect((await cl.call(Op.CONNECT, 0x7fffffff, PEER_IP, 7, 0)).err).toBe(Errno.EBADF);
    const s3 = await cl.socket();
    // CONNECT without an attach: refused, nothing started
    expect((await cl.call(Op.CONNECT, s3.id, PEER_IP, 7, 0)).err).toBe(Errno.EINVAL);
    unixClose(s3.fd);
  });

  test("listen and accept through the stack: listener readable only when a connection waits; preamble names the peer", async () => {
    const l = await cl.socket();
    expect((await cl.call(Op.BIND, l.id, NETCON_IP, 8080, 0)).err).toBe(0);
    const { unixListen } = await import("../../ffi/unix.ts");
    expect(unixListen(l.fd, 16)).toBe(0);
    const lr = await cl.call(Op.LISTEN, l.id, 16);
    expect([lr.err, lr.v0, lr.v1]).toEqual([0, NETCON_IP, 8080]);
    expect(writable(l.fd) & POLLIN).toBe(0);
    const c = await cl.socket();
    const cr = await cl.connect(c, fx.endpoint.dataPath, NETCON_IP, 8080);
    expect(cr.err).toBe(0);
    expect((await waitFd(l.fd, POLLIN)) & POLLIN).toBe(POLLIN);
    const a = unixAccept(l.fd);
    expect(a).toBeGreaterThan(0);
    const pre = new DataView((await readExactly(a, ACCEPT_PREAMBLE_SIZE)).buffer);
    expect(pre.getUint32(0, true)).toBe(MAGIC_ACCEPT);
    expect(pre.getUint32(8, true)).toBe(NETCON_IP);
    expect(pre.getUint32(12, true)).toBe(cr.v1);
    expect(pre.getUint32(20, true)).toBe(8080);
    expect(pre.getBigUint64(24, true)).toBe(cookie);
    expect((await waitFd(c.fd, POLLOUT)) & POLLOUT).toBe(POLLOUT);
    const ping = Uint8Array.of(1, 2, 3, 4);
    unixSend(c.fd, ping, 0, 4);
    expect([...(await readExactly(a, 4))]).toEqual([1, 2, 3, 4]);
    unixSend(a, ping, 0, 2);
    expect([...(await readExactly(c.fd, 2))]).toEqual([1, 2]);
    // program closes both ends: the service frees the records
    const before = fx.endpoint.sockets.size;
    unixClose(a);
    unixClose(c.fd);
    const until = Date.now() + 3000;
    while (fx.endpoint.sockets.size > before - 2 && Date.now() < until) await Bun.sleep(5);
    expect(fx.endpoint.sockets.size).toBe(before - 2);
    unixClose(l.fd);
    expect((await cl.call(Op.CLOSE, l.id)).err).toBe(0);
  });

  test("127.0.0.1 is the container's own loopback: listen there, connect there, nothing on the wire", async () => {
    const lo = 0x7f000001;
    const l = await cl.socket();
    expect((await cl.call(Op.BIND, l.id, lo, 6379, 0)).err).toBe(0);
    const { unixListen } = await import("../../ffi/unix.ts");
    expect(unixListen(l.fd, 8)).toBe(0);
    expect((await cl.call(Op.LISTEN, l.id, 8)).err).toBe(0);
    const txBefore = fx.netcon.iface.stats.txFrames;
    const c = await cl.socket();
    expect((await cl.connect(c, fx.endpoint.dataPath, lo, 6379)).err).toBe(0);
    expect((await waitFd(l.fd, POLLIN)) & POLLIN).toBe(POLLIN);
    const a = unixAccept(l.fd);
    const pre = new DataView((await readExactly(a, ACCEPT_PREAMBLE_SIZE)).buffer);
    expect(pre.getUint32(8, true)).toBe(lo);
    expect(pre.getUint32(16, true)).toBe(lo);
    expect((await waitFd(c.fd, POLLOUT)) & POLLOUT).toBe(POLLOUT);
    expect(fx.netcon.iface.stats.txFrames).toBe(txBefore);
    // a listener on 127.0.0.1 is not reachable from the network
    const r = await cl.socket();
    expect((await cl.connect(r, fx.endpoint.dataPath, NETCON_IP, 6379)).err).toBe(0);
    await waitFd(r.fd, POLLHUP);
    expect((await cl.call(Op.GETSOCKOPT, r.id, SOL_SOCKET, SO_ERROR)).v0).toBe(Errno.ECONNREFUSED);
    for (const fd of [a, c.fd, l.fd, r.fd]) unixClose(fd);
  });

  test("EADDRINUSE while the first socket lives; free again once it is closed (no CLOSE needed)", async () => {
    const a = await cl.socket();
    const b = await cl.socket();
    expect((await cl.call(Op.BIND, a.id, 0, 9090, 0)).err).toBe(0);
    expect((await cl.call(Op.BIND, b.id, NETCON_IP, 9090, 0)).err).toBe(Errno.EADDRINUSE);
    unixClose(a.fd); // as a killed program would: no CLOSE call
    expect((await cl.call(Op.BIND, b.id, NETCON_IP, 9090, 0)).err).toBe(0);
    const c = await cl.socket();
    expect((await cl.call(Op.BIND, c.id, 0x0a090063, 1, 0)).err).toBe(Errno.EADDRNOTAVAIL);
    const e = await cl.call(Op.BIND, c.id, 0, 0, 0);
    expect(e.err).toBe(0);
    expect(e.v1).toBeGreaterThanOrEqual(32768);
    for (const s of [b, c]) unixClose(s.fd);
  });

  test("socket options answer as Linux's TCP does", async () => {
    const s = await cl.socket();
    expect((await cl.call(Op.SETSOCKOPT, s.id, IPPROTO_TCP, TCP_NODELAY, 1)).err).toBe(0);
    expect((await cl.call(Op.GETSOCKOPT, s.id, IPPROTO_TCP, TCP_NODELAY)).v0).toBe(1);
    expect((await cl.call(Op.SETSOCKOPT, s.id, SOL_SOCKET, 8, 100000)).err).toBe(0); // SO_RCVBUF
    expect((await cl.call(Op.GETSOCKOPT, s.id, SOL_SOCKET, 8)).v0).toBe(200000);
    expect((await cl.call(Op.SETSOCKOPT, s.id, IPPROTO_TCP, 4, 0)).err).toBe(Errno.EINVAL); // TCP_KEEPIDLE 0
    expect((await cl.call(Op.SETSOCKOPT, s.id, IPPROTO_TCP, 999, 1)).err).toBe(Errno.ENOPROTOOPT);
    expect((await cl.call(Op.GETSOCKOPT, s.id, 41, 26)).err).toBe(Errno.ENOPROTOOPT);
    unixClose(s.fd);
  });

  test("a program closing with unread data resets the TCP connection (RST), as the kernel does", async () => {
    const s = await cl.socket();
    expect((await cl.connect(s, fx.endpoint.dataPath, PEER_IP, 19)).err).toBe(0);
    expect((await waitFd(s.fd, POLLIN)) & POLLIN).toBe(POLLIN); // the source's bytes arrived, unread
    const before = fx.peer.tcp.stats.resetsReceived;
    unixClose(s.fd);
    const until = Date.now() + 3000;
    while (fx.peer.tcp.stats.resetsReceived === before && Date.now() < until) await Bun.sleep(5);
    expect(fx.peer.tcp.stats.resetsReceived).toBe(before + 1);
  });

  test("SO_RCVBUF set before connect sizes the stack's receive buffer", async () => {
    const s = await cl.socket();
    expect((await cl.call(Op.SETSOCKOPT, s.id, SOL_SOCKET, 8, 32768)).err).toBe(0);
    expect((await cl.connect(s, fx.endpoint.dataPath, PEER_IP, 7)).err).toBe(0);
    expect((await waitFd(s.fd, POLLOUT)) & POLLOUT).toBe(POLLOUT);
    const info = (fx.endpoint.sockets as unknown as { socks: Map<number, { tcp: { info(): { recvBuffer: number } } | null }> }).socks.get(s.id)?.tcp?.info();
    expect(info?.recvBuffer).toBe(65536); // Linux doubles what is set, and so do we
    unixClose(s.fd);
  });

  test("malformed control input: unknown op answered, bad magic closes only that channel", async () => {
    const c2 = await ControlClient.open(fx.endpoint.controlPath);
    expect((await c2.call(77, 0)).err).toBe(Errno.ENOSYS);
    const junk = new Uint8Array(64).fill(0xee);
    c2.sendRaw(junk);
    const until = Date.now() + 2000;
    while (!c2.closed && Date.now() < until) await Bun.sleep(5);
    expect(c2.closed).toBe(true);
    expect((await cl.call(Op.HELLO, 0, 1, 1)).err).toBe(0);
  });

  test("stuffing that is not all there (a lying caller) fails the connect instead of hanging", async () => {
    const s = await cl.socket();
    const { unixConnect } = await import("../../ffi/unix.ts");
    expect(unixConnect(s.fd, fx.endpoint.dataPath, false)).toBe(0);
    const hdr = new Uint8Array(16);
    new DataView(hdr.buffer).setUint32(0, 0x534e545a, true);
    new DataView(hdr.buffer).setUint32(4, s.id, true);
    unixSend(s.fd, hdr, 0, 16);
    expect((await cl.call(Op.CONNECT, s.id, PEER_IP, 7, 1 << 20)).err).toBe(0);
    const ev = await waitFd(s.fd, POLLHUP);
    expect(ev & POLLHUP).toBe(POLLHUP);
    expect((await cl.call(Op.GETSOCKOPT, s.id, SOL_SOCKET, SO_ERROR)).v0).toBe(Errno.ECONNABORTED);
    const b = new Uint8Array(4);
    expect(unixRecv(s.fd, b, 0, 4)).toBeLessThanOrEqual(0);
    unixClose(s.fd);
  });
});
