import { consola } from "consola";
import type { Clock } from "../util/clock.ts";
import type { Rng } from "../util/random.ts";
import { addressFromString } from "../vl1/address.ts";
import { EndpointCache } from "../vl1/endpoint-cache.ts";
import type { Address } from "../vl1/address.ts";
import type { Identity } from "../vl1/identity.ts";
import { type InetAddress, ipToString } from "../vl1/inet-address.ts";
import { Node, type PeerInfo, type Wire } from "../vl1/node.ts";
import { VERB_NAMES } from "../vl1/packet.ts";
import type { TrustedPathConf } from "../vl1/trusted-path-ids.ts";
import { DROP_REASONS } from "../vl1/stats.ts";
import type { World } from "../vl1/world.ts";
import type { UdpTransport } from "../transport/udp.ts";
import type { HomeDir } from "./home.ts";
import type { JsonObject } from "../util/json.ts";
import type { MetricsRegistry } from "./metrics.ts";
import { FilePeerStore } from "./peer-store.ts";
import { loadMoons, loadPlanet, removeMoonFile, saveWorld } from "./worlds.ts";
import { Stage, STAGE_TIMING, stageEnd, stageStart } from "../util/stage-timing.ts";

export interface NodeHostOptions {
  identity: Identity;
  home: HomeDir;
  clock: Clock;
  rng: Rng;
  metrics: MetricsRegistry;
  allowLoopbackPaths: boolean;
  mtu?: number;
  /** Veto on physical paths (local.conf blacklists, our own networks' ranges); see path-policy.ts. */
  pathCheck?: (peer: Address, address: InetAddress) => boolean;
  /** local.conf physical.<network>.trustedPathId. */
  trustedPaths?: readonly TrustedPathConf[];
}

/** Local socket ids the node sees: one IPv4 and one IPv6 UDP socket. */
const SOCKET_V4 = 0;
const SOCKET_V6 = 1;

/**
 * Runs the VL1 node inside the service: datagrams from the UDP transport in, datagrams out, the
 * timer loop, the peer cache, planet and moons on disk, and the node's numbers for the API.
 */
export class NodeHost {
  readonly node: Node;
  private udp: UdpTransport | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private timerDue = Infinity;
  private stopped = false;

  constructor(private readonly opts: NodeHostOptions) {
    const { planet, fromFile } = loadPlanet(opts.home);
    if (fromFile) consola.info(`using planet ${planet.id} from ${opts.home.path("planet")}`);
    const wire: Wire = { send: (_sock, to, data, start, end, ttl) => this.wireSend(to, data, start, end, ttl) };
    this.node = new Node({
      identity: opts.identity,
      clock: opts.clock,
      rng: opts.rng,
      wire,
      planet,
      moons: loadMoons(opts.home),
      store: new FilePeerStore(opts.home),
      allowLoopbackPaths: opts.allowLoopbackPaths,
      mtu: opts.mtu,
      pathCheck: opts.pathCheck,
      trustedPaths: opts.trustedPaths,
      events: {
        onlineChanged: (online) => consola.info(online ? "ONLINE" : "OFFLINE"),
        worldUpdated: (w: World) => saveWorld(opts.home, w),
        identityCollision: () =>
          consola.error("a root reports that another identity uses our address; delete identity.secret to get a new one"),
      },
    });
    this.registerMetrics(opts.metrics);
  }

  /** Attach the transport and start the timer loop. */
  start(udp: UdpTransport): void {
    this.udp = udp;
    this.node.tick();
    this.rearm();
  }

  /** A datagram from the transport: data[start, end) from `from` (a cached endpoint object). */
  onDatagram(data: Uint8Array, start: number, end: number, from: InetAddress): void {
    if (this.stopped) return;
    this.node.onDatagram(from.family === 6 ? SOCKET_V6 : SOCKET_V4, from, data, start, end);
    // At once, not in a microtask: Bun drains microtasks after every datagram's callback anyway
    // (measured), so a queued rearm batched nothing and cost a job per datagram.
    this.rearm();
  }

  private wireSend(to: InetAddress, data: Uint8Array, start: number, end: number, ttl?: number): void {
    if (this.udp === null) return;
    // The node reuses its buffer after this call: sendCopy copies into a batch slot (sent at the
    // end of the microtask). The TTL-limited NAT-opening junk goes out on its own.
    if (ttl === undefined) this.udp.sendCopy(data, start, end, to);
    else this.udp.sendNow(data.subarray(start, end), to, ttl);
  }

