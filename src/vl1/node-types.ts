/**
 * The types a VL1 Node is built from and reports with: what it is given (wire, peer store, VL2
 * handler, events, options), what it reports (`/status`, `/peer`), and the per-packet receive
 * state handed to the verb handlers. node.ts re-exports all of them.
 */

import type { Address } from "./address.ts";
import type { Identity } from "./identity.ts";
import type { InetAddress } from "./inet-address.ts";
import type { Path } from "./path.ts";
import type { Peer } from "./peer.ts";
import type { PeerRole } from "./topology.ts";
import type { TrustedPathConf } from "./trusted-path-ids.ts";
import type { World } from "./world.ts";
import type { Clock } from "../util/clock.ts";
import type { Rng } from "../util/random.ts";

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
  /** Physical networks where packets travel unencrypted under a shared ID (cipher suite 2). */
  trustedPaths?: readonly TrustedPathConf[];
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
