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
 * steady state (suite 3 runs on libcrypto through ffi; only its node:crypto fallback allocates).
 *
 * This file holds the Node's state and API; the work is in its parts: node-receive.ts (datagram
 * in → dispatch), node-relay.ts (forwarding for others), node-transmit.ts (path choice, armor,
 * fragments out), node-upkeep.ts (timers), online-status.ts, trusted-paths.ts, node-info.ts
 * (`/status`, `/peer`); the exported types are in node-types.ts.
 */

import type { Clock } from "../util/clock.ts";
import type { Rng } from "../util/random.ts";
import type { Address } from "./address.ts";
import { PayloadCompression } from "./compress.ts";
import { ExpectReply } from "./expect-reply.ts";
import type { Identity } from "./identity.ts";
import type { InetAddress } from "./inet-address.ts";
import { ipScope, isAddressValidForPath, networkBucket } from "./ip-scope.ts";
import { nodeStatusInfo, peerInfoOf } from "./node-info.ts";
import { Receiver } from "./node-receive.ts";
import { Transmitter } from "./node-transmit.ts";
import {
  type NodeEvents,
  type NodeOptions,
  type NodeStatus,
  type PeerInfo,
  type PeerStore,
  SEND_COMPRESS,
  SEND_EXPECT_REPLY,
  type SendOptions,
  type Vl2Handler,
} from "./node-types.ts";
import { Upkeep } from "./node-upkeep.ts";
import { OnlineStatus } from "./online-status.ts";
import { DEFAULT_PHYSMTU, IDX_PAYLOAD, MAX_PACKET_LENGTH, Verb, writeHeader } from "./packet.ts";
import { NEVER, type Path } from "./path.ts";
import type { Peer } from "./peer.ts";
import { type CachedPeer, decodePeerCache, encodePeerCache } from "./peer-cache.ts";
import { UniteGate } from "./relay.ts";
import { SelfAwareness } from "./self-awareness.ts";
import { Vl1Stats } from "./stats.ts";
import { Topology } from "./topology.ts";
import { TrustedPathIds } from "./trusted-path-ids.ts";
import { TrustedPaths } from "./trusted-paths.ts";
import { sendHello } from "./verbs/hello.ts";
import { sendWhois } from "./verbs/whois.ts";
import { WaitQueue, WhoisRequests } from "./whois.ts";
import type { World } from "./world.ts";

export type { NodeEvents, NodeOptions, NodeStatus, PeerInfo, PeerStore, RxState, SendOptions, Vl2Handler, Wire } from "./node-types.ts";
export { SEND_COMPRESS, SEND_EXPECT_REPLY } from "./node-types.ts";
export { HOUSEKEEPING_PERIOD, PING_CHECK_INTERVAL } from "./node-upkeep.ts";

/** ZT_IDENTITY_VALIDATION_SOURCE_RATE_LIMIT (x86-64 value). */
export const IDENTITY_VALIDATION_SOURCE_RATE_LIMIT = 2000;
const IDENTITY_VALIDATION_BUCKETS = 16384;

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
  /** local.conf trusted paths (cipher suite 2). */
  readonly trustedPathIds: TrustedPathIds;
  /** Packet build buffer: the header at 0, payload from IDX_PAYLOAD. Used by one send at a time. */
  readonly tx = new Uint8Array(MAX_PACKET_LENGTH);
  readonly rxWait = new WaitQueue();
  readonly txWait = new WaitQueue();

  private readonly store: PeerStore | null;
  private readonly events: NodeEvents;
  private readonly pathCheck: ((peer: Address, address: InetAddress) => boolean) | null;
  private readonly epochMs: () => number;
  private vl2: Vl2Handler | null = null;
  private readonly whois = new WhoisRequests();
  private readonly identityGate = new Float64Array(IDENTITY_VALIDATION_BUCKETS).fill(NEVER);
  private localAddresses: InetAddress[] = [];
  private readonly onlineStatus: OnlineStatus;
  private readonly receiver: Receiver;
  private readonly transmitter: Transmitter;
  private readonly upkeep: Upkeep;

  constructor(opts: NodeOptions) {
    if (!opts.identity.hasPrivate) throw new Error("Node needs an identity with its private key");
    this.identity = opts.identity;
    this.address = opts.identity.address;
    this.clock = opts.clock;
    this.rng = opts.rng;
    this.store = opts.store ?? null;
    this.events = opts.events ?? {};
    this.pathCheck = opts.pathCheck ?? null;
    this.epochMs = opts.epochMs ?? (() => Date.now());
    this.allowLoopbackPaths = opts.allowLoopbackPaths ?? false;
    this.trustedPathIds = new TrustedPathIds(opts.trustedPaths);
    const mtu = opts.mtu ?? DEFAULT_PHYSMTU;
    this.mtu = Math.max(1400, Math.min(MAX_PACKET_LENGTH, mtu));
    this.topology = new Topology(this.identity);
    if (opts.planet) this.topology.addWorld(opts.planet, { trustFirst: true });
    for (const m of opts.moons ?? []) this.topology.addWorld(m, { trustFirst: true });
    // Compression state is shared: receive decompresses, send compresses, never at once.
    const compression = new PayloadCompression();
    const trusted = new TrustedPaths();
    const unite = new UniteGate();
    this.onlineStatus = new OnlineStatus((on) => this.events.onlineChanged?.(on));
    this.receiver = new Receiver(this, compression, trusted, unite);
    this.transmitter = new Transmitter(this, opts.wire, compression);
    this.upkeep = new Upkeep(this, { whois: this.whois, unite, trusted, online: this.onlineStatus, savePeer: (p) => this.savePeer(p) });
  }

  // ---------------------------------------------------------------- public API

  setVl2Handler(h: Vl2Handler | null): void {
    this.vl2 = h;
  }

  now(): number {
    return this.clock.now();
  }

  get online(): boolean {
    return this.onlineStatus.online;
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
    this.upkeep.pingSoon();
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
    this.receiver.onDatagram(localSocket, from, data, start, end);
  }

  /** Runs due timers (pings, keepalives, WHOIS retries, housekeeping). Call at nextDeadline(). */
  tick(): void {
    this.upkeep.tick();
  }

  /** Clock time at which tick() next has work. */
  nextDeadline(): number {
    return this.upkeep.nextDeadline();
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
    return nodeStatusInfo(this);
  }

  /** The `/peer` array (spec 8.9). */
  peersInfo(): PeerInfo[] {
    const out: PeerInfo[] = [];
    for (const p of this.topology.peers.values()) out.push(this.peerInfo(p));
    out.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
    return out;
  }

  peerInfo(p: Peer): PeerInfo {
    return peerInfoOf(this, p, this.epochMs);
  }

  // ---------------------------------------------------------------- receive side (for handlers)

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
    return this.transmitter.sendPrepared(peer, end, suite, flags, viaSocket, viaAddress);
  }

  /** @internal Raw datagram out (relays, junk). */
  wireSend(sock: number, addr: InetAddress, buf: Uint8Array, start: number, end: number, ttl?: number): void {
    this.transmitter.wireSend(sock, addr, buf, start, end, ttl);
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

  // ---------------------------------------------------------------- policy and events (for handlers)

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
    this.onlineStatus.upstreamReceived(now);
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
      if (from !== null) this.receiver.processPacket(buf, 0, len, sock, from, true);
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
}
