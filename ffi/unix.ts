/**
 * AF_UNIX stream sockets at the syscall level through bun:ffi, for what Bun's socket API cannot
 * do: abstract names, a listener the service accepts from only when it chooses (so bytes waiting
 * in a program's socket stay unread until the service decides), MSG_PEEK, exact reads of a known
 * byte count, and SO_PEERCRED. Every call is nonblocking and returns a negative errno instead of
 * throwing, so callers on the event loop never stall.
 *
 * Buffers: sockaddr and scratch buffers are preallocated; callers pass their own data buffers.
 */
import { dlopen, FFIType, ptr } from "bun:ffi";
import type { FdSocketOptions, Socket } from "bun";
import { closeFd, errno } from "./libc.ts";

export const AF_UNIX = 1;
export const SOCK_STREAM = 1;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const MSG_PEEK = 2;
export const MSG_DONTWAIT = 0x40;
export const MSG_NOSIGNAL = 0x4000;
export const EAGAIN = 11;
export const EINTR = 4;
export const ECONNREFUSED = 111;
export const EADDRINUSE = 98;
export const ENOENT = 2;

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
/** sizeof(struct sockaddr_un) */
const SUN_LEN = 110;
const SUN_PATH_MAX = 108;

const symbols = {
  socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  bind: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  listen: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  accept4: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  connect: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  recv: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64 },
  send: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64 },
  getsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  getuid: { args: [], returns: FFIType.u32 },
  poll: { args: [FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
  socketpair: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  shutdown: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  sched_yield: { args: [], returns: FFIType.i32 },
  usleep: { args: [FFIType.u32], returns: FFIType.i32 },
} as const;

type Libc = ReturnType<typeof dlopen<typeof symbols>>["symbols"];
let libc: Libc | null = null;
function c(): Libc {
  if (libc === null) libc = dlopen("libc.so.6", symbols).symbols;
  return libc;
}

const addrBuf = new Uint8Array(SUN_LEN);
const credBuf = new Int32Array(3);
const credLen = new Uint32Array(1);
const encoder = new TextEncoder();

/** Fill addrBuf with a sockaddr_un; returns its length, or -1 when the name does not fit. */
function sockaddr(name: string, abstract: boolean): number {
  const bytes = encoder.encode(name);
  const len = bytes.length + (abstract ? 1 : 0);
  if (len >= SUN_PATH_MAX || bytes.length === 0) return -1;
  addrBuf.fill(0);
  addrBuf[0] = AF_UNIX;
  addrBuf.set(bytes, abstract ? 3 : 2);
  // abstract: leading NUL, exact length (no trailing NUL); path: NUL-terminated
  return abstract ? 2 + len : 2 + len + 1;
}

/** True when `path` fits sun_path as a filesystem socket name. */
export function unixPathFits(path: string): boolean {
  return encoder.encode(path).length < SUN_PATH_MAX;
}

/** A new nonblocking, close-on-exec AF_UNIX stream socket, or -errno. */
export function unixSocket(): number {
  const fd = c().socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  return fd < 0 ? -errno() : fd;
}

/** bind to a path (abstract = false) or an abstract name (given without the leading NUL). */
export function unixBind(fd: number, name: string, abstract: boolean): number {
  const n = sockaddr(name, abstract);
  if (n < 0) return -36; // ENAMETOOLONG
  return c().bind(fd, ptr(addrBuf), n) === 0 ? 0 : -errno();
}

export function unixListen(fd: number, backlog: number): number {
  return c().listen(fd, backlog) === 0 ? 0 : -errno();
}

/** accept4 with NONBLOCK|CLOEXEC; -EAGAIN when nothing waits. */
export function unixAccept(fd: number): number {
  const r = c().accept4(fd, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC);
  return r < 0 ? -errno() : r;
}

/** connect (nonblocking): 0, or -EAGAIN (listener backlog full), -ECONNREFUSED (no listener) … */
export function unixConnect(fd: number, name: string, abstract: boolean): number {
  const n = sockaddr(name, abstract);
  if (n < 0) return -36;
  for (;;) {
    if (c().connect(fd, ptr(addrBuf), n) === 0) return 0;
    const e = errno();
    if (e !== EINTR) return -e;
  }
}

/** recv into buf[off, off+len) with flags (MSG_DONTWAIT is always added); n, 0 at EOF, or -errno. */
export function unixRecv(fd: number, buf: Uint8Array, off: number, len: number, flags = 0): number {
  if (off < 0 || len < 0 || off + len > buf.length) throw new RangeError("unixRecv: range outside buffer");
  if (len === 0) return 0;
  for (;;) {
    const r = Number(c().recv(fd, ptr(buf, off), len, flags | MSG_DONTWAIT));
    if (r >= 0) return r;
    const e = errno();
    if (e !== EINTR) return -e;
  }
}

/** send buf[off, off+len) without blocking or SIGPIPE; n or -errno. */
export function unixSend(fd: number, buf: Uint8Array, off: number, len: number): number {
  if (off < 0 || len < 0 || off + len > buf.length) throw new RangeError("unixSend: range outside buffer");
  if (len === 0) return 0;
  for (;;) {
    const r = Number(c().send(fd, ptr(buf, off), len, MSG_DONTWAIT | MSG_NOSIGNAL));
    if (r >= 0) return r;
    const e = errno();
    if (e !== EINTR) return -e;
  }
}

/** A connected pair of non-blocking, close-on-exec AF_UNIX stream sockets, or null (errno set). */
export function unixSocketPair(): [number, number] | null {
  const fds = new Int32Array(2);
  if (c().socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, ptr(fds)) !== 0) return null;
  return [fds[0]!, fds[1]!];
}

