/**
 * The hot loop: while traffic flows, the main thread waits for its sockets and taps in poll()
 * itself, instead of going back to Bun's event loop to be woken by a doorbell.
 *
 * Why: measured on this machine (a PVM guest, README "RTT, seventh round"), a one-datagram UDP
 * echo after 10 ms of quiet answers in ≈25-33 µs from a C server or from JavaScript blocking in
 * poll(), and in ≈50-90 µs through Bun's event loop (doorbell or Bun's own callbacks): the cold
 * wake-up path of the event loop costs more than the work. A ping between two `--tap` services
 * crosses three such wake-ups.
 *
 * How: the readiness doorbells (readiness-doorbell.ts) are this loop's sources. When one rings,
 * its fd is drained as before, then instead of arming the doorbell again (from setImmediate, so
 * that what the event loop queued earlier in its turn runs first) the loop polls every
 * source and Bun's own epoll descriptor together, draining sources as they turn readable, with
 * the turn's deferred work and microtasks run after each batch (what the event loop would do).
 * It returns to the event loop (and comes back through setImmediate) when
 *   - Bun's epoll reports an event (a socket, a signal, a worker, an API request: Bun handles it),
 *   - SLICE_MS pass, with traffic or without: Bun's other timers (a setTimeout not made through
 *     util/clock.ts) are due at most that late. (Counting only quiet time, traffic with gaps
 *     shorter than a slice kept Bun's event loop from ever running its timers: a test's waitFor
 *     hung for as long as another process sent a datagram every millisecond.)
 *   - poll() is interrupted (a signal).
 * It hands back to the doorbells (arms them and leaves) when
 *   - IDLE_MS pass without traffic: an idle service sleeps in Bun's event loop as before, with no
 *     periodic wake-ups;
 *   - Bun has an event and the sources have been quiet for EVENT_QUIET_MS;
 *   - a timer of ours is due (util/clock.ts's systemTimers tell the loop their deadlines): the
 *     stack's retransmissions and pacing run on time, and the next ring brings the loop back.
 *
 * Bun's epoll descriptor is found once, as the eventpoll fd whose /proc fdinfo lists a doorbell's
 * socket. When none does (another runtime, another kernel), the loop stays off and the doorbells
 * work as before.
 *
 * The process's loop starts off; the service turns it on (ZT_HOT_LOOP: auto = on, off), for taps
 * and network containers alike: the containers' program sockets are a source too (one epoll set
 * behind one doorbell, ffi/epoll-set.ts), so their events no longer send the loop back to Bun.
 * With that set open the loop waits in it rather than in poll(): its other sources and Bun's
 * descriptor join the set while the loop is in charge (and leave before the doorbells are armed
 * again), so a program socket's event costs one epoll_wait, where poll() then epoll_wait() were
 * two system calls, each dear on this machine (a PVM guest with page-table isolation and no PCID:
 * every kernel entry flushes the user TLB).
 *
 * The spin (setSpin, the service's ZT_HOT_SPIN_US): after traffic the loop polls without sleeping
 * for a while, yielding the CPU between polls. An answer that comes within it costs no sleep and
 * no wake-up (each tens of µs here): TCP request/response over the taps went from ≈1.0× to ≈0.45×
 * the real pair's (README "eighth round"). The spin adapts, so sparse traffic does not pay it: a
 * spin that finds nothing halves the next one, down to none; traffic that comes within the longest
 * spin of the last doubles it again.
 *
 * The receive coalescing (setCoalesce, the service's ZT_RX_COALESCE_US): after a wake-up whose
 * sources read a bulk batch (BULK_BYTES or more in one drain, told by noteBatch), the loop
 * sleeps that long before it waits again, as a NIC's interrupt moderation does, so that the next
 * wake-up finds a fuller batch: fewer wake-ups, epoll_waits, recvmmsgs, ACKs and writes per byte.
 * A network container receiving 256 MiB from a real zerotier-one node spent ≈5.4 CPU s/GB in
 * ≈17 datagrams per wake-up, and ≈3.0 with 150 µs of coalescing (README "Twelfth round"). Traffic
 * that comes a few datagrams at a time (request/response, ping, an interactive session) never
 * reaches the bulk batch and is not delayed; next to a bulk flow it may wait up to that long.
 */
