/**
 * The VL1 node (spec 3, 4, 8): owns our identity and the topology, turns datagrams into
 * authenticated packets and dispatches them, sends packets over the best path (or through a root),
 * relays for others when it is a root, and runs the 1.14 timers.
 *
 * Everything outside is injected: the clock, the RNG, the wire (datagrams out), the peer store
 * (peers.d) and the VL2 handler (networks). How a service drives it:
 *   - construct with the identity (with private key), planet (+ moons), wire, store, events;
 *     `allowLoopbackPaths: true` only for single-host set-ups (1.14 never uses loopback paths);
 *   - every received UDP datagram → `onDatagram(localSocket, from, data)`; map the socket's
 *     (ip text, port) to `from` with an EndpointCache so nothing is allocated per datagram. The
 *     data buffer may be modified in place;
 *   - call `tick()` right after start and whenever `nextDeadline()` (clock ms) is reached; re-arm
 *     the timer after each batch of datagrams or sends (WHOIS retries want 500 ms granularity), or
 *     simply tick every ≤ 500 ms (cheap when nothing is due);
 *   - the wire gets `send(localSocket, to, data, start, end, ttl?)`: localSocket −1 = any socket
 *     of the right family; the bytes are valid only during the call (copy or send synchronously);
 *     ttl is 2 only for the RENDEZVOUS NAT-opening junk datagram;
 *   - `statusInfo()` and `peersInfo()` give the `/status` and `/peer` fields (spec 8.9), `stats`
 *     the counters for `/metrics`; `savePeers()` at shutdown; `events` report online changes,
 *     world updates (save `planet` / `moons.d`) and identity collisions;
 *   - VL2 registers with `setVl2Handler` and sends with `send(dest, verb, payload)` (or writes the
 *     payload into `tx` at IDX_PAYLOAD and calls `sendTxTo` to avoid the copy).
 *
 * Hot path: receive works in place in the caller's datagram buffer (or the reassembly / decompress
 * buffers); send builds into one preallocated packet buffer. Nothing per packet is allocated in
 * steady state except what node:crypto does for AES.
 */

import type { Clock } from "../util/clock.ts";
import type { Rng } from "../util/random.ts";
import { type Address, addressToString, isReservedAddress } from "./address.ts";
import { type ArmorSuite, armor, dearmor } from "./armor.ts";
import { PayloadCompression } from "./compress.ts";
import { ExpectReply } from "./expect-reply.ts";
import {
  DatagramKind,
  classifyDatagram,
  fragmentCount,
  fragmentDestination,
  fragmentHops,
  setFragmentHops,
  splitPacket,
} from "./fragment.ts";
import type { Identity } from "./identity.ts";
import type { InetAddress } from "./inet-address.ts";
import { inetAddressToString } from "./inet-address.ts";
import { ipScope, isAddressValidForPath, networkBucket } from "./ip-scope.ts";
import {
  DEFAULT_PHYSMTU,
  IDX_PAYLOAD,
  IDX_VERB,
  MAX_PACKET_LENGTH,
  MIN_PACKET_LENGTH,
  RELAY_MAX_HOPS,
  VERB_FLAG_COMPRESSED,
  VERB_MASK,
  Verb,
  cipher,
  destination,
  hops,
  isFragmented,
  packetIdHi,
  packetIdLo,
  setFragmented,
  setHops,
  source,
  writeHeader,
} from "./packet.ts";
import { LATENCY_UNKNOWN, NEVER, PATH_HEARTBEAT_PERIOD, PEER_PATH_EXPIRATION, type Path } from "./path.ts";
import { PEER_ACTIVITY_TIMEOUT, PEER_PING_PERIOD, Peer } from "./peer.ts";
import { type CachedPeer, decodePeerCache, encodePeerCache } from "./peer-cache.ts";
import { Reassembly, ReassemblyQueue } from "./reassembly.ts";
import { UniteGate } from "./relay.ts";
import { SelfAwareness } from "./self-awareness.ts";
import { Vl1Stats } from "./stats.ts";
import { type PeerRole, Topology } from "./topology.ts";
import { handleEcho } from "./verbs/echo.ts";
import { handleError } from "./verbs/error.ts";
import { handleHello, sendHello } from "./verbs/hello.ts";
import { handleOk } from "./verbs/ok.ts";
import { handlePushDirectPaths, sendPushDirectPaths } from "./verbs/push-direct-paths.ts";
import { handleRendezvous, sendRendezvous } from "./verbs/rendezvous.ts";
import { handleWhois, sendWhois } from "./verbs/whois.ts";
import { WaitQueue, WhoisRequests, WHOIS_RETRY_DELAY } from "./whois.ts";
import type { World } from "./world.ts";

/** ZT_PING_CHECK_INTERVAL */
export const PING_CHECK_INTERVAL = 5000;
/** ZT_HOUSEKEEPING_PERIOD */
export const HOUSEKEEPING_PERIOD = 30000;
/** ZT_IDENTITY_VALIDATION_SOURCE_RATE_LIMIT (x86-64 value). */
export const IDENTITY_VALIDATION_SOURCE_RATE_LIMIT = 2000;
const IDENTITY_VALIDATION_BUCKETS = 16384;
/** Bound on the paths a leaf checks before relaying (it relays only over trusted paths). */
const MAX_TRUSTED_PATHS = 256;

/** Datagrams out. `data[start, end)` is only valid during the call: copy it if you keep it. */
export interface Wire {
  /**
   * Send one UDP datagram. localSocket -1 = any suitable local socket. `ttl` is set only for the
   * NAT-opening junk packet of RENDEZVOUS (2); otherwise undefined (system default).
   */
  send(localSocket: number, to: InetAddress, data: Uint8Array, start: number, end: number, ttl?: number): void;
}

