/**
 * A physical path to a peer: (local socket, remote IP:port) plus its liveness and latency
 * (spec 8.1-8.3). Times are in the node's clock milliseconds; NEVER marks "not yet".
 */

import type { InetAddress } from "./inet-address.ts";
import { type IpScope, endpointsEqual, ipScope } from "./ip-scope.ts";

/** A time so far in the past that every "within N ms" test fails. */
export const NEVER = -1e15;

/** ZT_PATH_HEARTBEAT_PERIOD: keepalive if nothing was sent on a path for this long. */
export const PATH_HEARTBEAT_PERIOD = 14000;
/** A path is alive if something was received on it within this. */
export const PATH_ALIVE_TIMEOUT = PATH_HEARTBEAT_PERIOD + 5000;
/** ZT_PEER_PATH_EXPIRATION: path removed if nothing received on it for this long. */
export const PEER_PATH_EXPIRATION = 243000;
/** Unknown latency, as the reference's 0xffff. */
export const LATENCY_UNKNOWN = 0xffff;
/** ECHO replies per path at most every 1000/6 ms. */
export const ECHO_RATE_LIMIT = 1000 / 6;
/** ZT_TRUST_EXPIRATION */
export const TRUST_EXPIRATION = 600000;

export class Path {
  /** Last authenticated packet from the peer over this path (drives expiry). */
  lastIn = NEVER;
  /**
   * Last datagram a root relayed for the peer from this (already confirmed) address. 1.14 counts
   * any datagram from the address as a sign of life; we count only these, which roots cannot
   * authenticate but which come from a known path, so relaying keeps a leaf's path "alive" for
   * RENDEZVOUS without letting spoofed garbage do so.
   */
  lastRelayedIn = NEVER;
  lastOut = NEVER;
  lastTrustedIn = NEVER;
  lastEchoRequest = NEVER;
  latency: number = LATENCY_UNKNOWN;
  readonly scope: IpScope;

  constructor(
    readonly localSocket: number,
    readonly address: InetAddress,
  ) {
    this.scope = ipScope(address);
  }

  is(localSocket: number, address: InetAddress): boolean {
    return (this.localSocket === localSocket || localSocket < 0 || this.localSocket < 0) && endpointsEqual(this.address, address);
  }

  alive(now: number): boolean {
    return now - Math.max(this.lastIn, this.lastRelayedIn) < PATH_ALIVE_TIMEOUT;
  }

  needsHeartbeat(now: number): boolean {
    return now - this.lastOut >= PATH_HEARTBEAT_PERIOD;
  }

  trustEstablished(now: number): boolean {
    return now - this.lastTrustedIn < TRUST_EXPIRATION;
  }

  /** Running average of round-trip samples (first sample taken as is). */
  updateLatency(sample: number): void {
    if (!(sample >= 0) || sample >= LATENCY_UNKNOWN) return;
    const l = Math.round(sample);
    this.latency = this.latency >= LATENCY_UNKNOWN ? l : Math.round((this.latency + l) / 2);
  }

  /**
   * Lower is better (spec 8.3): latency, penalised by 65535 + age when nothing was received within
   * the alive window, times (8 − scope) so private paths win over global ones.
   */
  quality(now: number): number {
    const age = now - Math.max(this.lastIn, this.lastRelayedIn);
    let q = this.latency;
    if (age >= PATH_ALIVE_TIMEOUT) q += LATENCY_UNKNOWN + age;
    return q * (8 - this.scope);
  }

  rateGateEcho(now: number): boolean {
    if (now - this.lastEchoRequest >= ECHO_RATE_LIMIT) {
      this.lastEchoRequest = now;
      return true;
    }
    return false;
  }
}
