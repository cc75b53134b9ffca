/**
 * What a connection needs from the TcpLayer that owns it. Kept as an interface so connection.ts
 * does not import the layer (and tests could drive a connection alone).
 */
import type { Clock } from "../../util/clock.ts";
import type { Ipv4Output } from "../link.ts";
import type { TcpHeaderFields, TcpSegmentView } from "../wire/tcp.ts";
import type { Connection } from "./connection.ts";
import type { TcpLayerOptions } from "./options.ts";

export interface TcpHost {
  readonly clock: Clock;
  /** clock.now(), read once per input segment / poll and reused while it is processed. */
  now(): number;
  readonly opts: TcpLayerOptions;
  readonly ip: Ipv4Output;
  /** Shared transmit buffer: a segment is built at TRANSPORT_HEADROOM and sent before reuse. */
  readonly txBuf: Uint8Array;
  /** Shared header fields for the segment being built. */
  readonly hdr: TcpHeaderFields;
  /** conn.deadline changed. */
  timerChanged(conn: Connection): void;
  /** conn.events got new bits: deliver them after the current input/timer. */
  queueEvents(conn: Connection): void;
  /** A passive connection completed its handshake: move it to its listener's accept queue. Returns false when the queue is full. */
  passiveEstablished(conn: Connection): boolean;
  /** The connection is gone: remove it from the tables, free its port and buffers' accounting. */
  release(conn: Connection): void;
  /** Account a change of a connection's buffer sizes; false if it would exceed the memory limit. */
  adjustBufferBytes(delta: number): boolean;
  /** Send this connection's ACK at the end of the current input batch (opts.ackCoalescing). */
  deferAck(conn: Connection): void;
  /** RFC 5961 10: may another challenge ACK be sent now? */
  challengeAckAllowed(): boolean;
  /** Send a RST answering `seg` (RFC 9293 3.10.7.1 rules). */
  sendResetFor(seg: TcpSegmentView, src: number, dst: number): void;
  /** Counters. */
  readonly stats: TcpStats;
}

export interface TcpStats {
  segmentsIn: number;
  segmentsOut: number;
  retransmits: number;
  fastRetransmits: number;
  rtoTimeouts: number;
  tailLossProbes: number;
  spuriousRecoveries: number;
  spuriousRtos: number;
  lostRetransmits: number;
  badChecksum: number;
  malformed: number;
  resetsSent: number;
  resetsReceived: number;
  challengeAcks: number;
  synCookiesSent: number;
  synCookiesAccepted: number;
  listenOverflows: number;
  /** Outgoing connections that took over a 4-tuple from an old TIME_WAIT (tcp_tw_reuse). */
  timeWaitReused: number;
  pawsDropped: number;
  outOfWindow: number;
  connectionsRefusedLimit: number;
  handlerErrors: number;
}

export function newTcpStats(): TcpStats {
  return {
    segmentsIn: 0,
    segmentsOut: 0,
    retransmits: 0,
    fastRetransmits: 0,
    rtoTimeouts: 0,
    tailLossProbes: 0,
    spuriousRecoveries: 0,
    spuriousRtos: 0,
    lostRetransmits: 0,
    badChecksum: 0,
    malformed: 0,
    resetsSent: 0,
    resetsReceived: 0,
    challengeAcks: 0,
    synCookiesSent: 0,
    synCookiesAccepted: 0,
    listenOverflows: 0,
    timeWaitReused: 0,
    pawsDropped: 0,
    outOfWindow: 0,
    connectionsRefusedLimit: 0,
    handlerErrors: 0,
  };
}