/** The peer cache (peers.d). Lookups must be cheap: keep an in-memory index of the directory. */
export interface PeerStore {
  loadPeer(address: Address): Uint8Array | null;
  savePeer(address: Address, data: Uint8Array): void;
}

/**
 * VL2's view of VL1: packets of the verbs VL1 does not handle itself (FRAME, EXT_FRAME, MULTICAST_*,
 * NETWORK_*, USER_MESSAGE, REMOTE_TRACE), plus OK and ERROR replies whose in-re verb is not a VL1 one.
 */
export interface Vl2Handler {
  /**
   * pkt[start, end) is the whole dearmored, decompressed packet (header at start, verb payload at
   * start + 28); only valid during the call. Return true if the packet established trust (it passed
   * a network's membership gate): that enables PUSH_DIRECT_PATHS to the peer (spec 8.8).
   */
  onPacket(peer: Peer, verb: number, pkt: Uint8Array, start: number, end: number): boolean;
}

export interface NodeEvents {
  onlineChanged?(online: boolean): void;
  /** A root told us our address is taken by another identity: the service should regenerate it. */
  identityCollision?(): void;
  /** A planet or moon was installed or updated: the service should save it. */
  worldUpdated?(world: World): void;
}

export interface NodeOptions {
  identity: Identity;
  clock: Clock;
  rng: Rng;
  wire: Wire;
  planet?: World | null;
  moons?: readonly World[];
  store?: PeerStore | null;
  events?: NodeEvents;
  /** Physical MTU (1400..10024), default 1432. */
  mtu?: number;
  /** Accept 127.0.0.0/8 and ::1 as paths (1.14 never does; single-host deployments and tests need it). */
  allowLoopbackPaths?: boolean;
  /** Extra veto on physical addresses (local.conf blacklists, addresses inside our own networks). */
  pathCheck?: (peer: Address, address: InetAddress) => boolean;
  /** Wall-clock milliseconds for the API's lastSend/lastReceive; default Date.now. */
  epochMs?: () => number;
}

/** Options of Node.send. */
export interface SendOptions {
  /** LZ4-compress the payload if that makes it smaller (1.14 does for control verbs, not frames). */
  compress?: boolean;
  /** Record the packet ID so the OK reply is accepted (requests: NETWORK_CONFIG_REQUEST, GATHER…). */
  expectReply?: boolean;
}

export const SEND_COMPRESS = 1;
export const SEND_EXPECT_REPLY = 2;

/** Fields of one entry of `/peer` (spec 8.9), times in wall-clock ms. */
export interface PeerInfo {
  address: string;
  versionMajor: number;
  versionMinor: number;
  versionRev: number;
  version: string;
  latency: number;
  role: PeerRole;
  isBonded: boolean;
  tunneled: boolean;
  paths: {
    address: string;
    lastSend: number;
    lastReceive: number;
    trustedPathId: number;
    active: boolean;
    expired: boolean;
    preferred: boolean;
    localSocket: number;
    localPort: number;
  }[];
}

export interface NodeStatus {
  address: string;
  publicIdentity: string;
  online: boolean;
  planetWorldId: number;
  planetWorldTimestamp: number;
  surfaceAddresses: string[];
}

/**
 * Per-packet receive state, one mutable instance reused for every packet. Handlers read what they
 * need before calling anything that may process another packet (identity arrivals replay queued
 * packets through the same instance).
 */
export interface RxState {
  peer: Peer;
  buf: Uint8Array;
  start: number;
  end: number;
  localSocket: number;
  from: InetAddress;
  hops: number;
  /** The peer's path this packet arrived on (hops 0 and already known), else null. */
  path: Path | null;
}

export class Node {
  readonly identity: Identity;
  readonly address: Address;
  readonly topology: Topology;
  readonly stats = new Vl1Stats();
  readonly expect = new ExpectReply();
  readonly selfAwareness = new SelfAwareness();
  readonly clock: Clock;
  readonly rng: Rng;
  readonly mtu: number;
  readonly allowLoopbackPaths: boolean;
  /** Packet build buffer: the header at 0, payload from IDX_PAYLOAD. Used by one send at a time. */
  readonly tx = new Uint8Array(MAX_PACKET_LENGTH);

  private readonly wire: Wire;
  private readonly store: PeerStore | null;
  private readonly events: NodeEvents;
  private readonly pathCheck: ((peer: Address, address: InetAddress) => boolean) | null;
  private readonly epochMs: () => number;
  private vl2: Vl2Handler | null = null;

  private readonly reassembly: ReassemblyQueue;
  private readonly compression = new PayloadCompression();
  /** Decompression needs a buffer with room for the expanded payload. */
  private readonly rxScratch = new Uint8Array(MAX_PACKET_LENGTH);
  private readonly fragScratch: Uint8Array;
  readonly rxWait = new WaitQueue();
  readonly txWait = new WaitQueue();
  private readonly whois = new WhoisRequests();
  private readonly unite = new UniteGate();
  private readonly identityGate = new Float64Array(IDENTITY_VALIDATION_BUCKETS).fill(NEVER);
  private localAddresses: InetAddress[] = [];

  /** Paths that carried trust-establishing traffic (pruned on housekeeping and to a fixed size). */
  private trustedPaths: Path[] = [];
  private lastPingCheck = NEVER;
  private lastHousekeeping: number;
  private lastTimerTasks = NEVER;
  private isOnline = false;
  private lastReceiveFromUpstream = NEVER;

