/**
 * The SharedArrayBuffer ring between the tap reader worker (producer) and the main thread
 * (consumer): a header of Int32 control words, one Int32 length per slot, then the slots.
 *
 * HEAD and TAIL are free-running 32-bit counters (stored as int32, so they wrap from 2^31 - 1 to
 * -2^31 and from -1 to 0). A slot is `counter & (slots - 1)`: because the slot count is a power of
 * two (at most 2^20), the mask divides 2^32, so the slot sequence stays continuous across both wraps
 * and the index is in [0, slots) for every counter value, negative ones included. Fill level is
 * `(head - tail) | 0`, exact while it stays below 2^31. Both sides go through this module, so no
 * index into the ring is computed anywhere else.
 */

/** Next slot the worker will fill (free-running counter, wraps as int32). */
export const RING_HEAD = 0;
/** Next slot the main thread will consume. */
export const RING_TAIL = 1;
/** Set to 1 by the main thread to stop the worker. */
export const RING_STOP = 2;
/** 1 while the main thread sleeps on RING_HEAD (the worker notifies only then). */
export const RING_WAITING = 3;
export const RING_HEADER_INTS = 16;
/** Largest slot count accepted (the ring would be gigabytes beyond this anyway). */
export const RING_MAX_SLOTS = 1 << 20;

export interface TapWorkerInit {
  fd: number;
  sab: SharedArrayBuffer;
  slots: number;
  slotSize: number;
  /** Bytes kept free before each frame in its slot (the frame starts at slot offset + headroom). */
  headroom: number;
  /** Bytes of virtio_net_hdr the device puts before each frame (read into the headroom, dropped). */
  vnetHeader: number;
}

/** The smallest power of two >= n, clamped to [1, RING_MAX_SLOTS]. */
export function ringSlotCount(n: number): number {
  if (!Number.isFinite(n) || n <= 1) return 1;
  if (n >= RING_MAX_SLOTS) return RING_MAX_SLOTS;
  let s = 1;
  while (s < n) s *= 2;
  return s;
}

/** Bytes of SharedArrayBuffer a ring of `slots` × `slotSize` needs. */
export function ringBytes(slots: number, slotSize: number): number {
  return RING_HEADER_INTS * 4 + slots * 4 + slots * slotSize;
}

/** Typed views over a ring buffer, with the slot arithmetic both sides share. */
export class TapRing {
  readonly buffer: SharedArrayBuffer;
  readonly ctl: Int32Array;
  readonly lens: Int32Array;
  readonly data: Uint8Array;
  readonly slots: number;
  readonly slotSize: number;
  readonly headroom: number;
  private readonly mask: number;

  constructor(sab: SharedArrayBuffer, slots: number, slotSize: number, headroom: number) {
    if (!Number.isInteger(slots) || slots < 1 || slots > RING_MAX_SLOTS || (slots & (slots - 1)) !== 0) {
      throw new RangeError(`tap ring: slot count ${slots} is not a power of two in [1, ${RING_MAX_SLOTS}]`);
    }
    if (!Number.isInteger(headroom) || headroom < 0 || !Number.isInteger(slotSize) || slotSize <= headroom) {
      throw new RangeError(`tap ring: slot size ${slotSize} must exceed its headroom ${headroom}`);
    }
    if (sab.byteLength < ringBytes(slots, slotSize)) throw new RangeError("tap ring: buffer too small");
    this.buffer = sab;
    this.slots = slots;
    this.slotSize = slotSize;
    this.headroom = headroom;
    this.mask = slots - 1;
    this.ctl = new Int32Array(sab, 0, RING_HEADER_INTS);
    this.lens = new Int32Array(sab, RING_HEADER_INTS * 4, slots);
    this.data = new Uint8Array(sab, RING_HEADER_INTS * 4 + slots * 4, slots * slotSize);
  }

  /** A new ring in a fresh buffer; `start` sets both counters (tests start them near 2^31 or 2^32). */
  static create(slots: number, slotSize: number, headroom: number, start = 0): TapRing {
    const ring = new TapRing(new SharedArrayBuffer(ringBytes(slots, slotSize)), slots, slotSize, headroom);
    ring.ctl[RING_HEAD] = start | 0;
    ring.ctl[RING_TAIL] = start | 0;
    return ring;
  }

  /** Largest frame a slot holds. */
  get maxFrame(): number {
    return this.slotSize - this.headroom;
  }