import { drainMicrotasks } from "bun:jsc";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { consola } from "consola";
import { type HeapItem, TimerHeap } from "../src/util/timer-heap.ts";
import { EINTR, POLLERR, POLLHUP, POLLIN, sleepMicros, unixPollMany, yieldCpu } from "./unix.ts";

/** Longest wait in poll() before Bun's event loop gets a turn (its timers run at most this late). */
export const SLICE_MS = 5;
/** Quiet time after which the loop leaves for good and the doorbells take over again. */
export const IDLE_MS = 1000;
/** Quiet time of the sources after which an event of Bun's ends the loop's turn (hand-back). */
export const EVENT_QUIET_MS = 2;
/** The service's longest spin after traffic, µs (ZT_HOT_SPIN_US). */
export const DEFAULT_SPIN_US = 100;
/** The service's receive coalescing after a bulk batch, µs (ZT_RX_COALESCE_US). */
export const DEFAULT_COALESCE_US = 150;
/**
 * Bytes one drain must read for its wake-up to count as bulk (noteBatch): a dozen full datagrams,
 * but not a batch of ACKs (≈100 B each), whose sender sleeping only delays the data it clocks out
 * (a container sending to a real node: 5.3 CPU s/GB without, 6.9 with a batch counted in datagrams).
 */
export const BULK_BYTES = 16 * 1024;
/** The shortest spin worth its poll() calls (ms); a spin halved below this stops. */
const SPIN_MIN_MS = 0.01;

/** A doorbell, seen from the loop. */
export interface HotSource {
  readonly fd: number;
  /** Whether its kernel poll is armed (it will ring by itself). */
  readonly armed: boolean;
  /** Read what is queued. */
  drain(): void;
  /** Arm its kernel poll. */
  arm(): void;
}

/**
 * An epoll set the loop can wait on instead of poll() (ffi/epoll-set.ts, the program sockets'):
 * while the loop is in charge its sources and Bun's epoll descriptor join the set (level-triggered),
 * so one epoll_wait sleeps, reports those, and tells the set's own members their events.
 */
export interface HotWaitSet {
  readonly fd: number;
  /** Register `fd` for `events`; the slot, or -errno. */
  add(fd: number, events: number, member: { onEpollEvents(events: number): void }): number;
  remove(slot: number, fd: number): void;
  /** Wait up to timeoutMs, telling members; the events told, or -errno. */
  wait(timeoutMs: number): number;
}

export interface HotLoopStats {
  /** Times the loop took over from a doorbell ring. */
  entries: number;
  /** Returns to the event loop: for Bun's events, after a quiet slice, after a signal. */
  loopEvents: number;
  slices: number;
  interrupts: number;
  /** Times it went idle (doorbells armed again). */
  idles: number;
  /** Times it handed back to the doorbells because a timer of ours was due. */
  timers: number;
  /** poll() calls and the ones that found a source readable. */
  polls: number;
  wakeups: number;
  /** Polls without sleeping while spinning (setSpin), the ones that found traffic, and spins that ended with nothing read. */
  spins: number;
  spinHits: number;
  spinsWasted: number;
  /** Waits in the epoll set (one system call each) rather than poll() then epoll_wait(). */
  setWaits: number;
  /** Sleeps before a wait because the last wake-up read a bulk batch (setCoalesce). */
  coalesces: number;
}

const READY = POLLIN | POLLERR | POLLHUP;

/** The eventpoll descriptor of this process that watches `fd`, or -1. */
export function epollWatching(fd: number): number {
  let names: string[];
  try {
    names = readdirSync("/proc/self/fd");
  } catch {
    return -1;
  }
  const line = new RegExp(`^tfd:\\s+${fd}\\s`, "m");
  for (const name of names) {
    try {
      if (readlinkSync(`/proc/self/fd/${name}`) !== "anon_inode:[eventpoll]") continue;
      if (line.test(readFileSync(`/proc/self/fdinfo/${name}`, "utf8"))) return Number(name);
    } catch {
      // closed meanwhile
    }
  }
  return -1;
}

