/**
 * The smallest io_uring we need, through bun:ffi and raw syscalls (no liburing): set up a ring,
 * queue submission entries, submit them, look at completions, tear it down. Used for the receive
 * doorbell (ffi/readiness-doorbell.ts), which needs the kernel to act on a socket's readiness
 * while this thread sleeps in Bun's event loop.
 *
 * Linux only, x64/arm64 (the syscall numbers 425-427 are the same on both). Containers often
 * forbid io_uring (Docker's default seccomp profile, kernel.io_uring_disabled): open() then
 * returns the reason instead of a ring, and callers fall back.
 *
 * Memory safety: the rings are mapped once; every view over them is made at open() from the
 * offsets the kernel reported, after checking they lie inside the mapping, and every index into
 * them is masked. close() drops the views before it unmaps, and every method checks `closed`.
 */
import { type Pointer, ptr, toArrayBuffer } from "bun:ffi";
import { closeFd, errno, libcSymbols, strerror } from "./libc.ts";

const SYS_IO_URING_SETUP = 425;
const SYS_IO_URING_ENTER = 426;

const PROT_READ_WRITE = 3;
const MAP_SHARED_POPULATE = 0x01 | 0x8000;
const OFF_SQES = 0x10000000;
const FEAT_SINGLE_MMAP = 1 << 0;
const FEAT_CQE_SKIP = 1 << 11;

const SQE_BYTES = 64;
const CQE_BYTES = 16;
const PARAMS_WORDS = 30; // sizeof(struct io_uring_params) / 4

/** Opcodes and flags we use (include/uapi/linux/io_uring.h). */
export const OP_POLL_ADD = 6;
export const OP_SEND = 26;
const OP_ASYNC_CANCEL = 14;
const CANCEL_ANY = 1 << 2;
const ENTER_GETEVENTS = 1;
export const SQE_IO_LINK = 1 << 2;
export const SQE_CQE_SKIP_SUCCESS = 1 << 6;

export class IoUring {
  private closed = false;
  private sqTail: Uint32Array;
  private sqArray: Uint32Array;
  private sqes: DataView;
  private cqHead: Uint32Array;
  private cqTail: Uint32Array;
  private cqes: DataView;
  /** Entries queued by prepare() and not yet submitted. */
  private queued = 0;

  private constructor(
    private readonly fd: number,
    private readonly ring: number,
    private readonly ringBytes: number,
    private readonly sqeMem: number,
    private readonly sqeBytes: number,
    private readonly sqMask: number,
    private readonly cqMask: number,
    params: Uint32Array,
  ) {
    const words = new Uint32Array(toArrayBuffer(ring as Pointer, 0, ringBytes));
    const word = (off: number): Uint32Array => words.subarray(off / 4, off / 4 + 1);
    this.sqTail = word(params[11]!);
    this.sqArray = words.subarray(params[16]! / 4, params[16]! / 4 + sqMask + 1);
    this.cqHead = word(params[20]!);
    this.cqTail = word(params[21]!);
    this.cqes = new DataView(words.buffer, params[25]!, (cqMask + 1) * CQE_BYTES);
    this.sqes = new DataView(toArrayBuffer(sqeMem as Pointer, 0, sqeBytes));
  }

  /**
   * A ring with `entries` submission slots (a power of two, 1..4096), or the reason (a string) when this
   * kernel or sandbox does not offer io_uring or lacks what we use (single mmap, CQE skipping).
   */
  static open(entries: number): IoUring | string {
    if (process.platform !== "linux" || (process.arch !== "x64" && process.arch !== "arm64")) return "not Linux x64/arm64";
    if (!Number.isInteger(entries) || entries < 1 || entries > 4096 || (entries & (entries - 1)) !== 0) {
      throw new RangeError(`io_uring entries must be a power of two in 1..4096, not ${entries}`);
    }
    let s: ReturnType<typeof libcSymbols>;
    try {
      s = libcSymbols();
    } catch (e) {
      return `libc: ${(e as Error).message}`;
    }
    const params = new Uint32Array(PARAMS_WORDS);
    const fd = s.syscall(SYS_IO_URING_SETUP, entries, ptr(params), 0, 0, 0, 0);
    if (typeof fd !== "number" || fd < 0) return `io_uring_setup: ${strerror(errno())}`;
    const fail = (why: string): string => {
      closeFd(fd);
      return why;
    };
    const sqEntries = params[0]!;
    const cqEntries = params[1]!;
    const features = params[5]!;
    if ((features & FEAT_SINGLE_MMAP) === 0 || (features & FEAT_CQE_SKIP) === 0) return fail("io_uring lacks single mmap or CQE skipping");
    // The kernel reports where each field lies (sq_off, cq_off); all must be inside the mapping.
    const ringBytes = Math.max(params[16]! + sqEntries * 4, params[25]! + cqEntries * CQE_BYTES);
    const wordFields = [params[10]!, params[11]!, params[12]!, params[20]!, params[21]!, params[22]!];
    const sane =
      sqEntries >= 1 &&
      cqEntries >= 1 &&
      wordFields.every((o) => o % 4 === 0 && o + 4 <= ringBytes) &&
      params[16]! % 4 === 0 &&
      params[25]! % CQE_BYTES === 0;
    if (!sane) return fail("io_uring reported offsets we do not understand");
    const ring = s.mmap(null, ringBytes, PROT_READ_WRITE, MAP_SHARED_POPULATE, fd, 0);
    if (typeof ring !== "number" || ring <= 0) return fail(`mmap of the io_uring rings: ${strerror(errno())}`);
    // The masks live in the ring; each must fit its entry count (a power of two).
    const masks = new Uint32Array(toArrayBuffer(ring as Pointer, 0, ringBytes));
    const sqMask = masks[params[12]! / 4]!;
    const cqMask = masks[params[22]! / 4]!;
    if (sqMask !== sqEntries - 1 || cqMask !== cqEntries - 1 || (sqEntries & sqMask) !== 0 || (cqEntries & cqMask) !== 0) {
      s.munmap(ring as Pointer, ringBytes);
      return fail("io_uring ring masks do not match its sizes");
    }
    const sqeBytes = sqEntries * SQE_BYTES;
    const sqeMem = s.mmap(null, sqeBytes, PROT_READ_WRITE, MAP_SHARED_POPULATE, fd, OFF_SQES);
    if (typeof sqeMem !== "number" || sqeMem <= 0) {
      s.munmap(ring as Pointer, ringBytes);
      return fail(`mmap of the io_uring entries: ${strerror(errno())}`);
    }
    return new IoUring(fd, ring, ringBytes, sqeMem, sqeBytes, sqMask, cqMask, params);
  }