  /** Reused receive state (see RxState). */
  private readonly rx: RxState;
  /** Target of the fragment sink while one packet is being split. */
  private sendSocket = -1;
  private sendTo: InetAddress | null = null;
  private readonly fragmentSink = (buf: Uint8Array, start: number, end: number): void => {
    this.wireSend(this.sendSocket, this.sendTo!, buf, start, end);
  };

  constructor(opts: NodeOptions) {
    if (!opts.identity.hasPrivate) throw new Error("Node needs an identity with its private key");
    this.identity = opts.identity;
    this.address = opts.identity.address;
    this.clock = opts.clock;
    this.rng = opts.rng;
    this.wire = opts.wire;
    this.store = opts.store ?? null;
    this.events = opts.events ?? {};
    this.pathCheck = opts.pathCheck ?? null;
    this.epochMs = opts.epochMs ?? (() => Date.now());
    this.allowLoopbackPaths = opts.allowLoopbackPaths ?? false;
    const mtu = opts.mtu ?? DEFAULT_PHYSMTU;
    this.mtu = Math.max(1400, Math.min(MAX_PACKET_LENGTH, mtu));
    this.fragScratch = new Uint8Array(this.mtu);
    this.reassembly = new ReassemblyQueue(this.clock);
    this.topology = new Topology(this.identity);
    if (opts.planet) this.topology.addWorld(opts.planet, { trustFirst: true });
    for (const m of opts.moons ?? []) this.topology.addWorld(m, { trustFirst: true });
    this.lastHousekeeping = this.clock.now();
    this.rx = { peer: null as unknown as Peer, buf: this.tx, start: 0, end: 0, localSocket: -1, from: NULL_ADDRESS, hops: 0, path: null };
  }

  // ---------------------------------------------------------------- public API

  setVl2Handler(h: Vl2Handler | null): void {
    this.vl2 = h;
  }

  now(): number {
    return this.clock.now();
  }

  get online(): boolean {
    return this.isOnline;
  }

  get planet(): World | null {
    return this.topology.planet;
  }

  get moons(): readonly World[] {
    return this.topology.moons;
  }

  /** Our local interface addresses (with the bound port), advertised in PUSH_DIRECT_PATHS. */
  setLocalAddresses(addrs: readonly InetAddress[]): void {
    this.localAddresses = [...addrs];
  }

  get localInterfaceAddresses(): readonly InetAddress[] {
    return this.localAddresses;
  }

  /** Orbit a moon: install it if given (from moons.d), else remember the seed and ask it (spec 5.3). */
  orbit(moonId: bigint, seed: Address, moon: World | null = null): void {
    if (moon !== null && this.topology.addWorld(moon, { trustFirst: true })) {
      this.events.worldUpdated?.(moon);
      return;
    }
    this.topology.addMoonSeed(moonId, seed);
    this.lastPingCheck = NEVER;
  }

  deorbit(moonId: bigint): boolean {
    return this.topology.removeMoon(moonId);
  }

  /**
   * Sends a packet with this verb and payload to `dest` (armored end to end, relayed through a root
   * when no direct path exists). Unknown destinations are WHOISed and the packet waits up to 5 s.
   * Returns false if it could not be sent or queued.
   */
  send(dest: Address, verb: number, payload: Uint8Array, start = 0, end = payload.length, opts: SendOptions = {}): boolean {
    const len = end - start;
    if (dest === this.address) {
      this.stats.drop("send_to_self");
      return false;
    }
    if (IDX_PAYLOAD + len > MAX_PACKET_LENGTH) {
      this.stats.drop("send_too_large");
      return false;
    }
    this.tx.set(payload.subarray(start, end), IDX_PAYLOAD);
    const flags = (opts.compress ? SEND_COMPRESS : 0) | (opts.expectReply ? SEND_EXPECT_REPLY : 0);
    return this.sendTxTo(dest, verb, IDX_PAYLOAD + len, flags);
  }

  /** On-wire packet ID halves of the last packet armored (for VL2 reply matching). */
  lastPacketIdHi = 0;
  lastPacketIdLo = 0;

  /** One UDP datagram arrived. `data[start, end)` may be modified in place. */
  onDatagram(localSocket: number, from: InetAddress, data: Uint8Array, start = 0, end = data.length): void {
    const st = this.stats;
    st.datagramsIn++;
    st.bytesIn += end - start;
    switch (classifyDatagram(data, start, end)) {
      case DatagramKind.FRAGMENT: {
        if (fragmentDestination(data, start) !== this.address) {
          this.relay(data, start, end, localSocket, from, true);
          return;
        }
        const r = this.reassembly.addFragment(data, start, end);
        if (r > 0) {
          st.reassembled++;
          this.processPacket(this.reassembly.out, 0, r, localSocket, from, false);
        } else this.reassemblyDrop(r);
        return;
      }
      case DatagramKind.HEAD: {
        if (destination(data, start) !== this.address) {
          this.relay(data, start, end, localSocket, from, false);
          return;
        }
        if (isFragmented(data, start)) {
          const r = this.reassembly.addHead(data, start, end);
          if (r > 0) {
            st.reassembled++;
            this.processPacket(this.reassembly.out, 0, r, localSocket, from, false);
          } else this.reassemblyDrop(r);
          return;
        }
        this.processPacket(data, start, end, localSocket, from, false);
        return;
      }
      case DatagramKind.BEACON:
        st.drop("beacon");
        return;
      default:
        st.drop("too_short");
    }
  }

