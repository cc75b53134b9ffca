/**
 * Linux tap devices through bun:ffi: open /dev/net/tun, TUNSETIFF with IFF_TAP|IFF_NO_PI, then
 * frames in and out with their boundaries intact.
 *
 * Reading: one read() on a tap returns exactly one frame, but Bun offers no event-driven reader
 * that keeps boundaries (Bun.file(fd).stream() concatenates several reads into one chunk and can
 * cut a frame that does not fit its remaining buffer). Two ways around it (TapOptions.reader):
 *   "doorbell" (where io_uring is allowed): the io_uring doorbell (readiness-doorbell.ts) wakes
 *   the main thread when the tap has frames, which reads them with read() into one buffer and
 *   hands each to the receiver in place. One thread, one wake-up per batch.
 *   "thread": a Worker blocks in poll()/read() and reads frames straight into a
 *   SharedArrayBuffer ring of fixed slots; the main thread sleeps on Atomics.waitAsync and drains
 *   the whole ring per wake-up, handing each frame to the receiver in place. Two more thread
 *   hand-offs per batch, but no io_uring needed.
 * Writing is a direct write() from the caller's buffer.
 *
 * The device is opened with IFF_VNET_HDR: each frame is preceded by a struct virtio_net_hdr both
 * ways. No offloads are enabled, so the kernel's headers say nothing (the reader reads them into
 * the slot's headroom and drops them); ours may describe a GSO frame (src/port/tap-gro.ts).
 */
import { dlopen, FFIType, ptr, read } from "bun:ffi";
import { consola } from "consola";
import { FRAME_HEADROOM, type FrameReceiver, type FrameSink } from "../src/stack/link.ts";
import { copyBytes } from "./copy-bytes.ts";
import { ReadinessDoorbell } from "./readiness-doorbell.ts";
import { RING_HEAD, RING_STOP, RING_TAIL, RingConsumer, ringSlotCount, TapRing, type TapWorkerInit } from "./tap-ring.ts";

const O_RDWR = 2;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
const TUNSETIFF = 0x400454ca;
const TUNSETOFFLOAD = 0x400454d0;
const TUN_F_CSUM = 0x01;
const TUN_F_TSO4 = 0x02;
const TUN_F_TSO6 = 0x04;
/** A read can return a whole TSO train when offloads are on: an IP packet of up to 64 KB (IPv6: plus its 40-byte header), VLAN-tagged. */
const TSO_MAX_FRAME = 18 + 40 + 65535;
const IFF_TAP = 0x0002;
const IFF_NO_PI = 0x1000;
/** Frames carry a struct virtio_net_hdr first (both ways): lets us hand the kernel GSO frames. */
const IFF_VNET_HDR = 0x4000;
/** Bytes of struct virtio_net_hdr (no num_buffers: TUNSETVNETHDRSZ left at its default). */
export const VNET_HDR_LEN = 10;
/** virtio_net_hdr flags and gso_type values (linux/virtio_net.h) that the offloads use. */
export const VNET_F_NEEDS_CSUM = 1;
export const VNET_GSO_NONE = 0;
export const VNET_GSO_TCPV4 = 1;
export const VNET_GSO_TCPV6 = 4;

/** virtio_net_hdr's u16 fields are little-endian (the legacy header is native order; we run on LE). */
export function readVnet16(b: Uint8Array, off: number): number {
  return b[off]! | (b[off + 1]! << 8);
}

export function writeVnet16(b: Uint8Array, off: number, v: number): void {
  b[off] = v & 0xff;
  b[off + 1] = v >>> 8;
}

