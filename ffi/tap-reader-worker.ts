/**
 * Tap reader thread: blocks in poll() on the tap fd, reads each frame (one read = one frame) into
 * the next free ring slot, publishes it, and wakes the main thread if it sleeps. See tap.ts; every
 * slot offset comes from tap-ring.ts, which keeps it inside the ring for any counter value.
 */
import { dlopen, FFIType, ptr, read } from "bun:ffi";
import { RingProducer, RING_STOP, TapRing, type TapWorkerInit } from "./tap-ring.ts";

declare const self: Worker;

const libc = dlopen("libc.so.6", {
  read: { args: [FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i64_fast }, // a number, no BigInt per frame
  poll: { args: [FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
  __errno_location: { args: [], returns: FFIType.ptr },
}).symbols;

const POLLIN = 1;
const EAGAIN = 11;
const EINTR = 4;

self.onmessage = (ev: MessageEvent<TapWorkerInit>) => {
  const { fd, sab, slots, slotSize, headroom, vnetHeader } = ev.data;
  // The device's virtio_net_hdr lands in the slot's headroom, so the frame itself starts where
  // the ring expects it; the header stays just before it, where a receiver that enabled offloads
  // reads it (src/port/tap-gso.ts), and the others ignore it.
  if (!Number.isInteger(vnetHeader) || vnetHeader < 0 || vnetHeader > headroom) throw new RangeError(`tap reader: bad vnet header size ${vnetHeader}`);
  const ring = new TapRing(sab, slots, slotSize, headroom);
  const producer = new RingProducer(ring);
  const base = ptr(ring.data);
  const limit = ring.data.byteLength;
  const maxRead = ring.maxFrame;
  const pfd = new Int32Array(2); // struct pollfd { int fd; short events; short revents; }
  const pfdPtr = ptr(pfd);

  while (Atomics.load(ring.ctl, RING_STOP) === 0) {
    const off = producer.reserve();
    if (off < 0) {
      // Ring full: wait for the main thread to consume.
      producer.waitForRoom(100);
      continue;
    }
    // tap-ring.ts guarantees this; checked anyway because a wrong offset here is a native write.
    if (off - vnetHeader < 0 || off + maxRead > limit) throw new RangeError(`tap ring: slot offset ${off} out of bounds`);
    const n = Number(libc.read(fd, base + off - vnetHeader, maxRead + vnetHeader));
    if (n > vnetHeader) {
      producer.commit(n - vnetHeader);
      continue;
    }
    if (n > 0) continue; // a header without a frame: nothing to deliver
    if (n === 0) break;
    const e = read.i32(libc.__errno_location()!, 0);
    if (e !== EAGAIN && e !== EINTR) break; // EBADF after close(): the device is gone
    // The device ran dry: publish what we have at once.
    producer.publish();
    pfd[0] = fd;
    pfd[1] = POLLIN;
    libc.poll(pfdPtr, 1, 200);
  }
  producer.publish();
};