  /** Runs due timers (pings, keepalives, WHOIS retries, housekeeping). Call at nextDeadline(). */
  tick(): void {
    const now = this.clock.now();
    if (now - this.lastTimerTasks >= WHOIS_RETRY_DELAY) {
      this.lastTimerTasks = now;
      this.timerTasks(now);
    }
    if (now - this.lastPingCheck >= PING_CHECK_INTERVAL) {
      this.lastPingCheck = now;
      this.pingPeers(now);
    }
    if (now - this.lastHousekeeping >= HOUSEKEEPING_PERIOD) {
      this.lastHousekeeping = now;
      this.housekeeping(now);
    }
  }

  /** Clock time at which tick() next has work. */
  nextDeadline(): number {
    let d = Math.min(this.lastPingCheck + PING_CHECK_INTERVAL, this.lastHousekeeping + HOUSEKEEPING_PERIOD);
    if (this.rxWait.count() > 0 || this.txWait.count() > 0) d = Math.min(d, this.lastTimerTasks + WHOIS_RETRY_DELAY);
    return d;
  }

  /** Writes every peer with an identity to the store (at shutdown). */
  savePeers(): void {
    for (const p of this.topology.peers.values()) this.savePeer(p);
  }

  getPeer(a: Address): Peer | null {
    return this.topology.get(a);
  }

  /**
   * The node's part of `/status` (spec 8.9); the service adds version, clock, config and
   * tcpFallbackActive. surfaceAddresses are "ip/port" strings as reported by other nodes.
   */
  statusInfo(): NodeStatus {
    const planet = this.topology.planet;
    return {
      address: addressToString(this.address),
      publicIdentity: this.identity.toString(false),
      online: this.isOnline,
      planetWorldId: planet === null ? 0 : Number(planet.id),
      planetWorldTimestamp: planet === null ? 0 : Number(planet.timestamp),
      surfaceAddresses: this.selfAwareness.surfaceAddresses().map(inetAddressToString),
    };
  }

  /** The `/peer` array (spec 8.9). */
  peersInfo(): PeerInfo[] {
    const out: PeerInfo[] = [];
    for (const p of this.topology.peers.values()) out.push(this.peerInfo(p));
    out.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
    return out;
  }

  peerInfo(p: Peer): PeerInfo {
    const now = this.clock.now();
    const epoch = this.epochMs();
    const best = p.bestPath(now, false);
    const wall = (t: number): number => (t <= NEVER ? 0 : Math.round(epoch - (now - t)));
    const known = p.remoteMajor >= 0;
    const latency = p.latency(now);
    return {
      address: addressToString(p.address),
      versionMajor: known ? p.remoteMajor : -1,
      versionMinor: known ? p.remoteMinor : -1,
      versionRev: known ? p.remoteRevision : -1,
      version: known ? `${p.remoteMajor}.${p.remoteMinor}.${p.remoteRevision}` : "-1.-1.-1",
      latency: latency >= LATENCY_UNKNOWN ? -1 : latency,
      role: this.topology.role(p.address),
      isBonded: false,
      tunneled: false,
      paths: p.paths.map((path) => ({
        address: inetAddressToString(path.address),
        lastSend: wall(path.lastOut),
        lastReceive: wall(path.lastIn),
        trustedPathId: 0,
        active: path.alive(now),
        expired: now - path.lastIn >= PEER_PATH_EXPIRATION,
        preferred: path === best,
        localSocket: path.localSocket,
        localPort: 0,
      })),
    };
  }

  // ---------------------------------------------------------------- receive

  private reassemblyDrop(r: number): void {
    if (r === Reassembly.PENDING) return;
    if (r === Reassembly.DUPLICATE) this.stats.drop("fragment_duplicate");
    else if (r === Reassembly.TOO_LONG) this.stats.drop("fragment_too_long");
    else this.stats.drop("fragment_invalid");
  }

  /** A complete (reassembled) packet addressed to us. `queued` = replayed from the wait queue. */
  private processPacket(buf: Uint8Array, start: number, end: number, localSocket: number, from: InetAddress, queued: boolean): void {
    const st = this.stats;
    const src = source(buf, start);
    if (src === this.address) return st.drop("from_self");
    if (isReservedAddress(src)) return st.drop("bad_source");
    const suite = cipher(buf, start);
    if (suite === 0 && (buf[start + IDX_VERB]! & VERB_MASK) === Verb.HELLO) {
      handleHello(this, buf, start, end, localSocket, from, null);
      return;
    }
    if (suite !== 0 && suite !== 1 && suite !== 3) return st.drop("cipher_unsupported");
    const peer = this.topology.get(src);
    if (peer === null) {
      if (queued) return;
      this.rxWait.put(src, buf, start, end, this.clock.now(), localSocket, from);
      this.requestWhois(src);
      return;
    }
    if (!dearmor(buf, start, end, peer.keys)) return st.drop("mac_failed");
    if ((buf[start + IDX_VERB]! & VERB_FLAG_COMPRESSED) !== 0) {
      const s = this.rxScratch;
      const n = end - start;
      for (let i = 0; i < n; i++) s[i] = buf[start + i]!;
      const e = this.compression.decompress(s, 0, n);
      if (e < 0) return st.drop("decompress_failed");
      buf = s;
      start = 0;
      end = e;
    }
    this.dispatch(peer, buf, start, end, localSocket, from);
  }

