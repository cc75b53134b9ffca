/**
 * Minimal libc bindings through bun:ffi for what Bun does not expose: socket buffer sizes and
 * other socket options on fds Bun created, sendmmsg/recvmmsg on them (ffi/udp.ts), dup and close,
 * the syscalls and mappings of ffi/io-uring.ts, madvise (ffi/jit-huge-pages.ts), epoll (ffi/epoll-set.ts), execve (ffi/reexec.ts),
 * and errno. Loaded lazily so modules that import this
 * but never call it pay nothing.
 */
import { dlopen, FFIType, ptr, read } from "bun:ffi";

export const SOL_SOCKET = 1;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_PEERCRED = 17;
export const SO_SNDBUFFORCE = 32;
export const SO_RCVBUFFORCE = 33;

const symbols = {
  setsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  getsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  sendmmsg: { args: [FFIType.i32, FFIType.ptr, FFIType.u32, FFIType.i32], returns: FFIType.i32 },
  recvmmsg: { args: [FFIType.i32, FFIType.ptr, FFIType.u32, FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  __errno_location: { args: [], returns: FFIType.ptr },
  strerror: { args: [FFIType.i32], returns: FFIType.cstring },
  fcntl: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
  // for ffi/io-uring.ts: the raw syscall (io_uring has no libc wrapper) and the ring mappings
  syscall: {
    args: [FFIType.i64, FFIType.i64, FFIType.i64, FFIType.i64, FFIType.i64, FFIType.i64, FFIType.i64],
    returns: FFIType.i64_fast,
  },
  mmap: { args: [FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.i32, FFIType.i32, FFIType.i64], returns: FFIType.i64_fast },
  munmap: { args: [FFIType.ptr, FFIType.u64], returns: FFIType.i32 },
  // for ffi/jit-huge-pages.ts: advice over our own mappings (addresses from /proc/self/maps)
  madvise: { args: [FFIType.u64, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
  // for ffi/epoll-set.ts and ffi/reexec.ts
  epoll_create1: { args: [FFIType.i32], returns: FFIType.i32 },
  epoll_ctl: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  epoll_wait: { args: [FFIType.i32, FFIType.ptr, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  execve: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
} as const;

type Libc = ReturnType<typeof dlopen<typeof symbols>>["symbols"];
let libc: Libc | null = null;

export function libcSymbols(): Libc {
  if (libc === null) libc = dlopen("libc.so.6", symbols).symbols;
  return libc;
}

export function errno(): number {
  const p = libcSymbols().__errno_location();
  return p === null ? 0 : read.i32(p, 0);
}

export function strerror(code: number): string {
  return String(libcSymbols().strerror(code));
}

const F_DUPFD_CLOEXEC = 1030;

/** A close-on-exec duplicate of `fd` (the same open socket or file); throws with the errno text. */
export function dupFd(fd: number): number {
  const d = libcSymbols().fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (d < 0) throw new Error(`dup of fd ${fd}: ${strerror(errno())}`);
  return d;
}

export function closeFd(fd: number): void {
  if (fd >= 0) libcSymbols().close(fd);
}

/** setsockopt with an int value; throws with the errno text on failure. */
export function setSockOptInt(fd: number, level: number, name: number, value: number): void {
  const v = new Int32Array([value]);
  if (libcSymbols().setsockopt(fd, level, name, ptr(v), 4) !== 0) {
    const e = errno();
    throw new Error(`setsockopt(${fd}, ${level}, ${name}): ${strerror(e)}`);
  }
}

export function getSockOptInt(fd: number, level: number, name: number): number {
  const v = new Int32Array(1);
  const len = new Uint32Array([4]);
  if (libcSymbols().getsockopt(fd, level, name, ptr(v), ptr(len)) !== 0) {
    throw new Error(`getsockopt(${fd}, ${level}, ${name}): ${strerror(errno())}`);
  }
  return v[0]!;
}

/**
 * Raise a socket's kernel buffers. The *FORCE variants (root, or CAP_NET_ADMIN) pass the sysctl
 * ceiling; without privilege we fall back to the plain options, which the kernel caps at
 * net.core.[rw]mem_max. Returns the sizes the kernel actually granted.
 */
export function setSocketBuffers(fd: number, bytes: number): { rcv: number; snd: number } {
  for (const [force, plain] of [
    [SO_RCVBUFFORCE, SO_RCVBUF],
    [SO_SNDBUFFORCE, SO_SNDBUF],
  ] as const) {
    try {
      setSockOptInt(fd, SOL_SOCKET, force, bytes);
    } catch {
      setSockOptInt(fd, SOL_SOCKET, plain, bytes);
    }
  }
  return { rcv: getSockOptInt(fd, SOL_SOCKET, SO_RCVBUF), snd: getSockOptInt(fd, SOL_SOCKET, SO_SNDBUF) };
}