export class HotLoop {
  readonly stats: HotLoopStats = { entries: 0, loopEvents: 0, slices: 0, interrupts: 0, idles: 0, timers: 0, polls: 0, wakeups: 0, spins: 0, spinHits: 0, spinsWasted: 0, setWaits: 0, coalesces: 0 };
  private sources: HotSource[] = [];
  /** pollfd array: the sources, then Bun's epoll descriptor. */
  private fds = new Int32Array(2);
  private loopFd = -1;
  private searched = false;
  /** Bumped when the pollfd array changes (a source added or closed, maybe from inside a drain). */
  private layoutChanges = 0;
  /** A descriptor Bun's event loop watches (the first doorbell's socket). */
  private bunFd = -1;
  private running = false;
  /** In charge: doorbells left unarmed, the loop polls (or will again after this event-loop turn). */
  private active = false;
  private lastTraffic = 0;
  /** A setImmediate back into the loop is queued. */
  private scheduled = false;
  /** Deadlines of our pending timers (util/clock.ts systemTimers). */
  private readonly deadlines = new TimerHeap<HeapItem>();
  private deferred: (() => void)[] = [];
  private deferredSpare: (() => void)[] = [];
  private readonly reenterBound = (): void => this.reenter();
  /** The longest spin after traffic (setSpin); 0: never spin. */
  private spinMaxMs = 0;
  /** The spin now: grows while answers come within spinMaxMs of traffic, shrinks when spins find nothing. */
  private spinMs = 0;
  /** Sleep before the next wait after a bulk batch, µs (setCoalesce); 0: never. */
  private coalesceUs = 0;
  /** A drain of this wake-up read a bulk batch (noteBatch). */
  private bulk = false;
  /** The set to wait on (useWaitSet), and whether our sources and Bun's descriptor are in it now. */
  private waitSet: HotWaitSet | null = null;
  private joined = false;
  /** Slot and fd of each descriptor joined to the wait set. */
  private joinedSlots: number[] = [];
  private joinedFds: number[] = [];
  /** Set by Bun's descriptor's member during a wait: Bun has an event. */
  private sawLoopEvent = false;
  private readonly loopMember = { onEpollEvents: (): void => void (this.sawLoopEvent = true) };

  constructor(
    private enabled: boolean,
    private readonly sliceMs = SLICE_MS,
    private readonly idleMs = IDLE_MS,
  ) {}

  /** Turn the loop on or off; off, it hands back to the doorbells at its next return to the event loop. */
  setEnabled(on: boolean): void {
    this.enabled = on;
    this.findLoopFd();
  }

  /**
   * Busy-poll for `us` microseconds after traffic before sleeping in poll() (yielding the CPU to
   * anything else runnable between polls): an answer that comes within it is read without a sleep
   * and a wake-up, which cost tens of µs each on this machine.
   */
  setSpin(us: number): void {
    if (!Number.isFinite(us) || us < 0 || us > 10_000) throw new RangeError("hot loop spin must be 0..10000 µs");
    this.spinMaxMs = us / 1000;
    this.spinMs = this.spinMaxMs;
  }

  /**
   * Sleep `us` microseconds before waiting again after a wake-up that read a bulk batch (see the
   * file's comment); 0: never.
   */
  setCoalesce(us: number): void {
    if (!Number.isInteger(us) || us < 0 || us > 10_000) throw new RangeError("receive coalescing must be a whole number 0..10000 µs");
    this.coalesceUs = us;
  }

  /** The receive coalescing, µs. */
  get coalesceWindowUs(): number {
    return this.coalesceUs;
  }

  /** A source's drain read `bytes` at once (datagrams or frames; bulk from BULK_BYTES). */
  noteBatch(bytes: number): void {
    if (bytes >= BULK_BYTES) this.bulk = true;
  }

  /**
   * Wait on `set` while in charge instead of poll(): the sources (but the set's own doorbell) and
   * Bun's descriptor join it when the loop takes over and leave it when the loop hands back, so
   * that the set's doorbell, armed then, rings for its own members only.
   */
  useWaitSet(set: HotWaitSet): void {
    this.leaveWaitSet();
    this.waitSet = set;
  }