  private dispatch(peer: Peer, buf: Uint8Array, start: number, end: number, localSocket: number, from: InetAddress): void {
    const verb = buf[start + IDX_VERB]! & VERB_MASK;
    const now = this.clock.now();
    const rx = this.rx;
    rx.peer = peer;
    rx.buf = buf;
    rx.start = start;
    rx.end = end;
    rx.localSocket = localSocket;
    rx.from = from;
    rx.hops = hops(buf, start);
    rx.path = null;
    let inReVerb = -1;
    if (verb === Verb.OK) {
      if (end - start < IDX_PAYLOAD + 9) return this.stats.drop("malformed");
      if (!this.expect.isExpecting(packetIdHi(buf, start + IDX_PAYLOAD + 1))) return this.stats.drop("ok_unexpected");
      inReVerb = buf[start + IDX_PAYLOAD]! & VERB_MASK;
    }
    if (verb === Verb.HELLO) {
      // A HELLO under suite 1/3 from a known peer: already authenticated, handled (and counted) there.
      handleHello(this, buf, start, end, localSocket, from, peer);
      return;
    }
    this.stats.packetsIn[verb]++;
    // Path learning first, so handlers (OK(HELLO) latency) see the path the packet came over.
    const h = rx.hops;
    const path = this.noteReceived(peer, localSocket, from, h, verb, now);
    rx.path = path;
    // Handlers may replay queued packets (a WHOIS answer), which reuses `rx`: use locals below.
    let trusted = false;
    switch (verb) {
      case Verb.NOP:
        break;
      case Verb.ERROR:
        trusted = handleError(this, rx);
        break;
      case Verb.OK:
        trusted = handleOk(this, rx, inReVerb);
        break;
      case Verb.WHOIS:
        handleWhois(this, rx);
        break;
      case Verb.RENDEZVOUS:
        handleRendezvous(this, rx);
        break;
      case Verb.ECHO:
        handleEcho(this, rx);
        break;
      case Verb.PUSH_DIRECT_PATHS:
        handlePushDirectPaths(this, rx);
        break;
      case Verb.ACK:
      case Verb.QOS_MEASUREMENT:
      case Verb.PATH_NEGOTIATION_REQUEST:
        break; // bonding only
      default:
        trusted = this.toVl2(peer, verb, buf, start, end);
    }
    if (trusted) {
      peer.lastTrustEstablished = now;
      if (path !== null) {
        if (!path.trustEstablished(now)) {
          if (this.trustedPaths.length >= MAX_TRUSTED_PATHS) this.trustedPaths.shift();
          this.trustedPaths.push(path);
        }
        path.lastTrustedIn = now;
      }
    }
    if (peer.trustEstablished(now)) this.maybePushDirectPaths(peer, localSocket, from, h, now);
  }

  /**
   * @internal Liveness and path learning for an authenticated packet (spec 8.3): returns the known
   * path it came over, or null; probes a new direct address with HELLO.
   */
  noteReceived(peer: Peer, localSocket: number, from: InetAddress, h: number, verb: number, now: number): Path | null {
    const r = peer.received(now, localSocket, from, h, verb);
    if (this.topology.isUpstream(peer.address)) this.noteUpstreamReceive(now);
    if (r !== "new") return r;
    if (!this.shouldUsePath(peer.address, from)) return null;
    // Only a reply to something we sent proves the address; anything else gets a HELLO there.
    if (verb === Verb.OK) return peer.addPath(now, localSocket, from);
    if (peer.shouldProbe(now, localSocket, from)) this.attemptToContactAt(peer, localSocket, from, true);
    return null;
  }

  /** @internal Hands a packet to VL2; returns whether it established trust. */
  toVl2(peer: Peer, verb: number, buf: Uint8Array, start: number, end: number): boolean {
    if (this.vl2 === null) return false;
    return this.vl2.onPacket(peer, verb, buf, start, end);
  }

  // ---------------------------------------------------------------- relaying (spec 3.9)

  private relay(buf: Uint8Array, start: number, end: number, localSocket: number, from: InetAddress, isFragment: boolean): void {
    const st = this.stats;
    // Roots relay anything; leaves only what arrives over a path with established trust (a peer
    // that recently sent us traffic on a shared network, spec 3.9).
    if (!this.topology.amUpstream && !this.isTrustedEndpoint(localSocket, from)) return st.drop("relay_not_allowed");
    const h = isFragment ? fragmentHops(buf, start) : hops(buf, start);
    if (h >= RELAY_MAX_HOPS) return st.drop("relay_max_hops");
    if (isFragment) setFragmentHops(buf, start, h + 1);
    else setHops(buf, start, h + 1);
    const now = this.clock.now();
    const dest = isFragment ? fragmentDestination(buf, start) : destination(buf, start);
    const src = isFragment ? -1 : source(buf, start);
    if (!isFragment) {
      const srcPeer = this.topology.get(src);
      const srcPath = srcPeer === null ? null : srcPeer.findPath(localSocket, from);
      if (srcPath !== null) srcPath.lastRelayedIn = now;
    }
    const to = this.topology.get(dest);
    const direct = to === null ? null : to.bestPath(now, false);
    if (direct !== null && to !== null) {
      this.wireSend(direct.localSocket, direct.address, buf, start, end);
      direct.lastOut = now;
      st.relayed++;
      if (!isFragment && src !== this.address && this.unite.shouldUnite(now, src, dest)) this.uniteNodes(src, to, now);
      return;
    }
    const root = this.topology.bestRoot(now);
    if (root !== null && root.address !== src && root.address !== dest) {
      const p = root.bestPath(now, true);
      if (p !== null) {
        this.wireSend(p.localSocket, p.address, buf, start, end);
        p.lastOut = now;
        st.relayed++;
        return;
      }
    }
    st.drop("relay_no_route");
  }