const symbols = {
  open: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  // the third argument is a pointer for TUNSETIFF and a plain integer for TUNSETOFFLOAD
  ioctl: { args: [FFIType.i32, FFIType.u64, FFIType.u64], returns: FFIType.i32 },
  // i64_fast: a plain number (i64 would make a BigInt per frame)
  write: { args: [FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i64_fast },
  read: { args: [FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i64_fast },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
  __errno_location: { args: [], returns: FFIType.ptr },
  strerror: { args: [FFIType.i32], returns: FFIType.cstring },
} as const;

type Libc = ReturnType<typeof dlopen<typeof symbols>>["symbols"];
let libc: Libc | null = null;
function c(): Libc {
  if (libc === null) libc = dlopen("libc.so.6", symbols).symbols;
  return libc;
}
function errno(): number {
  const p = c().__errno_location();
  return p === null ? 0 : read.i32(p, 0);
}

export interface TapStats {
  rxFrames: number;
  txFrames: number;
  txErrors: number;
  /** Wake-ups of the main thread (rxFrames / wakeups = frames per batch). */
  wakeups: number;
  /** read() calls of the doorbell reader, the ones that found the device empty included. */
  reads: number;
}

/** How received frames reach the main thread (see the top of this file). */
export type TapReader = "doorbell" | "thread";
export type TapReaderChoice = TapReader | "auto";

export function parseTapReaderChoice(text: string): TapReaderChoice | null {
  return text === "auto" || text === "doorbell" || text === "thread" ? text : null;
}

/** Frames read per doorbell ring before other events get a turn (the bell rings again at once). */
const FRAMES_PER_RING = 256;
/**
 * A wake-up that comes at least this long (ms) after the end of the last drain, which found one
 * frame, reads one frame and stops: see drainDevice. Bulk traffic never leaves such a gap (its
 * kernel ACKs and TSO trains come more often): with 50 µs, a TCP stream through two `--tap` nodes
 * moved half as much (vl2-tap 86 against 173 MB/s, its receiving tap written in twice as many
 * frames), so lone reads are kept to traffic that is sparse by any measure.
 */
const LONE_GAP_MS = 1;
const EINTR = 4;

export interface TapOptions {
  /** Interface name to request (kernel picks tapN when omitted). At most 15 bytes. */
  name?: string;
  /** Largest frame expected (Ethernet header included); longer frames are truncated by the kernel. */
  maxFrame?: number;
  /**
   * Ring slots between the reader worker and the main thread (default: 8 MiB worth, at least 512).
   * Rounded up to a power of two, so that a slot index can never leave the ring.
   */
  slots?: number;
  /** Initial value of the ring's free-running counters (tests start them near 2^31 and 2^32). */
  ringStart?: number;
  /** How to read (see the top of this file); "auto" (the default): the doorbell where io_uring is allowed. */
  reader?: TapReaderChoice;
  /**
   * Let the kernel hand us TCP trains (IPv4 and IPv6) of up to 64 KB and frames with their
   * checksum left to finish (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6). The receiver then gets each
   * frame with the device's
   * virtio_net_hdr in the VNET_HDR_LEN bytes before it and must act on it (src/port/tap-gso.ts).
   */
  offload?: boolean;
  /** Monotonic milliseconds for the lone-read gap (default performance.now; tests make gaps with their own). */
  now?: () => number;
}

export class TapDevice implements FrameSink {
  readonly fd: number;
  readonly name: string;
  readonly stats: TapStats = { rxFrames: 0, txFrames: 0, txErrors: 0, wakeups: 0, reads: 0 };
  /** Called after each drained batch of received frames (e.g. to flush a stack's pending output). */
  onBatchEnd: (() => void) | undefined;

  /** Largest frame (Ethernet header on) the device carries. */
  maxFrame = 0;
  /** Offloads on: frames come with a virtio_net_hdr to act on (TapOptions.offload). */
  offload = false;
  /** A zero virtio_net_hdr and room for one frame, for sendFrame. */
  private plain = new Uint8Array(VNET_HDR_LEN);
  private worker: Worker | undefined;
  private ring: TapRing | undefined;
  private slotSize = 0;
  private slots = 0;
  private ringStart = 0;
  private running = false;
  private closed = false;
  private readerChoice: TapReaderChoice = "auto";
  private readerInUse: TapReader | null = null;
  private doorbell: ReadinessDoorbell | null = null;
  /** The doorbell reader's frame buffer: headroom, then the virtio_net_hdr and the frame. */
  private rxBuf = new Uint8Array(0);
  /** The last drain found a single frame; it ended at lastDrainEnd (this.now()). */
  private lone = false;
  private lastDrainEnd = 0;
  private now: () => number = () => performance.now();

  private constructor(fd: number, name: string) {
    this.fd = fd;
    this.name = name;
  }

  /** Create (or attach to) a tap interface. Needs CAP_NET_ADMIN. */
  static open(opts: TapOptions = {}): TapDevice {
    const path = Buffer.from("/dev/net/tun\0");
    const fd = c().open(ptr(path), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) throw new Error(`open /dev/net/tun: ${String(c().strerror(errno()))}`);
    const ifr = new Uint8Array(40);
    const name = opts.name ?? "";
    if (name.length > 15) throw new Error(`tap name too long: ${name}`);
    ifr.set(Buffer.from(name, "ascii"), 0);
    const flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    ifr[16] = flags & 0xff;
    ifr[17] = flags >> 8;
    if (c().ioctl(fd, TUNSETIFF, ptr(ifr)) < 0) {
      const e = errno();
      c().close(fd);
      throw new Error(`ioctl TUNSETIFF: ${String(c().strerror(e))}`);
    }
    let offload = opts.offload === true;
    if (offload && c().ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) < 0) {
      // Still a working tap, only without the send offload (one frame per read).
      consola.warn(`tap: ioctl TUNSETOFFLOAD: ${String(c().strerror(errno()))}; continuing without send offload`);
      offload = false;
    }
    const end = ifr.indexOf(0);
    const dev = new TapDevice(fd, Buffer.from(ifr.subarray(0, end < 0 ? 16 : Math.min(end, 16))).toString("ascii"));
    dev.maxFrame = opts.maxFrame ?? 9216 + 14;
    dev.offload = offload;
    dev.slotSize = FRAME_HEADROOM + (dev.offload ? Math.max(TSO_MAX_FRAME, dev.maxFrame) : dev.maxFrame);
    dev.plain = new Uint8Array(VNET_HDR_LEN + dev.maxFrame);
    // Enough slots to absorb a burst while the main thread is busy (the kernel drops beyond its
    // txqueuelen); with offloads a slot holds a whole train of frames, so fewer do.
    dev.slots = ringSlotCount(opts.slots ?? (dev.offload ? 256 : Math.max(512, Math.floor((8 << 20) / dev.slotSize))));
    dev.ringStart = opts.ringStart ?? 0;
    dev.readerChoice = opts.reader ?? "auto";
    if (opts.now !== undefined) dev.now = opts.now;
    return dev;
  }

  /** Send one frame: buf[start, end) starting at the Ethernet header (copied behind a zero virtio_net_hdr). */
  sendFrame(buf: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (n > this.plain.length - VNET_HDR_LEN) {
      this.stats.txErrors++;
      return;
    }
    copyBytes(this.plain, VNET_HDR_LEN, buf, start, end);
    this.writeVnet(this.plain, 0, VNET_HDR_LEN + n);
  }

  /** Send one frame that starts with its virtio_net_hdr (VNET_HDR_LEN bytes) at buf[start]. */
  writeVnet(buf: Uint8Array, start: number, end: number): void {
    // After close() the fd number may already belong to another file: never write through it.
    // The range is checked because the write reads native memory from buf.
    if (this.closed || start < 0 || end > buf.length || end - start <= VNET_HDR_LEN) {
      this.stats.txErrors++;
      return;
    }
    const n = c().write(this.fd, ptr(buf, start), end - start);
    if (n < 0) {
      // EAGAIN/ENOBUFS: the kernel's backlog is full; the frame is lost like on a busy wire.
      this.stats.txErrors++;
      return;
    }
    this.stats.txFrames++;
  }

  /**
   * Start delivering received frames to `receiver` (from the event loop, in batches). With the
   * doorbell the reading starts once it is armed (a moment later); frames wait in the device.
   */
  start(receiver: FrameReceiver): void {
    if (this.running) throw new Error("tap already started");
    this.running = true;
    if (this.readerChoice === "thread") {
      this.startThread(receiver);
      return;
    }
    void this.startDoorbell(receiver);
  }

  /** Which reader runs: null until start() has settled on one. */
  get reader(): TapReader | null {
    return this.readerInUse;
  }

  private async startDoorbell(receiver: FrameReceiver): Promise<void> {
    this.rxBuf = new Uint8Array(this.slotSize);
    const bell = await ReadinessDoorbell.open(
      this.fd,
      () => this.drainDevice(receiver),
      () => {
        // its socket closed under it: a new doorbell (or, failing that, the thread)
        this.doorbell = null;
        void this.startDoorbell(receiver);
      },
    );
    if (this.closed) {
      if (typeof bell !== "string") bell.close();
      return;
    }
    if (typeof bell === "string") {
      const msg = `tap ${this.name}: reading with a thread (${bell})`;
      if (this.readerChoice === "doorbell") consola.warn(msg);
      else consola.debug(msg);
      this.rxBuf = new Uint8Array(0);
      this.startThread(receiver);
      return;
    }
    this.doorbell = bell;
    this.readerInUse = "doorbell";
  }

  /**
   * The doorbell rang: read frames until the device is empty (or FRAMES_PER_RING), each handed on
   * in place. Sparse traffic (a ping, a request, an answer) comes a frame per wake-up, and the
   * read that finds the device empty is a system call of its own, paid right after the frame was
   * forwarded, on the way of the answer; every system call here also costs the TLB. So a drain
   * that comes LONE_GAP_MS or more after the end of a one-frame drain reads one frame and stops:
   * the readiness the owner waits on is level-triggered (poll, epoll without EPOLLET, an io_uring
   * poll armed again), so a second frame rings again at once, and that drain, coming right after
   * this one, reads until the device is empty as before (bulk traffic pays one wake-up more at
   * its start, and none after: its frames are queued by the time a drain ends).
   */
  private drainDevice(receiver: FrameReceiver): void {
    if (this.closed) return;
    const buf = this.rxBuf;
    // The frame starts at FRAME_HEADROOM, as in a ring slot; its virtio_net_hdr just before it.
    const at = FRAME_HEADROOM - VNET_HDR_LEN;
    const room = buf.length - at;
    if (at < 0 || room <= VNET_HDR_LEN) return;
    const p = ptr(buf, at);
    const most = this.lone && this.now() - this.lastDrainEnd >= LONE_GAP_MS ? 1 : FRAMES_PER_RING;
    let frames = 0;
    let bytes = 0;
    let reads = 0;
    for (let i = 0; i < FRAMES_PER_RING && !this.closed; i++) {
      reads++;
      const n = Number(c().read(this.fd, p, room)); // a number already (i64_fast)
      if (n > VNET_HDR_LEN) {
        frames++;
        bytes += n;
        try {
          receiver.receiveFrame(buf, FRAME_HEADROOM, FRAME_HEADROOM + n - VNET_HDR_LEN);
        } catch (e) {
          consola.error(`tap ${this.name}: receiver threw:`, e);
        }
        if (frames >= most) break;
        continue;
      }
      if (n > 0) continue; // a header without a frame
      if (n < 0 && errno() === EINTR) continue;
      break; // EAGAIN: empty. Any other error means the device is going away; close() follows.
    }
    this.stats.wakeups++;
    this.stats.rxFrames += frames;
    this.stats.reads += reads;
    this.lone = frames <= 1;
    this.lastDrainEnd = this.now();
    this.doorbell?.noteBatch(bytes);
    this.onBatchEnd?.();
  }

  private startThread(receiver: FrameReceiver): void {
    this.readerInUse = "thread";
    const ring = TapRing.create(this.slots, this.slotSize, FRAME_HEADROOM, this.ringStart);
    this.ring = ring;
    const init: TapWorkerInit = {
      fd: this.fd,
      sab: ring.buffer,
      slots: ring.slots,
      slotSize: ring.slotSize,
      headroom: ring.headroom,
      vnetHeader: VNET_HDR_LEN,
    };
    this.worker = new Worker(readerWorkerSpecifier(import.meta.url));
    this.worker.addEventListener("error", (e) => {
      consola.error(`tap ${this.name}: reader worker failed: ${e.message}`);
    });
    this.worker.postMessage(init);
    // The worker must not keep the process alive on its own; the pending waitAsync does that while running.
    this.worker.unref();
    void this.loop(receiver);
  }

  private async loop(receiver: FrameReceiver): Promise<void> {
    const ring = this.ring!;
    const consumer = new RingConsumer(ring);
    const deliver = (data: Uint8Array, start: number, end: number): void => {
      try {
        receiver.receiveFrame(data, start, end);
      } catch (e) {
        // A receiver bug must not stop the link; it is reported, the frame is lost.
        consola.error(`tap ${this.name}: receiver threw:`, e);
      }
    };
    while (this.running) {
      const sleep = consumer.prepareSleep();
      if (sleep.empty) {
        const w = Atomics.waitAsync(ring.ctl, RING_HEAD, sleep.tail, 1000);
        if (w.async) await w.value;
        consumer.endSleep();
        continue;
      }
      consumer.endSleep();
      if (!this.running) break;
      this.stats.wakeups++;
      this.stats.rxFrames += consumer.drain(deliver);
      this.onBatchEnd?.();
    }
  }

  /** The ring's counters (head, tail): for tests of the wrap-around. */
  ringCounters(): { head: number; tail: number } | undefined {
    if (this.ring === undefined) return undefined;
    return { head: Atomics.load(this.ring.ctl, RING_HEAD), tail: Atomics.load(this.ring.ctl, RING_TAIL) };
  }

  /** Stop reading and close the device (the interface disappears unless persistent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.running = false;
    if (this.ring !== undefined) {
      const ctl = this.ring.ctl;
      Atomics.store(ctl, RING_STOP, 1);
      Atomics.notify(ctl, RING_TAIL);
      Atomics.notify(ctl, RING_HEAD);
    }
    this.worker?.terminate();
    this.doorbell?.close();
    this.doorbell = null;
    c().close(this.fd);
  }
}

/**
 * Where the reader worker's code is. From source: next to this file. In a `bun build --compile`
 * binary (package.json's build: ffi/tap-reader-worker.ts is an extra entrypoint) every module is
 * bundled into one file at the embedded root, so a URL relative to this module misses; the worker
 * keeps its path relative to the entrypoints' common root (the repository), as measured.
 */
export function readerWorkerSpecifier(moduleUrl: string): string {
  if (moduleUrl.startsWith("file:///$bunfs/")) return "/$bunfs/root/ffi/tap-reader-worker.ts";
  return new URL("./tap-reader-worker.ts", moduleUrl).href;
}
