#!/usr/bin/env bun
/**
 * What receiving a datagram costs this process, three ways, alternating (each twice):
 *   Bun.udpSocket with an empty `data` handler (the fallback receive path: Bun reads with
 *   recvmmsg and calls the handler once per datagram with a new buffer, an address string and a
 *   flags object);
 *   recvmmsg through bun:ffi in a blocking loop into preallocated buffers (the floor: no event
 *   loop at all);
 *   the service's path: the io_uring doorbell (ffi/readiness-doorbell.ts) wakes the event loop,
 *   RecvBatch drains the socket with recvmmsg.
 * A C program (bench/support/udp-flood.c) sends 400,000 datagrams of 1432 bytes over loopback,
 * then 1-byte end markers; the figure is this process's CPU (user + system, the kernel's receive
 * included) per datagram, up to the first marker.
 *
 * UDP_RECEIVE_WORK=n adds n turns of a small loop per datagram (the same in all three), standing
 * in for the service's own processing: with nothing to do, a receiver keeps up with the flood and
 * wakes for a few datagrams at a time, which is not how a busy service runs.
 */
import { dlopen, FFIType, ptr } from "bun:ffi";
import { closeFd, dupFd } from "../ffi/libc.ts";
import { ReadinessDoorbell } from "../ffi/readiness-doorbell.ts";
import { RecvBatch } from "../ffi/udp.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildCProgram } from "./support/c-program.ts";

const COUNT = 400_000;
const SIZE = 1432;
const WORK = Number(process.env.UDP_RECEIVE_WORK ?? 0);
if (!Number.isInteger(WORK) || WORK < 0 || WORK > 1e6) throw new Error(`UDP_RECEIVE_WORK=${process.env.UDP_RECEIVE_WORK}: expected an integer 0..1000000`);
let sink = 0;
/** The stand-in for per-datagram processing: reads the datagram, so it cannot be optimised away. */
function work(d: Uint8Array, at: number): void {
  let x = 0;
  for (let k = 0; k < WORK; k++) x = (x * 31 + d[at + (k & 1023)]!) | 0;
  sink ^= x;
}

const dir = mkdtempSync(join(tmpdir(), "udp-receive-"));
const flood = buildCProgram("udp-flood", dir);

const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** Run the flood at `port`; returns this process's CPU seconds until `ended` (the first end marker). */
async function floodUntil(port: number, ended: Promise<void>, reject: (e: Error) => void): Promise<number> {
  const c0 = cpu();
  const sender = Bun.spawn([flood, String(port), String(COUNT), String(SIZE)]);
  // the markers follow the sender's last datagrams within 30 ms: none 2 s after its exit is a failure
  void sender.exited.then(() => setTimeout(() => reject(new Error("no end marker arrived")), 2000).unref());
  await ended;
  const used = cpu() - c0;
  await sender.exited;
  return used;
}

async function viaBun(port: number): Promise<[number, number]> {
  let n = 0;
  const { promise: ended, resolve: end, reject } = Promise.withResolvers<void>();
  const sock = await Bun.udpSocket({
    hostname: "127.0.0.1",
    port,
    binaryType: "uint8array",
    socket: {
      data(_s, d) {
        if (d.length === SIZE) {
          n++;
          work(d, 0);
        } else end(); // the sender's end marker: everything before it was received or dropped
      },
    },
  });
  const used = await floodUntil(port, ended, reject);
  sock.close();
  return [n, used];
}