  /** Slot of a counter value: always in [0, slots), whatever the counter. */
  slot(counter: number): number {
    return counter & this.mask;
  }

  /** Offset in `data` where the frame of slot `counter` starts (after its headroom). */
  frameOffset(counter: number): number {
    return (counter & this.mask) * this.slotSize + this.headroom;
  }

  /** Frames between tail and head (head runs ahead of tail by at most `slots`). */
  static used(head: number, tail: number): number {
    return (head - tail) | 0;
  }

  static next(counter: number): number {
    return (counter + 1) | 0;
  }

  /** Record the length of the frame just written into slot `counter` (clamped to the slot). */
  setLength(counter: number, n: number): void {
    this.lens[counter & this.mask] = Math.min(Math.max(n | 0, 0), this.maxFrame);
  }

  length(counter: number): number {
    return this.lens[counter & this.mask]!;
  }
}

/** How many frames the producer writes before it publishes them without waiting for the device to run dry. */
const PUBLISH_BATCH = 16;

/** The worker's side: reserve the slot at HEAD, fill it, commit, publish in batches. */
export class RingProducer {
  private head: number;
  private published: number;

  constructor(private readonly ring: TapRing) {
    this.head = Atomics.load(ring.ctl, RING_HEAD);
    this.published = this.head;
  }

  /** Offset in `ring.data` of the next free slot's frame, or -1 while the ring is full. */
  reserve(): number {
    const tail = Atomics.load(this.ring.ctl, RING_TAIL);
    if (TapRing.used(this.head, tail) >= this.ring.slots) return -1;
    return this.ring.frameOffset(this.head);
  }

  /** The slot returned by reserve() now holds a frame of n bytes. */
  commit(n: number): void {
    this.ring.setLength(this.head, n);
    this.head = TapRing.next(this.head);
    if (TapRing.used(this.head, this.published) >= PUBLISH_BATCH) this.publish();
  }

  /** Make committed frames visible to the consumer, waking it if it sleeps. */
  publish(): void {
    if (this.published === this.head) return;
    this.published = this.head;
    const ctl = this.ring.ctl;
    Atomics.store(ctl, RING_HEAD, this.head);
    if (Atomics.load(ctl, RING_WAITING) === 1) Atomics.notify(ctl, RING_HEAD);
  }

  /** Ring full: publish, then block (worker thread only) until the consumer frees slots or `ms` pass. */
  waitForRoom(ms: number): void {
    this.publish();
    const tail = Atomics.load(this.ring.ctl, RING_TAIL);
    if (TapRing.used(this.head, tail) >= this.ring.slots) Atomics.wait(this.ring.ctl, RING_TAIL, tail, ms);
  }
}

/** The main thread's side: hand every published frame to `deliver`, in place, and free the slots. */
export class RingConsumer {
  constructor(private readonly ring: TapRing) {}

  /** True when nothing is published (announces the sleep first, so the producer notifies). */
  prepareSleep(): { empty: boolean; tail: number } {
    const ctl = this.ring.ctl;
    const tail = Atomics.load(ctl, RING_TAIL);
    if (Atomics.load(ctl, RING_HEAD) !== tail) return { empty: false, tail };
    Atomics.store(ctl, RING_WAITING, 1);
    // Re-check after announcing the sleep, so a frame published in between is not missed.
    return { empty: Atomics.load(ctl, RING_HEAD) === tail, tail };
  }

  endSleep(): void {
    Atomics.store(this.ring.ctl, RING_WAITING, 0);
  }

  /** Deliver every published frame; returns how many. `deliver` gets data[start, end). */
  drain(deliver: (data: Uint8Array, start: number, end: number) => void): number {
    const ring = this.ring;
    const ctl = ring.ctl;
    let tail = Atomics.load(ctl, RING_TAIL);
    let head = Atomics.load(ctl, RING_HEAD);
    let count = 0;
    while (tail !== head) {
      const off = ring.frameOffset(tail);
      count++;
      deliver(ring.data, off, off + ring.length(tail));
      tail = TapRing.next(tail);
      // Free slots early so the worker can keep reading while we process.
      if ((tail & 31) === 0) Atomics.store(ctl, RING_TAIL, tail);
      if (tail === head) head = Atomics.load(ctl, RING_HEAD);
    }
    Atomics.store(ctl, RING_TAIL, tail);
    if (count > 0) Atomics.notify(ctl, RING_TAIL);
    return count;
  }
}