  /** The set is closing: back to poll(). */
  dropWaitSet(set: HotWaitSet): void {
    if (this.waitSet !== set) return;
    this.leaveWaitSet();
    this.waitSet = null;
  }

  private joinWaitSet(): void {
    const set = this.waitSet;
    if (set === null || this.joined || this.loopFd < 0) return;
    this.joined = true;
    const join = (fd: number, member: { onEpollEvents(events: number): void }): boolean => {
      const slot = set.add(fd, POLLIN, member);
      if (slot < 0) return false;
      this.joinedSlots.push(slot);
      this.joinedFds.push(fd);
      return true;
    };
    let ok = join(this.loopFd, this.loopMember);
    for (const src of this.sources) {
      if (!ok) break;
      if (src.fd === set.fd) continue; // the set's own doorbell: its members are told by the wait
      ok = join(src.fd, { onEpollEvents: () => src.drain() });
    }
    if (!ok) {
      consola.warn("hot loop: could not join the epoll set; polling instead");
      this.leaveWaitSet();
      this.waitSet = null;
    }
  }

  private leaveWaitSet(): void {
    if (!this.joined) return;
    this.joined = false;
    const set = this.waitSet;
    for (let i = 0; i < this.joinedSlots.length; i++) set?.remove(this.joinedSlots[i]!, this.joinedFds[i]!);
    this.joinedSlots.length = 0;
    this.joinedFds.length = 0;
  }

  /** The spin now, µs (0..the longest set): it adapts to the gaps between traffic. */
  get spinWindowUs(): number {
    return this.spinMs * 1000;
  }

  /** Whether the loop is in charge now (doorbells left unarmed; it polls, or will after this turn). */
  get inCharge(): boolean {
    return this.active;
  }

  /** Whether the loop can take over (Bun's epoll descriptor found, not turned off). */
  get usable(): boolean {
    return this.enabled && this.loopFd >= 0;
  }

  /**
   * Add a source. `bunFd` is a descriptor that Bun's event loop watches (the doorbell's socket):
   * the first one tells which epoll descriptor is Bun's.
   */
  add(src: HotSource, bunFd: number): void {
    this.sources.push(src);
    if (this.bunFd < 0) this.bunFd = bunFd;
    this.findLoopFd();
    this.layout();
  }

  /** Once, when on and a descriptor Bun watches is known: which epoll descriptor is Bun's. */
  private findLoopFd(): void {
    if (this.searched || !this.enabled || this.bunFd < 0) return;
    this.searched = true;
    this.loopFd = epollWatching(this.bunFd);
    if (this.loopFd < 0) consola.warn("hot loop: Bun's epoll descriptor not found; the doorbells alone wake the datapath");
    this.layout();
  }

  remove(src: HotSource): void {
    const i = this.sources.indexOf(src);
    if (i < 0) return;
    this.sources.splice(i, 1);
    this.layout();
  }

  private layout(): void {
    this.layoutChanges++;
    // the joined descriptors follow the sources (the next poll joins again)
    this.leaveWaitSet();
    const n = this.sources.length;
    if (this.fds.length < 2 * (n + 1)) this.fds = new Int32Array(2 * (n + 1));
    for (let i = 0; i < n; i++) {
      this.fds[2 * i] = this.sources[i]!.fd;
      this.fds[2 * i + 1] = POLLIN;
    }
    this.fds[2 * n] = this.loopFd;
    this.fds[2 * n + 1] = POLLIN;
  }