const libc = dlopen("libc.so.6", {
  socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  bind: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  recvmmsg: { args: [FFIType.i32, FFIType.ptr, FFIType.u32, FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  poll: { args: [FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
}).symbols;

async function viaRecvmmsg(port: number): Promise<[number, number]> {
  const AF_INET = 2;
  const SOCK_DGRAM_NONBLOCK = 2 | 0x800;
  const fd = libc.socket(AF_INET, SOCK_DGRAM_NONBLOCK, 0);
  if (fd < 0) throw new Error("socket failed");
  const sa = new Uint8Array(16);
  const sv = new DataView(sa.buffer);
  sv.setUint16(0, AF_INET, true);
  sv.setUint16(2, port); // network order
  sv.setUint32(4, 0x7f000001); // 127.0.0.1, network order
  if (libc.bind(fd, ptr(sa), 16) !== 0) throw new Error("bind failed");
  // BATCH struct mmsghdr of 64 bytes, each with one iovec over its own SLOT bytes: the kernel
  // writes at most SLOT bytes per datagram, inside `data`.
  const BATCH = 64;
  const SLOT = 2048;
  const data = new Uint8Array(BATCH * SLOT);
  const iov = new BigUint64Array(BATCH * 2);
  const hdr = new BigUint64Array(BATCH * 8);
  for (let i = 0; i < BATCH; i++) {
    iov[i * 2] = BigInt(ptr(data, i * SLOT));
    iov[i * 2 + 1] = BigInt(SLOT);
    hdr[i * 8 + 2] = BigInt(ptr(iov, i * 16)); // msg_iov
    hdr[i * 8 + 3] = 1n; // msg_iovlen
  }
  const msgLen = new Uint32Array(hdr.buffer); // msg_len: the u32 at byte 56 of each mmsghdr
  const pfd = new Int32Array([fd, 1]); // POLLIN
  const c0 = cpu();
  const sender = Bun.spawn([flood, String(port), String(COUNT), String(SIZE)]);
  let n = 0;
  for (let ended = false; !ended; ) {
    const r = libc.recvmmsg(fd, ptr(hdr), BATCH, 0, null);
    for (let i = 0; i < r; i++) {
      if (msgLen[i * 16 + 14] === SIZE) {
        n++;
        work(data, i * SLOT);
      } else ended = true; // the end marker
    }
    // nothing queued: block until something is (the markers come 10 ms apart, so 2 s is a failure)
    if (r <= 0 && libc.poll(ptr(pfd), 1, 2000) === 0) throw new Error("no end marker arrived");
  }
  const used = cpu() - c0;
  await sender.exited;
  libc.close(fd);
  return [n, used];
}

async function viaDoorbell(port: number): Promise<[number, number]> {
  const s = await Bun.udpSocket({ hostname: "127.0.0.1", port });
  const fd = dupFd((s as unknown as { fd: number }).fd);
  s.close();
  const batch = new RecvBatch(64, 2048);
  let n = 0;
  const { promise: ended, resolve: end, reject } = Promise.withResolvers<void>();
  const bell = await ReadinessDoorbell.open(fd, () => {
    for (let round = 0; round < 8; round++) {
      const r = batch.receive(fd);
      for (let i = 0; i < r; i++) {
        if (batch.length(i) === SIZE) {
          n++;
          work(batch.bytes, batch.start(i));
        } else end();
      }
      if (r < batch.capacity) break;
    }
  });
  if (typeof bell === "string") throw new Error(`no doorbell here: ${bell}`);
  const used = await floodUntil(port, ended, reject);
  bell.close();
  closeFd(fd);
  return [n, used];
}

try {
  const port = 47301;
  const ways = [
    ["Bun.udpSocket, empty handler", viaBun],
    ["recvmmsg through ffi, 64 per call, blocking loop", viaRecvmmsg],
    ["io_uring doorbell + RecvBatch (the service's path)", viaDoorbell],
  ] as const;
  if (WORK > 0) console.log(`udp-receive: ${WORK} turns of work per datagram`);
  for (let round = 0; round < 2; round++) {
    for (let w = 0; w < ways.length; w++) {
      const [name, f] = ways[w]!;
      const [n, used] = await f(port + round * ways.length + w);
      console.log(`udp-receive ${name}: ${n} of ${COUNT} datagrams, ${((used / n) * 1e6).toFixed(2)} µs of CPU each`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
