/**
 * Tap reader thread: blocks in poll() on the tap fd, reads each frame (one read = one frame) into
 * the next free ring slot, publishes it, and wakes the main thread if it sleeps. See tap.ts.
 */
import { dlopen, FFIType, ptr, read } from "bun:ffi";
import { FRAME_HEADROOM } from "../src/stack/link.ts";
import { RING_HEAD, RING_HEADER_INTS, RING_STOP, RING_TAIL, RING_WAITING, type TapWorkerInit } from "./tap-ring.ts";

declare const self: Worker;

const libc = dlopen("libc.so.6", {
  read: { args: [FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
  poll: { args: [FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
  __errno_location: { args: [], returns: FFIType.ptr },
}).symbols;

const POLLIN = 1;
const EAGAIN = 11;
const EINTR = 4;

self.onmessage = (ev: MessageEvent<TapWorkerInit>) => {
  const { fd, sab, slots, slotSize } = ev.data;
  const ctl = new Int32Array(sab, 0, RING_HEADER_INTS);
  const lens = new Int32Array(sab, RING_HEADER_INTS * 4, slots);
  const data = new Uint8Array(sab, RING_HEADER_INTS * 4 + slots * 4);
  const base = ptr(data);
  const pfd = new Int32Array(2); // struct pollfd { int fd; short events; short revents; }
  const pfdPtr = ptr(pfd);
  const maxRead = slotSize - FRAME_HEADROOM;
  let head = Atomics.load(ctl, RING_HEAD);
  let published = head;

  const publish = () => {
    if (published === head) return;
    published = head;
    Atomics.store(ctl, RING_HEAD, head);
    if (Atomics.load(ctl, RING_WAITING) === 1) Atomics.notify(ctl, RING_HEAD);
  };

  while (Atomics.load(ctl, RING_STOP) === 0) {
    // Ring full: wait for the main thread to consume.
    const tail = Atomics.load(ctl, RING_TAIL);
    if (((head - tail) | 0) >= slots) {
      publish();
      Atomics.wait(ctl, RING_TAIL, tail, 100);
      continue;
    }
    const slot = head % slots;
    const n = Number(libc.read(fd, base + slot * slotSize + FRAME_HEADROOM, maxRead));
    if (n > 0) {
      lens[slot] = n;
      head = (head + 1) | 0;
      // Publish in small batches under load, immediately when the device runs dry (below).
      if (((head - published) | 0) >= 16) publish();
      continue;
    }
    if (n === 0) break;
    const e = read.i32(libc.__errno_location()!, 0);
    if (e !== EAGAIN && e !== EINTR) break; // EBADF after close(): the device is gone
    publish();
    pfd[0] = fd;
    pfd[1] = POLLIN;
    libc.poll(pfdPtr, 1, 200);
  }
  publish();
};