  /** A doorbell rang (from Bun's event loop): drain it, then poll while traffic flows. */
  rang(src: HotSource): void {
    src.drain();
    if (!this.usable || this.running) {
      src.arm();
      return;
    }
    this.lastTraffic = performance.now();
    if (!this.active) this.stats.entries++;
    this.active = true;
    // Not from inside this callback: work the event loop queued earlier in this turn (its
    // immediates) would wait behind our poll() for a whole slice. The loop starts in line.
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.reenterBound);
  }

  /**
   * A timer of ours is due at `at` (performance.now() ms): the loop hands back to the event loop
   * by then. Pass the result to timerDone when the timer fires or is cancelled.
   */
  timerAt(at: number): HeapItem {
    const d: HeapItem = { deadline: at, heapIndex: -1 };
    this.deadlines.update(d);
    return d;
  }

  /** The timer of `d` fired or was cancelled (again is harmless). */
  timerDone(d: HeapItem): void {
    this.deadlines.remove(d);
  }

  private earliestDeadline(): number {
    return this.deadlines.peek()?.deadline ?? Infinity;
  }

  /** Run `fn` at the end of this turn: the loop's batch when it polls, else the event loop's (setImmediate). */
  defer(fn: () => void): void {
    if (this.running) this.deferred.push(fn);
    else setImmediate(fn);
  }

  private reenter(): void {
    this.scheduled = false;
    if (!this.active || this.running) return;
    if (this.usable) this.run();
    else this.handBack("idle");
  }

  private run(): void {
    this.running = true;
    let leave: "slice" | "idle" | "timer" | "event" = "idle";
    try {
      leave = this.poll();
    } catch (e) {
      consola.error(`hot loop: ${(e as Error).stack ?? e}`);
    } finally {
      this.running = false;
    }
    this.turnEnd();
    // Bun's event, our sources quiet: the work is Bun's (programs talking inside a container, an
    // API call); hand back rather than pay a poll() and a re-entry for each of its events.
    if (leave === "event" && performance.now() - this.lastTraffic >= EVENT_QUIET_MS) leave = "idle";
    if (leave === "idle" || leave === "timer") this.handBack(leave);
    else this.schedule();
  }

  private poll(): "slice" | "idle" | "timer" | "event" {
    const st = this.stats;
    const sliceEnd = performance.now() + this.sliceMs;
    for (;;) {
      this.turnEnd();
      const fds = this.fds;
      const n = this.sources.length;
      const layout = this.layoutChanges;
      if (n === 0) return "idle"; // every source closed: nothing to poll for
      let now = performance.now();
      if (now >= sliceEnd) {
        // the slice is over, traffic or not: Bun's event loop gets its turn (its timers)
        st.slices++;
        return "slice";
      }
      let timeout = this.sliceMs;
      const deadline = this.earliestDeadline();
      if (deadline !== Infinity) {
        const left = Math.ceil(deadline - now);
        if (left <= 0) return "timer";
        if (left < timeout) timeout = left;
      }
      if (this.bulk) {
        // bulk traffic: let the next batch fill up before waking for it
        this.bulk = false;
        if (this.coalesceUs > 0) {
          st.coalesces++;
          sleepMicros(this.coalesceUs);
          now = performance.now();
        }
      }
      const spinning = this.spinMs > 0 && now - this.lastTraffic < this.spinMs;
      if (spinning) timeout = 0;
      st.polls++;
      if (this.waitSet !== null && !this.joined) this.joinWaitSet();
      if (this.joined) {
        const w = this.waitInSet(timeout, spinning, layout);
        if (w !== null) return w;
        continue;
      }
      const r = unixPollMany(fds, n + 1, timeout);
      if (r < 0) {
        if (r !== -EINTR) throw new Error(`poll: errno ${-r}`);
        st.interrupts++;
        return "event";
      }
      if (r === 0) {
        const why = this.quiet(spinning);
        if (why === null) continue;
        return why;
      }
      let traffic = false;
      for (let i = 0; i < n && this.layoutChanges === layout; i++) {
        if (((fds[2 * i + 1]! >>> 16) & READY) !== 0) {
          traffic = true;
          this.sources[i]!.drain();
        }
      }
      if (traffic) this.onTraffic(spinning);
      // a source closed (or opened) by a drain: these revents no longer match; poll again
      if (this.layoutChanges !== layout) continue;
      if (((fds[2 * n + 1]! >>> 16) & READY) !== 0) {
        st.loopEvents++;
        return "event";
      }
    }
  }

  /**
   * One wait in the epoll set (the sources drained and the set's members told inside it): a reason
   * to leave the loop, or null to wait again. The same decisions as the poll() path.
   */
  private waitInSet(timeout: number, spinning: boolean, layout: number): "slice" | "idle" | "timer" | "event" | null {
    const st = this.stats;
    st.setWaits++;
    this.sawLoopEvent = false;
    const r = this.waitSet!.wait(timeout);
    if (r < 0) {
      if (r !== -EINTR) throw new Error(`epoll_wait: errno ${-r}`);
      st.interrupts++;
      return "event";
    }
    if (r === 0) return this.quiet(spinning);
    // any event but Bun's descriptor's is traffic: a source or a program socket
    if (r > (this.sawLoopEvent ? 1 : 0)) this.onTraffic(spinning);
    if (this.layoutChanges !== layout) return null;
    if (this.sawLoopEvent) {
      st.loopEvents++;
      return "event";
    }
    return null;
  }

  /** Nothing was ready: spin on, or a reason to leave (null: poll again). */
  private quiet(spinning: boolean): "slice" | "idle" | "timer" | null {
    const st = this.stats;
    if (spinning) {
      st.spins++;
      yieldCpu();
      if (performance.now() - this.lastTraffic >= this.spinMs) {
        // the spin found nothing: halve it (below SPIN_MIN_MS it stops, until gaps shrink again)
        st.spinsWasted++;
        this.spinMs = this.spinMs / 2 < SPIN_MIN_MS ? 0 : this.spinMs / 2;
      }
      return null;
    }
    const now = performance.now();
    if (now >= this.earliestDeadline()) return "timer";
    if (now - this.lastTraffic >= this.idleMs) return "idle";
    st.slices++;
    return "slice";
  }

  private onTraffic(spinning: boolean): void {
    const st = this.stats;
    st.wakeups++;
    if (spinning) st.spinHits++;
    const now = performance.now();
    // traffic within the longest spin of the last: a spin catches such answers; grow it
    if (this.spinMaxMs > 0 && now - this.lastTraffic < this.spinMaxMs && this.spinMs < this.spinMaxMs) {
      this.spinMs = Math.min(this.spinMaxMs, Math.max(2 * this.spinMs, SPIN_MIN_MS));
    }
    this.lastTraffic = now;
  }

  /** What the event loop would run after a callback: deferred work and microtasks, until both are empty. */
  private turnEnd(): void {
    for (let round = 0; round < 64; round++) {
      drainMicrotasks();
      if (this.deferred.length === 0) return;
      const work = this.deferred;
      this.deferred = this.deferredSpare;
      this.deferredSpare = work;
      for (let i = 0; i < work.length; i++) {
        try {
          work[i]!();
        } catch (e) {
          consola.error(`hot loop: deferred work failed: ${(e as Error).stack ?? e}`);
        }
      }
      work.length = 0;
    }
    // still more after 64 rounds: the rest goes to the event loop
    const rest = this.deferred;
    this.deferred = [];
    for (const fn of rest) setImmediate(fn);
  }

  /** Quiet, or a timer due: the doorbells take over again (the event loop runs its timers meanwhile). */
  private handBack(why: "idle" | "timer"): void {
    this.active = false;
    this.bulk = false;
    // before the set's doorbell is armed: it must ring for its own members only
    this.leaveWaitSet();
    if (why === "idle") this.stats.idles++;
    else this.stats.timers++;
    for (const s of this.sources) if (!s.armed) s.arm();
  }
}

/** ZT_HOT_LOOP: auto (the service's choice: on with `--tap`), on or off. */
export type HotLoopChoice = "auto" | "on" | "off";

export function parseHotLoopChoice(text: string): HotLoopChoice | null {
  return text === "auto" || text === "on" || text === "off" ? text : null;
}

/** ZT_RX_COALESCE_US: the receive coalescing in µs, a whole number 0..10000 (0: off). */
export const parseCoalesceMicros: (text: string) => number | null = parseSpinMicros;

/** ZT_HOT_SPIN_US: the longest spin in µs, a whole number 0..10000 (0: never spin). */
export function parseSpinMicros(text: string): number | null {
  if (!/^\d{1,5}$/.test(text)) return null;
  const us = Number(text);
  return us <= 10_000 ? us : null;
}

/** The main thread's loop (every doorbell of the process is a source); off until turned on. */
export const hotLoop = new HotLoop(false);

/** Run `fn` at the end of this turn of work (see HotLoop.defer). */
export function deferToTurnEnd(fn: () => void): void {
  hotLoop.defer(fn);
}