  /** RENDEZVOUS both ends of a relayed conversation (spec 8.6), IPv6 preferred, random order. */
  private uniteNodes(srcAddr: Address, dest: Peer, now: number): void {
    const src = this.topology.get(srcAddr);
    if (src === null) return;
    const d = dest.rendezvousAddresses(now);
    const s = src.rendezvousAddresses(now);
    let toSrc: InetAddress | null = null;
    let toDest: InetAddress | null = null;
    if (d.v6 !== null && s.v6 !== null) {
      toSrc = d.v6;
      toDest = s.v6;
    } else if (d.v4 !== null && s.v4 !== null) {
      toSrc = d.v4;
      toDest = s.v4;
    }
    if (toSrc === null || toDest === null) return;
    if ((this.rng.u32() & 1) === 0) {
      sendRendezvous(this, src, dest.address, toSrc);
      sendRendezvous(this, dest, src.address, toDest);
    } else {
      sendRendezvous(this, dest, src.address, toDest);
      sendRendezvous(this, src, dest.address, toSrc);
    }
  }

  // ---------------------------------------------------------------- sending

  /** @internal Writes a fresh header (random packet ID) for a packet to `dest` into tx. */
  writeTxHeader(dest: Address, verb: number): void {
    writeHeader(this.tx, 0, this.rng.u32(), this.rng.u32(), dest, this.address, verb);
  }

  /**
   * @internal Sends tx[0, end) (payload already written at IDX_PAYLOAD) to a peer by address:
   * writes the header, queues it behind a WHOIS if the peer is unknown.
   */
  sendTxTo(dest: Address, verb: number, end: number, flags: number): boolean {
    const peer = this.topology.get(dest);
    this.writeTxHeader(dest, verb);
    if (peer === null) {
      // Queue first: the peer cache lookup inside requestWhois sends HELLOs (reusing tx) and then
      // flushes this queue if it knows the peer.
      this.txWait.put(dest, this.tx, 0, end, this.clock.now(), -1, null, flags);
      this.requestWhois(dest);
      return true;
    }
    return this.sendPrepared(peer, end, -1, flags, -2, null);
  }

  /**
   * @internal Armors and sends tx[0, end) whose header is written. suite -1 = the peer's suite (2.7).
   * viaAddress null = best path, else through a root, else any expired path (spec 3.9); otherwise
   * straight to that physical address (viaSocket -1 = any socket).
   */
  sendPrepared(peer: Peer, end: number, suite: number, flags: number, viaSocket: number, viaAddress: InetAddress | null): boolean {
    const now = this.clock.now();
    const tx = this.tx;
    if ((flags & SEND_COMPRESS) !== 0) end = this.compression.compress(tx, 0, end);
    let path: Path | null = null;
    let sock = viaSocket;
    let addr = viaAddress;
    if (addr === null) {
      path = peer.bestPath(now, false);
      if (path === null) {
        const root = this.topology.bestRoot(now);
        if (root !== null && root !== peer) path = root.bestPath(now, false);
      }
      if (path === null) path = peer.bestPath(now, true);
      if (path === null) {
        this.stats.drop("send_no_path");
        return false;
      }
      sock = path.localSocket;
      addr = path.address;
    } else {
      path = peer.findPath(sock, addr);
    }
    const s = (suite < 0 ? peer.suite : suite) as ArmorSuite;
    if (!this.armorAndSend(peer, tx, 0, end, s, flags, sock, addr)) return false;
    if (path !== null) path.lastOut = now;
    return true;
  }

  /** Fragment decision, armor, reply bookkeeping, datagrams out. */
  private armorAndSend(peer: Peer, pkt: Uint8Array, start: number, end: number, suite: ArmorSuite, flags: number, sock: number, addr: InetAddress): boolean {
    const total = fragmentCount(end - start, this.mtu);
    if (total < 0 || end - start < MIN_PACKET_LENGTH) {
      this.stats.drop("send_too_large");
      return false;
    }
    const verb = pkt[start + IDX_VERB]! & VERB_MASK;
    setFragmented(pkt, start, total > 1);
    armor(pkt, start, end, peer.keys, suite);
    this.lastPacketIdHi = packetIdHi(pkt, start);
    this.lastPacketIdLo = packetIdLo(pkt, start);
    if ((flags & SEND_EXPECT_REPLY) !== 0) this.expect.expect(this.lastPacketIdHi);
    this.stats.packetsOut[verb]++;
    if (total === 1) {
      this.wireSend(sock, addr, pkt, start, end);
    } else {
      this.stats.fragmentedOut++;
      this.sendSocket = sock;
      this.sendTo = addr;
      splitPacket(pkt, start, end, this.mtu, this.fragScratch, this.fragmentSink);
      this.sendTo = null;
    }
    return true;
  }

  /** @internal Raw datagram out (relays, junk). */
  wireSend(sock: number, addr: InetAddress, buf: Uint8Array, start: number, end: number, ttl?: number): void {
    this.stats.datagramsOut++;
    this.stats.bytesOut += end - start;
    this.wire.send(sock, addr, buf, start, end, ttl);
  }

  /** @internal ECHO (keepalive) or HELLO to a specific address (spec 4.5 "attempt contact"). */
  attemptToContactAt(peer: Peer, localSocket: number, address: InetAddress, fullHello: boolean): void {
    if (!fullHello && peer.echoCapable) {
      this.writeTxHeader(peer.address, Verb.ECHO);
      this.sendPrepared(peer, IDX_PAYLOAD, -1, SEND_EXPECT_REPLY, localSocket, address);
    } else {
      sendHello(this, peer, localSocket, address);
    }
  }

