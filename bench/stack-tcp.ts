#!/usr/bin/env bun
/**
 * TCP stack <-> stack in one process (no crypto, no kernel): bulk throughput at MTU 2800 and 1500,
 * and heap bytes per idle established connection beyond its ring buffers.
 *
 * The "wire" between the two layers is a preallocated packet pool (one copy per datagram, as a
 * real link would do); data enters the sender's ring and leaves the receiver's ring through
 * commit/consume, as the netcon layer would with read()/write() on a kernel fd.
 */
import { heapStats } from "bun:jsc";
import type { Clock } from "../src/util/clock.ts";
import { SeededRng } from "../src/util/random.ts";
import type { Ipv4Output } from "../src/stack/link.ts";
import { TcpLayer, type TcpSocket } from "../src/stack/tcp/index.ts";

const A = 0x0a000001;
const B = 0x0a000002;

class Wire {
  private readonly slots: Uint8Array[];
  private readonly len: Int32Array;
  private readonly src: Float64Array;
  private readonly dst: Float64Array;
  private head = 0;
  private count = 0;
  dropped = 0;
  constructor(
    readonly capacity: number,
    slotSize: number,
  ) {
    this.slots = Array.from({ length: capacity }, () => new Uint8Array(slotSize));
    this.len = new Int32Array(capacity);
    this.src = new Float64Array(capacity);
    this.dst = new Float64Array(capacity);
  }
  output(mtu: number, addr: number): Ipv4Output {
    const w = this;
    return {
      mtu,
      sourceFor: () => addr,
      isLocal: (a) => a === addr,
      sendIpv4(_p, src, dst, buf, start, end) {
        if (w.count === w.capacity) {
          w.dropped++;
          return true;
        }
        const i = (w.head + w.count) % w.capacity;
        w.slots[i]!.set(buf.subarray(start, end));
        w.len[i] = end - start;
        w.src[i] = src;
        w.dst[i] = dst;
        w.count++;
        return true;
      },
    };
  }
  /** Deliver everything queued (including what deliveries cause). */
  drain(nodes: Map<number, TcpLayer>): number {
    let n = 0;
    while (this.count > 0) {
      const i = this.head;
      this.head = (this.head + 1) % this.capacity;
      this.count--;
      nodes.get(this.dst[i]!)!.onIpv4(this.src[i]!, this.dst[i]!, this.slots[i]!, 0, this.len[i]!);
      n++;
    }
    return n;
  }
}

const clock: Clock = { now: () => performance.now() };

function pair(mtu: number, bufSize: number) {
  const wire = new Wire(4096, mtu);
  const nodes = new Map<number, TcpLayer>();
  const cfg = { clock, recvBufferSize: bufSize, sendBufferSize: bufSize, autotune: false };
  const a = new TcpLayer({ ip: wire.output(mtu, A), rng: new SeededRng(1), ...cfg });
  const b = new TcpLayer({ ip: wire.output(mtu, B), rng: new SeededRng(2), ...cfg });
  nodes.set(A, a);
  nodes.set(B, b);
  const tick = () => {
    const now = clock.now();
    if (a.nextDeadline() <= now) a.poll();
    if (b.nextDeadline() <= now) b.poll();
  };
  return { wire, nodes, a, b, tick };
}

function throughput(mtu: number, totalBytes: number): { mbps: number; segs: number; cpuSecPerGb: number } {
  const { wire, nodes, a, b, tick } = pair(mtu, 1 << 20);
  let server: TcpSocket | null = null;
  let received = 0;
  b.listen(5001, {
    handler: {
      onAcceptable: (l) => {
        server = l.accept();
        server!.handler = {
          onReadable: (s) => {
            // write(fd, ring) would happen here; consuming opens the window.
            const n = s.readableLength;
            received += n;
            s.consume(n);
          },
        };
      },
    },
  });
  const client = a.connect(B, 5001, { nodelay: false });
  wire.drain(nodes);
  let queued = 0;
  const fill = () => {
    const tx = client.tx!;
    while (queued < totalBytes && client.writableLength > 0) {
      // read(fd, ring) would happen here; the ring is filled in place.
      const n = Math.min(tx.writeContiguous(), totalBytes - queued);
      if (n <= 0) break;
      client.commit(n);
      queued += n;
    }
  };
  client.handler = { onWritable: fill };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  fill();
  let segs = 0;
  let guard = 0;
  while (received < totalBytes && guard++ < 10_000_000) {
    segs += wire.drain(nodes);
    tick();
    if (wire.dropped > 0) throw new Error("wire overflow");
    if (received < totalBytes && segs === 0) fill();
  }
  const dt = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSec = (cpu.user + cpu.system) / 1e6;
  if (received !== totalBytes) throw new Error(`transfer incomplete: ${received}/${totalBytes}`);
  return { mbps: totalBytes / 1e6 / dt, segs, cpuSecPerGb: cpuSec / (totalBytes / 1e9) };
}

function idleMemory(n: number): { perConnBeyondBuffers: number; bufferBytesPerConn: number } {
  // Tiny rings so the measurement is dominated by per-connection state, not buffer bytes.
  const bufSize = 256;
  const { wire, nodes, a, b } = pair(1500, bufSize);
  const accepted: TcpSocket[] = [];
  const clients: TcpSocket[] = [];
  b.listen(80, { backlog: n + 1, handler: { onAcceptable: (l) => { for (let s = l.accept(); s; s = l.accept()) accepted.push(s); } } });
  Bun.gc(true);
  const before = heapStats().heapSize;
  for (let i = 0; i < n; i++) {
    clients.push(a.connect(B, 80));
    if (i % 100 === 99) wire.drain(nodes);
  }
  wire.drain(nodes);
  Bun.gc(true);
  const after = heapStats().heapSize;
  if (accepted.length !== n) throw new Error(`accepted ${accepted.length}/${n}`);
  const conns = 2 * n;
  // Rings are allocated on first use; an idle connection has none (asserted here).
  const ringless = accepted.every((s) => s.rx === null) && clients.every((s) => s.rx === null);
  if (!ringless) throw new Error("idle connections unexpectedly hold rings");
  const perConn = (after - before) / conns;
  return { perConnBeyondBuffers: perConn, bufferBytesPerConn: 0 };
}

// Memory first, in a fresh heap (the throughput runs leave garbage that skews heap deltas).
const mem = idleMemory(10000);
const big = Number(process.env.TCP_BENCH_MB ?? 256) * 1024 * 1024;
for (const mtu of [2800, 1500]) {
  throughput(mtu, 16 << 20); // warm-up
  const r = throughput(mtu, big);
  console.log(
    `tcp stack<->stack MTU ${mtu}: ${r.mbps.toFixed(0)} MB/s (${(big / 1048576).toFixed(0)} MiB, ${r.segs} datagrams, ${r.cpuSecPerGb.toFixed(2)} CPU s/GB)`,
  );
}
console.log(
  `tcp idle connection: ${mem.perConnBeyondBuffers.toFixed(0)} bytes (20000 established connections; rings are allocated on first data, so idle ones hold none)`,
);
