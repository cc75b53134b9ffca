/**
 * An epoll set of our own, for the many fds Bun does not need to read for us (the network
 * containers' program sockets): one readiness doorbell on the epoll descriptor wakes the event
 * loop, and one epoll_wait into a preallocated array tells which fds are ready. While the hot loop
 * is in charge (ffi/hot-loop.ts) it waits on this set itself, its other sources and Bun's epoll
 * descriptor joined to it, so one epoll_wait both sleeps and tells. Nothing is allocated per event.
 *
 * Members are registered edge-triggered by their owners (EPOLLET): an owner that stops reading
 * (its peer is slow) is not reported again and again, and picks up by itself when it resumes.
 *
 * struct epoll_event is packed on x86-64 (12 bytes: u32 events, u64 data) and naturally aligned
 * elsewhere (16 bytes, data at 8). We store a slot number in data's low 32 bits; slots are reused
 * through a free list, and an event for a slot freed (and maybe taken again) during the same
 * batch reaches at most a spurious wake-up, which owners tolerate (their reads see EAGAIN).
 */
import { ptr } from "bun:ffi";
import { arch } from "node:process";
import { consola } from "consola";
import { errno, libcSymbols as c, strerror } from "./libc.ts";
import { type HotLoop, hotLoop } from "./hot-loop.ts";
import { ReadinessDoorbell } from "./readiness-doorbell.ts";
import { EINTR, unixClose } from "./unix.ts";

export const EPOLLIN = 0x001;
export const EPOLLOUT = 0x004;
export const EPOLLERR = 0x008;
export const EPOLLHUP = 0x010;
export const EPOLLRDHUP = 0x2000;
export const EPOLLET = 0x80000000;
const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_DEL = 2;
const EPOLL_CTL_MOD = 3;
const EPOLL_CLOEXEC = 0o2000000;

const EVENT_SIZE = arch === "x64" ? 12 : 16;
const DATA_OFF = arch === "x64" ? 4 : 8;

/** A member of the set: told the ready events of its fd (EPOLLIN, EPOLLOUT, EPOLLHUP, …). */
export interface EpollMember {
  onEpollEvents(events: number): void;
}

export interface EpollSetStats {
  /** epoll_wait calls and the events they returned. */
  waits: number;
  events: number;
  /** Members now registered. */
  members: number;
}

export class EpollSet {
  readonly stats: EpollSetStats = { waits: 0, events: 0, members: 0 };
  private readonly slots: (EpollMember | null)[] = [];
  private readonly free: number[] = [];
  private readonly events: Uint8Array;
  private readonly eventView: DataView;
  /** One struct epoll_event for epoll_ctl. */
  private readonly ctlEvent = new Uint8Array(16);
  private readonly ctlView = new DataView(this.ctlEvent.buffer);
  private doorbell: ReadinessDoorbell | null = null;
  private closed = false;

  private constructor(
    readonly fd: number,
    private readonly maxEvents: number,
    private readonly loop: HotLoop | null,
  ) {
    this.events = new Uint8Array(maxEvents * EVENT_SIZE);
    this.eventView = new DataView(this.events.buffer);
  }

  /** A new set with its doorbell armed, or the reason it cannot be had here (no io_uring, say). */
  static async open(maxEvents = 256, loop: HotLoop | null = hotLoop): Promise<EpollSet | string> {
    if (!Number.isInteger(maxEvents) || maxEvents < 1 || maxEvents > 65536) throw new RangeError("EpollSet: maxEvents must be 1..65536");
    const fd = c().epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) return `epoll_create1: ${strerror(errno())}`;
    const set = new EpollSet(fd, maxEvents, loop);
    const bell = await ReadinessDoorbell.open(
      fd,
      () => set.dispatch(),
      () => consola.error("epoll set: its doorbell was lost; program sockets are no longer served"),
      loop,
    );
    if (typeof bell === "string") {
      unixClose(fd);
      return bell;
    }
    set.doorbell = bell;
    loop?.useWaitSet(set);
    return set;
  }

  /** Times its doorbell rang (the event loop woke for the set's members). */
  get rings(): number {
    return this.doorbell?.stats.rings ?? 0;
  }

  /** Register `fd` for `events` (EPOLLET and friends); returns the slot, or -errno. */
  add(fd: number, events: number, member: EpollMember): number {
    if (this.closed) return -9; // EBADF
    const slot = this.free.length > 0 ? this.free.pop()! : this.slots.length;
    this.slots[slot] = member;
    const r = this.ctl(EPOLL_CTL_ADD, fd, events, slot);
    if (r < 0) {
      this.slots[slot] = null;
      this.free.push(slot);
      return r;
    }
    this.stats.members++;
    return slot;
  }

  /** Change the events of a registered fd; 0 or -errno. */
  modify(slot: number, fd: number, events: number): number {
    if (this.closed || this.slots[slot] == null) return -9;
    return this.ctl(EPOLL_CTL_MOD, fd, events, slot);
  }

  /** Unregister (before the fd is closed: a dup elsewhere would keep it in the set otherwise). */
  remove(slot: number, fd: number): void {
    if (this.slots[slot] == null) return;
    if (!this.closed) this.ctl(EPOLL_CTL_DEL, fd, 0, slot);
    this.slots[slot] = null;
    this.free.push(slot);
    this.stats.members--;
  }

  private ctl(op: number, fd: number, events: number, slot: number): number {
    const v = this.ctlView;
    v.setUint32(0, events >>> 0, true);
    v.setUint32(DATA_OFF, slot, true);
    v.setUint32(DATA_OFF + 4, 0, true);
    return c().epoll_ctl(this.fd, op, fd, ptr(this.ctlEvent)) === 0 ? 0 : -errno();
  }

  /** Tell every ready member (the doorbell's drain; public for tests). */
  dispatch(): void {
    for (;;) {
      if (this.closed) return;
      this.stats.waits++;
      const n = c().epoll_wait(this.fd, ptr(this.events), this.maxEvents, 0);
      if (n < 0) {
        if (errno() === EINTR) continue;
        consola.error(`epoll set: epoll_wait: ${strerror(errno())}`);
        return;
      }
      this.tell(n);
      if (n < this.maxEvents) return; // fewer than asked: nothing more was ready
    }
  }

  /**
   * Wait up to `timeoutMs` for events and tell the members (the hot loop's wait, when its sources
   * and Bun's descriptor have joined the set: one system call where poll() and then epoll_wait()
   * were two). Returns the events told, or -errno (-EINTR: a signal).
   */
  wait(timeoutMs: number): number {
    if (this.closed) return -9; // EBADF
    this.stats.waits++;
    const n = c().epoll_wait(this.fd, ptr(this.events), this.maxEvents, timeoutMs);
    if (n < 0) return -errno();
    this.tell(n);
    if (n === this.maxEvents) this.dispatch(); // a full batch: more may be ready
    return n;
  }

  private tell(n: number): void {
    const v = this.eventView;
    this.stats.events += n;
    for (let i = 0; i < n; i++) {
      const at = i * EVENT_SIZE;
      const m = this.slots[v.getUint32(at + DATA_OFF, true)];
      if (m == null) continue;
      try {
        m.onEpollEvents(v.getUint32(at, true));
      } catch (e) {
        consola.error(`epoll set: a member failed: ${(e as Error).stack ?? e}`);
      }
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.loop?.dropWaitSet(this);
    this.doorbell?.close();
    this.doorbell = null;
    unixClose(this.fd);
  }
}