/** shutdown(2): how 0 = no more receives, 1 = no more sends, 2 = both. Returns 0 or -1 (errno set). */
export function unixShutdown(fd: number, how: 0 | 1 | 2): number {
  return c().shutdown(fd, how);
}

/** Bun.connect({ fd }): adopt a connected socket fd into Bun's event loop (bun-types lists no overload for it). */
export function adoptSocketFd<T>(o: FdSocketOptions<T> & { allowHalfOpen?: boolean }): Promise<Socket<T>> {
  const connect = Bun.connect as unknown as (o: FdSocketOptions<T> & { allowHalfOpen?: boolean }) => Promise<Socket<T>>;
  return connect(o);
}

export function unixClose(fd: number): void {
  closeFd(fd);
}

export interface PeerCred {
  pid: number;
  uid: number;
  gid: number;
}

/** SO_PEERCRED of a connected AF_UNIX socket, or null. */
export function peerCred(fd: number): PeerCred | null {
  credLen[0] = 12;
  if (c().getsockopt(fd, SOL_SOCKET, SO_PEERCRED, ptr(credBuf), ptr(credLen)) !== 0) return null;
  return { pid: credBuf[0]!, uid: credBuf[1]! >>> 0, gid: credBuf[2]! >>> 0 };
}

export const POLLIN = 1;
export const POLLOUT = 4;
export const POLLERR = 8;
export const POLLHUP = 16;
const pollBuf = new Int32Array(2);

/** poll() one fd (timeout 0 = just look); returns revents, 0 on timeout, -errno on failure. */
export function unixPoll(fd: number, events: number, timeoutMs: number): number {
  pollBuf[0] = fd;
  pollBuf[1] = events & 0xffff;
  const r = c().poll(ptr(pollBuf), 1, timeoutMs);
  if (r < 0) return -errno();
  return r === 0 ? 0 : (pollBuf[1]! >>> 16) & 0xffff;
}

/**
 * poll() several fds: `fds` holds pairs (fd, events), and after the call each pair's second
 * entry has the fd's revents in its upper 16 bits (struct pollfd's layout). Returns the number of
 * ready fds, 0 on timeout, -errno on failure.
 */
export function unixPollMany(fds: Int32Array, count: number, timeoutMs: number): number {
  if (count < 0 || 2 * count > fds.length) return -22; // EINVAL: never let poll() read past the array
  const r = c().poll(ptr(fds), count, timeoutMs);
  return r < 0 ? -errno() : r;
}

/** usleep(3): sleep this thread for `us` microseconds (a signal may cut it short). */
export function sleepMicros(us: number): void {
  c().usleep(us);
}

/** sched_yield(2): let another runnable task of this CPU go first. */
export function yieldCpu(): void {
  c().sched_yield();
}

export function getUid(): number {
  return c().getuid();
}

/**
 * Whether an abstract name is free: a socket bound to it still exists somewhere iff binding a new
 * socket to the name fails with EADDRINUSE. The probe socket is closed at once (the name is free
 * again). Returns null when the probe itself failed.
 */
export function abstractNameFree(name: string): boolean | null {
  const fd = unixSocket();
  if (fd < 0) return null;
  try {
    const r = unixBind(fd, name, true);
    if (r === 0) return true;
    if (r === -EADDRINUSE) return false;
    return null;
  } finally {
    unixClose(fd);
  }
}