  /** @internal Whether a physical address may become a path to this peer (spec 8.3). */
  shouldUsePath(peer: Address, address: InetAddress): boolean {
    if (!isAddressValidForPath(address, this.allowLoopbackPaths)) return false;
    if (this.topology.isProhibitedEndpoint(peer, address)) return false;
    return this.pathCheck === null || this.pathCheck(peer, address);
  }

  /** @internal Rate gate for validating unknown identities: one per source /24 (/48) per 2 s. */
  rateGateIdentityVerification(from: InetAddress, now: number): boolean {
    const b = networkBucket(from, IDENTITY_VALIDATION_BUCKETS);
    if (now - this.identityGate[b]! >= IDENTITY_VALIDATION_SOURCE_RATE_LIMIT) {
      this.identityGate[b] = now;
      return true;
    }
    return false;
  }

  /** @internal Marks reception from an upstream for the online status. */
  noteUpstreamReceive(now: number): void {
    this.lastReceiveFromUpstream = now;
    if (!this.isOnline) this.setOnline(true);
  }

  /**
   * @internal Another node told us (HELLO / OK(HELLO), received directly) where it sees us. If a
   * root says our address changed, our paths in that scope and family are probably dead (new NAT
   * mapping): probe them and stop trusting them until they answer (spec 8.6).
   */
  surfaceReported(reporter: Address, localSocket: number, reporterAddress: InetAddress, surface: InetAddress, now: number): void {
    const trusted = this.topology.isUpstream(reporter);
    if (!this.selfAwareness.iam(reporter, localSocket, ipScope(reporterAddress), surface, trusted, now)) return;
    const scope = ipScope(surface);
    for (const peer of this.topology.peers.values()) {
      for (const path of [...peer.paths]) {
        if (path.address.family !== surface.family || path.scope !== scope) continue;
        this.attemptToContactAt(peer, path.localSocket, path.address, false);
        path.lastOut = now;
        path.lastIn = NEVER;
        path.lastRelayedIn = NEVER;
      }
    }
  }

  /** @internal A root reported an identity collision. */
  identityCollision(): void {
    this.events.identityCollision?.();
  }

  /** @internal A world came in an OK(HELLO) from an upstream (spec 5.3). */
  offerWorld(w: World): boolean {
    if (!this.topology.addWorld(w)) return false;
    this.events.worldUpdated?.(w);
    return true;
  }

  // ---------------------------------------------------------------- WHOIS (spec 8.5)

  /** @internal Ask the best root for an identity (rate limited), unless the peer cache knows it. */
  requestWhois(a: Address): void {
    if (a === this.address || this.topology.get(a) !== null) return;
    const now = this.clock.now();
    if (!this.whois.shouldSend(a, now)) return;
    const cached = this.loadCachedPeer(a);
    if (cached !== null) return;
    const root = this.topology.bestRoot(now);
    if (root === null || root.address === a) return;
    if (sendWhois(this, root, a)) this.stats.whoisSent++;
  }

  /** @internal A peer's identity is now known: replay what waited for it. */
  identityLearned(peer: Peer): void {
    this.whois.done(peer.address);
    for (const s of this.rxWait.slotsFor(peer.address)) {
      const sock = this.rxWait.localSocket[s]!;
      const from = this.rxWait.from[s]!;
      const len = this.rxWait.length[s]!;
      const buf = this.rxWait.buffer(s);
      this.rxWait.release(s);
      if (from !== null) this.processPacket(buf, 0, len, sock, from, true);
    }
    for (const s of this.txWait.slotsFor(peer.address)) {
      const len = this.txWait.length[s]!;
      const flags = this.txWait.flags[s]!;
      this.tx.set(this.txWait.buffer(s).subarray(0, len), 0);
      this.txWait.release(s);
      this.sendPrepared(peer, len, -1, flags, -2, null);
    }
  }

  // ---------------------------------------------------------------- peer cache

  private loadCachedPeer(a: Address): Peer | null {
    if (this.store === null || a === this.address) return null;
    const bytes = this.store.loadPeer(a);
    if (bytes === null) return null;
    const d = decodePeerCache(bytes);
    if (!d.ok || d.peer.identity.address !== a) return null;
    const peer = this.topology.addPeer(d.peer.identity);
    if (peer === null) return null;
    if (peer.remoteProtocol === 0) peer.setRemoteVersion(d.peer.protocol, d.peer.major, d.peer.minor, d.peer.revision);
    for (const addr of d.peer.addresses) if (this.shouldUsePath(a, addr)) sendHello(this, peer, -1, addr);
    this.identityLearned(peer);
    return peer;
  }

  private savePeer(p: Peer): void {
    if (this.store === null) return;
    const now = this.clock.now();
    const entry: CachedPeer = {
      identity: p.identity,
      protocol: p.remoteProtocol,
      major: p.remoteMajor,
      minor: p.remoteMinor,
      revision: p.remoteRevision,
      addresses: p.livePaths(now).map((x) => x.address),
    };
    try {
      this.store.savePeer(p.address, encodePeerCache(entry));
    } catch {
      // A failing disk must not take the node down; the cache is only an optimisation.
    }
  }

  // ---------------------------------------------------------------- timers (spec 8.2)

