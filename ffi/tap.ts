/**
 * Linux tap devices through bun:ffi: open /dev/net/tun, TUNSETIFF with IFF_TAP|IFF_NO_PI, then
 * frames in and out with their boundaries intact.
 *
 * Reading: one read() on a tap returns exactly one frame, but Bun offers no event-driven reader
 * that keeps boundaries (Bun.file(fd).stream() concatenates several reads into one chunk and can
 * cut a frame that does not fit its remaining buffer). So a Worker blocks in poll()/read() and
 * reads frames straight into a SharedArrayBuffer ring of fixed slots; the main thread sleeps on
 * Atomics.waitAsync and drains the whole ring per wake-up, handing each frame to the receiver in
 * place (no copy, no message per frame). Writing is a direct write() from the caller's buffer.
 */
import { dlopen, FFIType, ptr, read } from "bun:ffi";
import { FRAME_HEADROOM, type FrameReceiver, type FrameSink } from "../src/stack/link.ts";
import { RING_HEAD, RING_HEADER_INTS, RING_STOP, RING_TAIL, RING_WAITING, type TapWorkerInit } from "./tap-ring.ts";

const O_RDWR = 2;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
const TUNSETIFF = 0x400454ca;
const IFF_TAP = 0x0002;
const IFF_NO_PI = 0x1000;

const symbols = {
  open: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  ioctl: { args: [FFIType.i32, FFIType.u64, FFIType.ptr], returns: FFIType.i32 },
  write: { args: [FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
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
}

export interface TapOptions {
  /** Interface name to request (kernel picks tapN when omitted). At most 15 bytes. */
  name?: string;
  /** Largest frame expected (Ethernet header included); longer frames are truncated by the kernel. */
  maxFrame?: number;
  /** Ring slots between the reader worker and the main thread (default: 8 MiB worth, at least 512). */
  slots?: number;
}

export class TapDevice implements FrameSink {
  readonly fd: number;
  readonly name: string;
  readonly stats: TapStats = { rxFrames: 0, txFrames: 0, txErrors: 0, wakeups: 0 };
  /** Called after each drained batch of received frames (e.g. to flush a stack's pending output). */
  onBatchEnd: (() => void) | undefined;

  private worker: Worker | undefined;
  private ctl: Int32Array | undefined;
  private lens: Int32Array | undefined;
  private data: Uint8Array | undefined;
  private slotSize = 0;
  private slots = 0;
  private running = false;
  private closed = false;

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
    const flags = IFF_TAP | IFF_NO_PI;
    ifr[16] = flags & 0xff;
    ifr[17] = flags >> 8;
    if (c().ioctl(fd, TUNSETIFF, ptr(ifr)) < 0) {
      const e = errno();
      c().close(fd);
      throw new Error(`ioctl TUNSETIFF: ${String(c().strerror(e))}`);
    }
    const end = ifr.indexOf(0);
    const dev = new TapDevice(fd, Buffer.from(ifr.subarray(0, end < 0 ? 16 : Math.min(end, 16))).toString("ascii"));
    dev.slotSize = FRAME_HEADROOM + (opts.maxFrame ?? 9216 + 14);
    // Enough slots to absorb a burst while the main thread is busy (the kernel drops beyond its txqueuelen).
    dev.slots = opts.slots ?? Math.max(512, Math.floor((8 << 20) / dev.slotSize));
    return dev;
  }

  /** Send one frame: buf[start, end) starting at the Ethernet header. */
  sendFrame(buf: Uint8Array, start: number, end: number): void {
    const n = c().write(this.fd, ptr(buf, start), end - start);
    if (n < 0) {
      // EAGAIN/ENOBUFS: the kernel's backlog is full; the frame is lost like on a busy wire.
      this.stats.txErrors++;
      return;
    }
    this.stats.txFrames++;
  }

  /** Start delivering received frames to `receiver` (from the event loop, in batches). */
  start(receiver: FrameReceiver): void {
    if (this.running) throw new Error("tap already started");
    this.running = true;
    const sab = new SharedArrayBuffer(RING_HEADER_INTS * 4 + this.slots * 4 + this.slots * this.slotSize);
    this.ctl = new Int32Array(sab, 0, RING_HEADER_INTS);
    this.lens = new Int32Array(sab, RING_HEADER_INTS * 4, this.slots);
    this.data = new Uint8Array(sab, RING_HEADER_INTS * 4 + this.slots * 4);
    const init: TapWorkerInit = { fd: this.fd, sab, slots: this.slots, slotSize: this.slotSize };
    // In a `bun build --compile` binary, ffi/tap-reader-worker.ts must be an extra entrypoint.
    this.worker = new Worker(new URL("./tap-reader-worker.ts", import.meta.url).href);
    this.worker.addEventListener("error", (e) => {
      console.error(`tap ${this.name}: reader worker failed: ${e.message}`);
    });
    this.worker.postMessage(init);
    // The worker must not keep the process alive on its own; the pending waitAsync does that while running.
    this.worker.unref();
    void this.loop(receiver);
  }

  private async loop(receiver: FrameReceiver): Promise<void> {
    const ctl = this.ctl!;
    const lens = this.lens!;
    const data = this.data!;
    const slots = this.slots;
    const slotSize = this.slotSize;
    while (this.running) {
      let tail = Atomics.load(ctl, RING_TAIL);
      let head = Atomics.load(ctl, RING_HEAD);
      if (head === tail) {
        Atomics.store(ctl, RING_WAITING, 1);
        // Re-check after announcing we sleep, so a frame written in between is not missed.
        head = Atomics.load(ctl, RING_HEAD);
        if (head === tail) {
          const w = Atomics.waitAsync(ctl, RING_HEAD, tail, 1000);
          if (w.async) await w.value;
        }
        Atomics.store(ctl, RING_WAITING, 0);
        continue;
      }
      this.stats.wakeups++;
      while (tail !== head) {
        const slot = tail % slots;
        const off = slot * slotSize + FRAME_HEADROOM;
        this.stats.rxFrames++;
        try {
          receiver.receiveFrame(data, off, off + lens[slot]!);
        } catch (e) {
          // A receiver bug must not stop the link; it is reported, the frame is lost.
          console.error("tap receiver threw:", e);
        }
        tail = (tail + 1) | 0;
        // Free slots early so the worker can keep reading while we process.
        if ((tail & 31) === 0) Atomics.store(ctl, RING_TAIL, tail);
        if (tail === head) head = Atomics.load(ctl, RING_HEAD);
      }
      Atomics.store(ctl, RING_TAIL, tail);
      Atomics.notify(ctl, RING_TAIL);
      this.onBatchEnd?.();
    }
  }

  /** Stop reading and close the device (the interface disappears unless persistent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.running = false;
    if (this.ctl !== undefined) {
      Atomics.store(this.ctl, RING_STOP, 1);
      Atomics.notify(this.ctl, RING_TAIL);
      Atomics.notify(this.ctl, RING_HEAD);
    }
    this.worker?.terminate();
    c().close(this.fd);
  }
}

