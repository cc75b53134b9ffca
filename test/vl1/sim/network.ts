/**
 * An in-memory UDP underlay for VL1 nodes: every host has one IPv4 endpoint, datagrams travel with
 * configurable delay, jitter, loss and duplication drawn from a SeededRng, and time is a
 * ManualClock moved by `run()` from event to event (packet deliveries and node deadlines), so a
 * minute of network life takes milliseconds and a failing seed replays exactly.
 */

import { ManualClock } from "../../../src/util/clock.ts";
import { SeededRng } from "../../../src/util/random.ts";
import type { Identity } from "../../../src/vl1/identity.ts";
import { type InetAddress, inetAddressToString } from "../../../src/vl1/inet-address.ts";
import { Node, type NodeOptions, type PeerStore, type Wire } from "../../../src/vl1/node.ts";
import type { World } from "../../../src/vl1/world.ts";

export interface LinkFaults {
  /** Probability a datagram is lost. */
  loss: number;
  /** Probability a delivered datagram is delivered twice. */
  duplicate: number;
  /** Base one-way delay (ms). */
  delayMs: number;
  /** Extra uniform random delay in [0, jitterMs) (reorders packets). */
  jitterMs: number;
}

export interface Datagram {
  at: number;
  from: InetAddress;
  to: InetAddress;
  data: Uint8Array;
  ttl: number | undefined;
}

interface Pending {
  at: number;
  seq: number;
  d: Datagram;
}

export interface SimHost {
  readonly name: string;
  readonly node: Node;
  address: InetAddress;
  readonly received: { verb: number; from: number; payload: Uint8Array }[];
}

export class SimNetwork {
  readonly clock = new ManualClock(1_000_000);
  readonly rng: SeededRng;
  faults: LinkFaults = { loss: 0, duplicate: 0, delayMs: 1, jitterMs: 0 };
  readonly hosts: SimHost[] = [];
  /** Every datagram handed to the network (before loss), for assertions on the wire. */
  readonly log: Datagram[] = [];
  logEnabled = true;
  private queue: Pending[] = [];
  private seq = 0;
  /** Delivered datagram count (after loss, including duplicates). */
  delivered = 0;
  /** Links cut in both directions, by "a|b" endpoint strings. */
  private readonly cut = new Set<string>();

  constructor(seed: number) {
    this.rng = new SeededRng(seed);
  }

  addHost(
    name: string,
    identity: Identity,
    address: InetAddress,
    opts: { planet?: World | null; store?: PeerStore | null; extra?: Partial<NodeOptions> } = {},
  ): SimHost {
    const net = this;
    const hostRef: { host: SimHost | null } = { host: null };
    const wire: Wire = {
      send(_sock, to, data, start, end, ttl) {
        const h = hostRef.host!;
        net.transmit({ at: net.clock.now(), from: h.address, to, data: data.slice(start, end), ttl });
      },
    };
    const node = new Node({
      identity,
      clock: this.clock,
      rng: new SeededRng(this.rng.u32()),
      wire,
      planet: opts.planet ?? null,
      store: opts.store ?? null,
      epochMs: () => 1_700_000_000_000 + this.clock.now(),
      ...opts.extra,
    });
    const host: SimHost = { name, node, address, received: [] };
    hostRef.host = host;
    node.setVl2Handler({
      onPacket(peer, verb, pkt, start, end) {
        host.received.push({ verb, from: peer.address, payload: pkt.slice(start + 28, end) });
        return false;
      },
    });
    this.hosts.push(host);
    return host;
  }

  /** Cut (or restore) the underlay between two endpoints. */
  setCut(a: InetAddress, b: InetAddress, on: boolean): void {
    const k1 = `${inetAddressToString(a)}|${inetAddressToString(b)}`;
    const k2 = `${inetAddressToString(b)}|${inetAddressToString(a)}`;
    if (on) {
      this.cut.add(k1);
      this.cut.add(k2);
    } else {
      this.cut.delete(k1);
      this.cut.delete(k2);
    }
  }

  private transmit(d: Datagram): void {
    if (this.logEnabled) this.log.push(d);
    if (this.cut.has(`${inetAddressToString(d.from)}|${inetAddressToString(d.to)}`)) return;
    const f = this.faults;
    if (this.rng.float() < f.loss) return;
    const copies = this.rng.float() < f.duplicate ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const at = d.at + f.delayMs + (f.jitterMs > 0 ? this.rng.float() * f.jitterMs : 0);
      this.queue.push({ at, seq: this.seq++, d });
    }
  }

  /** Inject a datagram as if it arrived from `from` (fuzzing, replays). */
  inject(to: SimHost, from: InetAddress, data: Uint8Array): void {
    to.node.onDatagram(0, from, data, 0, data.length);
  }

  private hostAt(a: InetAddress): SimHost | null {
    for (const h of this.hosts) {
      if (h.address.port === a.port && h.address.family === a.family && h.address.ip.every((v, i) => v === a.ip[i])) return h;
    }
    return null;
  }

  /** Advance simulated time by `ms`, delivering datagrams and running node timers in order. */
  run(ms: number): void {
    const end = this.clock.now() + ms;
    for (let guard = 0; guard < 10_000_000; guard++) {
      let qi = -1;
      let qAt = Infinity;
      for (let i = 0; i < this.queue.length; i++) {
        const q = this.queue[i]!;
        if (q.at < qAt || (q.at === qAt && q.seq < this.queue[qi]!.seq)) {
          qAt = q.at;
          qi = i;
        }
      }
      let dAt = Infinity;
      let due: SimHost | null = null;
      for (const h of this.hosts) {
        const d = h.node.nextDeadline();
        if (d < dAt) {
          dAt = d;
          due = h;
        }
      }
      const t = Math.min(qAt, dAt);
      if (t > end) break;
      this.clock.set(Math.max(this.clock.now(), t));
      if (due !== null && dAt <= qAt) {
        due.node.tick();
        continue;
      }
      const q = this.queue.splice(qi, 1)[0]!;
      const h = this.hostAt(q.d.to);
      if (h !== null) {
        this.delivered++;
        const copy = q.d.data.slice();
        h.node.onDatagram(0, q.d.from, copy, 0, copy.length);
      }
    }
    this.clock.set(end);
  }
}