  /**
   * Queue one entry: opcode, flags, fd, addr (a pointer), len, the op's own flags word (poll
   * events, msg flags) and user_data. False when the submission queue is full or the ring closed.
   */
  prepare(opcode: number, flags: number, fd: number, addr: number, len: number, opFlags: number, userData: number): boolean {
    if (this.closed || this.queued > this.sqMask) return false;
    const tail = (this.sqTail[0]! + this.queued) >>> 0;
    const idx = tail & this.sqMask;
    const s = this.sqes;
    const o = idx * SQE_BYTES;
    // 64-bit fields as two 32-bit halves: no BigInt per entry (an arm is one per wake-up)
    for (let i = 0; i < SQE_BYTES; i += 4) s.setUint32(o + i, 0, true);
    s.setUint8(o, opcode);
    s.setUint8(o + 1, flags);
    s.setInt32(o + 4, fd, true);
    setU64(s, o + 16, addr);
    s.setUint32(o + 24, len, true);
    s.setUint32(o + 28, opFlags, true);
    setU64(s, o + 32, userData);
    this.sqArray[idx] = idx;
    this.queued++;
    return true;
  }

  /** Publish the queued entries and enter the kernel once; returns how many it took, or -errno. */
  submit(): number {
    if (this.closed) return -9; // EBADF
    return this.enter(0, 0);
  }

  /**
   * Publish what prepare() queued (the kernel reads the tail with acquire ordering;
   * Atomics.store is sequentially consistent), then io_uring_enter, again on EINTR.
   */
  private enter(minComplete: number, flags: number): number {
    const n = this.queued;
    if (n === 0 && minComplete === 0) return 0;
    this.queued = 0;
    Atomics.store(this.sqTail, 0, (this.sqTail[0]! + n) >>> 0);
    for (;;) {
      const r = libcSymbols().syscall(SYS_IO_URING_ENTER, this.fd, n, minComplete, flags, 0, 0);
      if (typeof r === "number" && r >= 0) return r;
      const e = errno();
      if (e !== 4) return -e; // retry only EINTR
    }
  }

  /** Call `each` for every completion posted since the last call, and consume them. */
  reap(each: (userData: number, res: number, flags: number) => void): number {
    if (this.closed) return 0;
    let head = this.cqHead[0]!;
    const tail = Atomics.load(this.cqTail, 0);
    let n = 0;
    while (head !== tail) {
      const o = (head & this.cqMask) * CQE_BYTES;
      const userData = this.cqes.getUint32(o, true) + this.cqes.getUint32(o + 4, true) * 2 ** 32;
      each(userData, this.cqes.getInt32(o + 8, true), this.cqes.getUint32(o + 12, true));
      head = (head + 1) >>> 0;
      n++;
    }
    Atomics.store(this.cqHead, 0, head);
    return n;
  }

  /**
   * Cancel every pending request and wait until the kernel has let go of them (and of the files
   * they hold: a poll keeps its socket open, so without this the port would stay bound for a while
   * after close). Returns how many were cancelled, or -errno.
   */
  cancelAll(): number {
    if (this.closed) return -9;
    this.queued = 0;
    if (!this.prepare(OP_ASYNC_CANCEL, 0, -1, 0, 0, CANCEL_ANY, 0)) return -16;
    const r = this.enter(1, ENTER_GETEVENTS);
    if (r < 0) return r;
    let cancelled = 0;
    this.reap((u, res) => {
      if (u === 0 && res > 0) cancelled = res;
    });
    return cancelled;
  }

  /** Close the ring (cancelling what is pending) and unmap it. */
  close(): void {
    if (this.closed) return;
    this.cancelAll();
    this.closed = true;
    const s = libcSymbols();
    closeFd(this.fd);
    // No view may be used after the unmap: replace them with empty ones.
    const none = new ArrayBuffer(0);
    this.sqTail = this.sqArray = this.cqHead = this.cqTail = new Uint32Array(none);
    this.sqes = this.cqes = new DataView(none);
    s.munmap(this.ring as Pointer, this.ringBytes);
    s.munmap(this.sqeMem as Pointer, this.sqeBytes);
  }
}

/** A non-negative integer below 2^53 (a pointer, user_data) as a little-endian u64. */
function setU64(v: DataView, at: number, x: number): void {
  v.setUint32(at, x >>> 0, true);
  v.setUint32(at + 4, Math.floor(x / 2 ** 32), true);
}