  /** Keep one timer armed for the node's next deadline. */
  private rearm(): void {
    if (this.stopped) return;
    const due = this.node.nextDeadline();
    if (due >= this.timerDue - 1 && this.timer !== null) return;
    if (this.timer !== null) clearTimeout(this.timer);
    if (!Number.isFinite(due)) {
      this.timer = null;
      this.timerDue = Infinity;
      return;
    }
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerDue = Infinity;
      const t0 = STAGE_TIMING ? stageStart() : 0;
      try {
        this.node.tick();
      } catch (e) {
        consola.error(`node timer: ${(e as Error).stack ?? e}`);
      }
      if (STAGE_TIMING) stageEnd(Stage.node_timer, t0);
      this.rearm();
    }, Math.max(0, due - this.opts.clock.now()));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    try {
      this.node.savePeers();
    } catch (e) {
      consola.warn(`could not save the peer cache: ${(e as Error).message}`);
    }
  }

  // --- API views -------------------------------------------------------------------------

  peers(): JsonObject[] {
    return this.node.peersInfo().map(peerJson);
  }

  peer(address: string): JsonObject | null {
    const a = addressFromString(address);
    if (a === null) return null;
    const p = this.node.getPeer(a);
    return p === null ? null : peerJson(this.node.peerInfo(p));
  }

  moons(): JsonObject[] {
    const out: JsonObject[] = this.node.moons.map(moonJson);
    for (const s of this.node.topology.moonSeeds) {
      if (!this.node.moons.some((m) => m.id === s.id)) out.push(waitingMoon(s.id));
    }
    return out;
  }

  moon(id: bigint): JsonObject | null {
    const m = this.node.moons.find((w) => w.id === id);
    if (m) return moonJson(m);
    return this.node.topology.moonSeeds.some((s) => s.id === id) ? waitingMoon(id) : null;
  }

  orbit(id: bigint, seed: number): JsonObject {
    this.node.orbit(id, seed);
    this.rearm();
    return this.moon(id) ?? waitingMoon(id);
  }

  deorbit(id: bigint): boolean {
    const had = this.node.deorbit(id);
    const removed = removeMoonFile(this.opts.home, id);
    return had || removed;
  }

  private registerMetrics(m: MetricsRegistry): void {
    const s = this.node.stats;
    const packets = m.counter("zt_packet", "ZeroTier packets by verb and direction", ["direction", "packet_type"]);
    packets.collect = (metric) => {
      for (let v = 0; v < 32; v++) {
        const name = VERB_NAMES[v];
        if (name === undefined || name === null) continue;
        const label = name.toLowerCase();
        if (s.packetsIn[v]! > 0) metric.labels("rx", label).set(s.packetsIn[v]!);
        if (s.packetsOut[v]! > 0) metric.labels("tx", label).set(s.packetsOut[v]!);
      }
    };
    const drops = m.counter("zt_packet_drops", "Datagrams and packets dropped, by reason", ["reason"]);
    drops.collect = (metric) => {
      for (const r of DROP_REASONS) metric.labels(r).set(s.drops[r]);
    };
    const simple: [string, string, () => number][] = [
      ["zt_datagrams_received", "UDP datagrams received", () => s.datagramsIn],
      ["zt_datagrams_sent", "UDP datagrams sent", () => s.datagramsOut],
      ["zt_bytes_received", "UDP payload bytes received", () => s.bytesIn],
      ["zt_bytes_sent", "UDP payload bytes sent", () => s.bytesOut],
      ["zt_relayed", "Datagrams relayed for other nodes", () => s.relayed],
      ["zt_reassembled", "Packets reassembled from fragments", () => s.reassembled],
    ];
    for (const [name, help, get] of simple) m.counter(name, help).collect = (metric) => metric.labels().set(get());
    const peers = m.gauge("zt_peers", "Known peers by role", ["role"]);
    const paths = m.gauge("zt_peer_paths", "Paths to peers", ["state"]);
    const latency = m.gauge("zt_peer_latency_ms", "Latency to each peer with a known latency", ["node_id"]);
    peers.collect = () => {
      peers.clear();
      paths.clear();
      latency.clear();
      const counts = new Map<string, number>();
      let active = 0;
      let expired = 0;
      for (const p of this.node.peersInfo()) {
        counts.set(p.role, (counts.get(p.role) ?? 0) + 1);
        for (const path of p.paths) path.expired ? expired++ : active++;
        if (p.latency >= 0) latency.labels(p.address).set(p.latency);
      }
      for (const [role, n] of counts) peers.labels(role).set(n);
      paths.labels("active").set(active);
      paths.labels("expired").set(expired);
    };
    const online = m.gauge("zt_online", "1 when a root has been heard from within 500 s");
    online.collect = (metric) => metric.labels().set(this.node.online ? 1 : 0);
  }
}

function peerJson(p: PeerInfo): JsonObject {
  return { ...p, paths: p.paths.map((x) => ({ ...x })) };
}

function moonJson(w: World): JsonObject {
  return {
    id: w.id.toString(16).padStart(16, "0"),
    timestamp: Number(w.timestamp),
    signature: Buffer.from(w.signature).toString("hex"),
    updatesMustBeSignedBy: Buffer.from(w.updatesMustBeSignedBy).toString("hex"),
    roots: w.roots.map((r) => ({
      identity: r.identity.toString(false),
      stableEndpoints: r.stableEndpoints.map((e) => `${ipToString(e)}/${e.port}`),
    })),
    waiting: false,
  };
}

function waitingMoon(id: bigint): JsonObject {
  return { id: id.toString(16).padStart(16, "0"), roots: [], timestamp: 0, signature: null, updatesMustBeSignedBy: null, waiting: true };
}
