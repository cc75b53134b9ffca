/**
 * An IP-level simulated network for two (or more) TcpLayers in one process: each datagram is
 * copied and delivered later, with seeded loss, duplication, reordering (extra random delay) and
 * a fixed delay. Time is a ManualClock the driver advances to the next event, so a simulated
 * minute of retransmissions runs in milliseconds.
 */
import { ManualClock } from "../../../src/util/clock.ts";
import { SeededRng } from "../../../src/util/random.ts";
import type { Ipv4Output } from "../../../src/stack/link.ts";
import { TcpLayer, type TcpLayerConfig } from "../../../src/stack/tcp/index.ts";

export interface Faults {
  loss?: number; // probability 0..1
  duplicate?: number;
  reorder?: number; // probability a datagram gets extra delay
  reorderDelayMs?: number;
  delayMs?: number;
  mtu?: number;
  /** Bytes per ms the link carries (0 = unlimited); queued beyond `queueBytes` are dropped. */
  rateBytesPerMs?: number;
  queueBytes?: number;
}

interface Packet {
  at: number;
  seqNo: number;
  src: number;
  dst: number;
  data: Uint8Array;
}

export class SimNet {
  readonly clock = new ManualClock(1_000_000);
  readonly rng: SeededRng;
  private queue: Packet[] = [];
  private seqNo = 0;
  private nodes = new Map<number, TcpLayer>();
  private linkFreeAt = new Map<number, number>();
  delivered = 0;
  dropped = 0;

  constructor(
    seed: number,
    readonly faults: Faults = {},
  ) {
    this.rng = new SeededRng(seed);
  }

  addNode(addr: number, cfg: Partial<TcpLayerConfig> = {}): TcpLayer {
    const net = this;
    const mtu = this.faults.mtu ?? 1500;
    const ip: Ipv4Output = {
      mtu,
      sourceFor: () => addr,
      isLocal: (a) => a === addr,
      sendIpv4(_proto, src, dst, buf, start, end) {
        if (end - start + 20 > mtu) throw new Error(`datagram larger than MTU: ${end - start + 20}`);
        net.send(src, dst, buf.slice(start, end));
        return true;
      },
    };
    const layer = new TcpLayer({ ip, clock: this.clock, rng: new SeededRng(this.rng.u32()), ...cfg });
    this.nodes.set(addr, layer);
    return layer;
  }

  private send(src: number, dst: number, data: Uint8Array): void {
    const f = this.faults;
    const r = this.rng;
    if (f.loss && r.float() < f.loss) {
      this.dropped++;
      return;
    }
    let at = this.clock.now() + (f.delayMs ?? 0);
    if (f.rateBytesPerMs) {
      const free = Math.max(this.linkFreeAt.get(src) ?? 0, this.clock.now());
      if (f.queueBytes && (free - this.clock.now()) * f.rateBytesPerMs > f.queueBytes) {
        this.dropped++;
        return;
      }
      const done = free + (data.length + 40) / f.rateBytesPerMs;
      this.linkFreeAt.set(src, done);
      at = done + (f.delayMs ?? 0);
    }
    if (f.reorder && r.float() < f.reorder) at += r.float() * (f.reorderDelayMs ?? 10);
    this.push({ at, seqNo: this.seqNo++, src, dst, data });
    if (f.duplicate && r.float() < f.duplicate) {
      this.push({ at: at + r.float() * 5, seqNo: this.seqNo++, src, dst, data });
    }
  }

  private push(p: Packet): void {
    // keep sorted by (at, seqNo); insertion from the back (mostly in order)
    const q = this.queue;
    let i = q.length;
    while (i > 0 && (q[i - 1]!.at > p.at || (q[i - 1]!.at === p.at && q[i - 1]!.seqNo > p.seqNo))) i--;
    q.splice(i, 0, p);
  }

  /** Deliver packets and run timers until `done()` or simulated `maxMs` elapse. Returns true if done. */
  run(done: () => boolean, maxMs = 600_000): boolean {
    const end = this.clock.now() + maxMs;
    for (let steps = 0; steps < 50_000_000; steps++) {
      if (done()) return true;
      let next = Infinity;
      if (this.queue.length > 0) next = this.queue[0]!.at;
      for (const n of this.nodes.values()) next = Math.min(next, n.nextDeadline());
      if (next === Infinity || next > end) return done();
      if (next > this.clock.now()) this.clock.set(next);
      const now = this.clock.now();
      while (this.queue.length > 0 && this.queue[0]!.at <= now) {
        const p = this.queue.shift()!;
        const node = this.nodes.get(p.dst);
        if (node === undefined) continue;
        this.delivered++;
        node.onIpv4(p.src, p.dst, p.data, 0, p.data.length);
      }
      for (const n of this.nodes.values()) if (n.nextDeadline() <= now) n.poll();
    }
    return done();
  }
}
