#!/usr/bin/env bun
/**
 * What receiving a datagram costs this process, two ways, alternating (each twice):
 *   Bun.udpSocket with an empty `data` handler (how the service receives: Bun reads with
 *   recvmmsg and calls the handler once per datagram with a new buffer, an address string and a
 *   flags object);
 *   recvmmsg through bun:ffi in a loop into preallocated buffers (what we would do if Bun let us
 *   watch a socket's readiness without reading it).
 * A C program (bench/support/udp-flood.c) sends 400,000 datagrams of 1432 bytes over loopback,
 * then 1-byte end markers; the figure is this process's CPU (user + system, the kernel's receive
 * included) per datagram, up to the first marker.
 */
import { dlopen, FFIType, ptr } from "bun:ffi";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const COUNT = 400_000;
const SIZE = 1432;

const dir = mkdtempSync(join(tmpdir(), "udp-receive-"));
const flood = join(dir, "udp-flood");
const build = Bun.spawnSync(["cc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", flood, join(import.meta.dir, "support/udp-flood.c")]);
if (build.exitCode !== 0) throw new Error(`building udp-flood: ${build.stderr.toString()}`);

const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

async function viaBun(port: number): Promise<[number, number]> {
  let n = 0;
  const { promise: ended, resolve: end, reject } = Promise.withResolvers<void>();
  const sock = await Bun.udpSocket({
    hostname: "127.0.0.1",
    port,
    binaryType: "uint8array",
    socket: {
      data(_s, d) {
        if (d.length === SIZE) n++;
        else end(); // the sender's end marker: everything before it was received or dropped
      },
    },
  });
  const c0 = cpu();
  const sender = Bun.spawn([flood, String(port), String(COUNT), String(SIZE)]);
  // the markers follow the sender's last datagrams within 30 ms: none 2 s after its exit is a failure
  void sender.exited.then(() => setTimeout(() => reject(new Error("no end marker arrived")), 2000).unref());
  await ended;
  const used = cpu() - c0;
  await sender.exited;
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
      if (msgLen[i * 16 + 14] === SIZE) n++;
      else ended = true; // the end marker
    }
    // nothing queued: block until something is (the markers come 10 ms apart, so 2 s is a failure)
    if (r <= 0 && libc.poll(ptr(pfd), 1, 2000) === 0) throw new Error("no end marker arrived");
  }
  const used = cpu() - c0;
  await sender.exited;
  libc.close(fd);
  return [n, used];
}

try {
  const port = 47301;
  for (let round = 0; round < 2; round++) {
    for (const [name, f] of [
      ["Bun.udpSocket, empty handler", viaBun],
      ["recvmmsg through ffi, 64 per call", viaRecvmmsg],
    ] as const) {
      const [n, used] = await f(port + round * 2 + (f === viaBun ? 0 : 1));
      console.log(`udp-receive ${name}: ${n} of ${COUNT} datagrams, ${((used / n) * 1e6).toFixed(2)} µs of CPU each`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
