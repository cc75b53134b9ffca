/**
 * A one-way Ethernet link with injected faults: loss, duplication, reordering, corruption, delay
 * with jitter, a size limit and a bounded queue. Modelled on smoltcp's FaultInjector, plus delay and
 * reordering (the kernel here has no netem). Randomness and time are injected, so a simulation is
 * replayable from its seed; the same class sits between a tap and the stack in real time.
 *
 * Frames are copied into pooled buffers on send and handed to the receiver from poll(), never from
 * inside sendFrame: a stack answering a frame therefore never re-enters its peer.
 */
import type { Clock } from "../../util/clock.ts";
import type { Rng } from "../../util/random.ts";
import { FRAME_HEADROOM, type FrameReceiver, type FrameSink } from "../link.ts";
import type { Pollable } from "../pollable.ts";

export interface FaultConfig {
  /** Percent of frames dropped (0..100). */
  lossPct?: number;
  /** Percent of frames delivered twice. */
  dupPct?: number;
  /** Percent of frames held back by reorderDelayMs so later frames overtake them. */
  reorderPct?: number;
  reorderDelayMs?: number;
  /** Percent of frames with one random bit flipped. */
  corruptPct?: number;
  /** One-way delay and uniform extra jitter in ms. */
  delayMs?: number;
  jitterMs?: number;
  /** Largest frame (Ethernet header included) carried; bigger ones are dropped. */
  maxFrame?: number;
  /** Frames in flight; beyond it new frames are dropped (a router's tail drop). */
  maxQueue?: number;
}

export interface FaultStats {
  sent: number;
  delivered: number;
  lost: number;
  duplicated: number;
  reordered: number;
  corrupted: number;
  oversize: number;
  overflow: number;
}

interface InFlight {
  buf: Uint8Array;
  len: number;
  at: number;
  seq: number;
}

export class FaultLink implements FrameSink, Pollable {
  readonly stats: FaultStats = { sent: 0, delivered: 0, lost: 0, duplicated: 0, reordered: 0, corrupted: 0, oversize: 0, overflow: 0 };
  /** Called whenever a frame is queued, so a real-time driver can schedule delivery. */
  onQueued: (() => void) | undefined;
  receiver: FrameReceiver | undefined;
  config: Required<FaultConfig>;

  private readonly queue: InFlight[] = [];
  private readonly pool: Uint8Array[] = [];
  private seq = 0;

  constructor(
    private readonly clock: Clock,
    private readonly rng: Rng,
    config: FaultConfig = {},
    receiver?: FrameReceiver,
  ) {
    this.config = withDefaults(config);
    this.receiver = receiver;
  }

  /** Change faults on the fly (e.g. loss only during part of a test). */
  configure(config: FaultConfig): void {
    this.config = withDefaults({ ...this.config, ...config });
  }

  get inFlight(): number {
    return this.queue.length;
  }

  sendFrame(buf: Uint8Array, start: number, end: number): void {
    const c = this.config;
    const len = end - start;
    this.stats.sent++;
    if (len > c.maxFrame) {
      this.stats.oversize++;
      return;
    }
    if (this.chance(c.lossPct)) {
      this.stats.lost++;
      return;
    }
    const copies = this.chance(c.dupPct) ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let k = 0; k < copies; k++) {
      if (this.queue.length >= c.maxQueue) {
        this.stats.overflow++;
        return;
      }
      const b = this.take();
      b.set(buf.subarray(start, end), FRAME_HEADROOM);
      if (this.chance(c.corruptPct)) {
        const bit = this.rng.u32() % (len * 8);
        b[FRAME_HEADROOM + (bit >>> 3)]! ^= 1 << (bit & 7);
        this.stats.corrupted++;
      }
      let at = this.clock.now() + c.delayMs;
      if (c.jitterMs > 0) at += (this.rng.u32() / 4294967296) * c.jitterMs;
      if (this.chance(c.reorderPct)) {
        at += c.reorderDelayMs;
        this.stats.reordered++;
      }
      this.insert({ buf: b, len, at, seq: this.seq++ });
    }
    this.onQueued?.();
  }

  /** Deliver every frame that is due. */
  poll(): void {
    const now = this.clock.now();
    while (this.queue.length > 0 && this.queue[0]!.at <= now) {
      const f = this.popMin();
      this.stats.delivered++;
      try {
        this.receiver?.receiveFrame(f.buf, FRAME_HEADROOM, FRAME_HEADROOM + f.len);
      } finally {
        this.pool.push(f.buf);
      }
    }
  }

  nextDeadline(): number {
    return this.queue.length > 0 ? this.queue[0]!.at : Infinity;
  }

  private chance(pct: number): boolean {
    return pct > 0 && (this.rng.u32() / 4294967296) * 100 < pct;
  }

  private take(): Uint8Array {
    return this.pool.pop() ?? new Uint8Array(FRAME_HEADROOM + this.config.maxFrame);
  }

  /** Binary min-heap on (delivery time, send order): thousands of frames in flight stay cheap. */
  private insert(f: InFlight): void {
    const q = this.queue;
    let i = q.length;
    q.push(f);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(f, q[p]!)) break;
      q[i] = q[p]!;
      i = p;
    }
    q[i] = f;
  }

  private popMin(): InFlight {
    const q = this.queue;
    const top = q[0]!;
    const last = q.pop()!;
    const n = q.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && before(q[r]!, q[l]!) ? r : l;
        if (!before(q[c]!, last)) break;
        q[i] = q[c]!;
        i = c;
      }
      q[i] = last;
    }
    return top;
  }
}

function before(a: InFlight, b: InFlight): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

function withDefaults(c: FaultConfig): Required<FaultConfig> {
  return {
    lossPct: c.lossPct ?? 0,
    dupPct: c.dupPct ?? 0,
    reorderPct: c.reorderPct ?? 0,
    reorderDelayMs: c.reorderDelayMs ?? 5,
    corruptPct: c.corruptPct ?? 0,
    delayMs: c.delayMs ?? 0,
    jitterMs: c.jitterMs ?? 0,
    maxFrame: c.maxFrame ?? 9216 + 14,
    maxQueue: c.maxQueue ?? 100_000,
  };
}

/** Two FaultLinks, one per direction, between endpoints a and b (attach receivers after construction). */
export function createLinkPair(clock: Clock, rng: Rng, aToB: FaultConfig = {}, bToA: FaultConfig = aToB): { aToB: FaultLink; bToA: FaultLink } {
  return { aToB: new FaultLink(clock, rng, aToB), bToA: new FaultLink(clock, rng, bToA) };
}