  private timerTasks(now: number): void {
    const expiredRx = this.rxWait.expire(now);
    const expiredTx = this.txWait.expire(now);
    for (let i = 0; i < expiredRx; i++) this.stats.drop("unknown_peer_queue_timeout");
    for (let i = 0; i < expiredTx; i++) this.stats.drop("send_queue_timeout");
    const overflowRx = this.rxWait.overflows;
    const overflowTx = this.txWait.overflows;
    this.stats.drops.unknown_peer_queue_overflow += overflowRx;
    this.stats.drops.send_queue_overflow += overflowTx;
    this.rxWait.overflows = 0;
    this.txWait.overflows = 0;
    if (this.rxWait.count() + this.txWait.count() > 0) {
      const waiting = new Set<Address>();
      this.rxWait.waitedFor(waiting);
      this.txWait.waitedFor(waiting);
      for (const a of waiting) this.requestWhois(a);
    }
  }

  private pingPeers(now: number): void {
    const always = new Map<Address, InetAddress[]>();
    for (const a of this.topology.upstreamAddresses) always.set(a, this.topology.stableEndpoints(a) ?? []);
    for (const s of this.topology.moonSeeds) if (s.seed !== this.address && !always.has(s.seed)) always.set(s.seed, []);
    const bestUpstream = this.topology.bestRoot(now);
    let lastUp = NEVER;
    for (const peer of this.topology.peers.values()) {
      const eps = always.get(peer.address);
      if (eps !== undefined) {
        always.delete(peer.address);
        const role = this.topology.role(peer.address);
        let scale = role === "LEAF" ? 2 : 16;
        if (role !== "LEAF" && peer.livePaths(now).length === 0) scale = 0;
        if (now - peer.lastSentFullHello > PATH_HEARTBEAT_PERIOD * scale) {
          const sent = this.doPingAndKeepalive(peer, now);
          let contacted = sent !== 0;
          if ((sent & 1) === 0 && this.helloRandomEndpoint(peer, eps, 4)) contacted = true;
          if ((sent & 2) === 0 && this.helloRandomEndpoint(peer, eps, 6)) contacted = true;
          if (!contacted && bestUpstream !== null && bestUpstream !== peer) {
            const up = bestUpstream.bestPath(now, true);
            if (up !== null) sendHello(this, peer, up.localSocket, up.address);
          }
        }
      } else if (peer.isActive(now)) {
        this.doPingAndKeepalive(peer, now);
      }
      if (this.topology.isUpstream(peer.address) && peer.lastReceive > lastUp) lastUp = peer.lastReceive;
    }
    for (const a of always.keys()) this.requestWhois(a);
    if (lastUp > this.lastReceiveFromUpstream) this.lastReceiveFromUpstream = lastUp;
    this.setOnline(now - this.lastReceiveFromUpstream < PEER_ACTIVITY_TIMEOUT || this.topology.amUpstream);
  }

  private helloRandomEndpoint(peer: Peer, eps: readonly InetAddress[], family: 4 | 6): boolean {
    if (eps.length === 0) return false;
    const off = this.rng.u32() % eps.length;
    for (let k = 0; k < eps.length; k++) {
      const e = eps[(off + k) % eps.length]!;
      if (e.family === family) {
        sendHello(this, peer, -1, e);
        return true;
      }
    }
    return false;
  }

  /** Keepalive for one peer: HELLO every 60 s or ECHO on paths idle 14 s; drops expired paths. Returns 1 (IPv4 sent) | 2 (IPv6 sent). */
  private doPingAndKeepalive(peer: Peer, now: number): number {
    const full = now - peer.lastSentFullHello >= PEER_PING_PERIOD;
    if (full) peer.lastSentFullHello = now;
    peer.expirePaths(now);
    let sent = 0;
    for (const path of [...peer.paths]) {
      if (full || path.needsHeartbeat(now)) {
        this.attemptToContactAt(peer, path.localSocket, path.address, full);
        path.lastOut = now;
        sent |= path.address.family === 4 ? 1 : 2;
      }
    }
    return sent;
  }

  private housekeeping(now: number): void {
    for (const [a, p] of this.topology.peers) {
      if (!p.isAlive(now) && !this.topology.isUpstream(a) && !this.topology.moonSeeds.some((s) => s.seed === a)) {
        this.savePeer(p);
        this.topology.remove(a);
      }
    }
    this.pruneTrustedPaths(now);
    this.selfAwareness.clean(now);
    this.unite.clean(now);
    this.whois.expire(now);
  }

  private isTrustedEndpoint(localSocket: number, from: InetAddress): boolean {
    const now = this.clock.now();
    for (const p of this.trustedPaths) if (p.trustEstablished(now) && p.is(localSocket, from)) return true;
    return false;
  }

  private pruneTrustedPaths(now: number): void {
    this.trustedPaths = this.trustedPaths.filter((p) => p.trustEstablished(now));
    if (this.trustedPaths.length > MAX_TRUSTED_PATHS) this.trustedPaths.splice(0, this.trustedPaths.length - MAX_TRUSTED_PATHS);
  }

  private setOnline(on: boolean): void {
    if (on === this.isOnline) return;
    this.isOnline = on;
    this.events.onlineChanged?.(on);
  }

  private maybePushDirectPaths(peer: Peer, localSocket: number, from: InetAddress, h: number, now: number): void {
    const interval = h === 0 ? 120000 : 15000;
    if (now - peer.lastDirectPathPushSent < interval) return;
    if (this.localAddresses.length === 0 && this.selfAwareness.surfaceAddresses().length === 0) return;
    peer.lastDirectPathPushSent = now;
    sendPushDirectPaths(this, peer, localSocket, from);
  }
}

const NULL_ADDRESS: InetAddress = { family: 4, ip: new Uint8Array(4), port: 0 };
