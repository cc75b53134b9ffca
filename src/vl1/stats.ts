/**
 * VL1 counters: plain numbers the service exports as Prometheus metrics (zerotier-one's
 * `zt_packet{direction,packet_type}` and our `drops by reason`). Counting is a property increment,
 * so the hot path allocates nothing.
 */

import { VERB_NAMES } from "./packet.ts";

/** Why a datagram or packet was not processed. Every early return in the receive path names one. */
export const DROP_REASONS = [
  "too_short",
  "beacon",
  "from_self",
  "bad_source",
  "relay_not_allowed",
  "relay_max_hops",
  "relay_no_route",
  "fragment_invalid",
  "fragment_duplicate",
  "fragment_too_long",
  "cipher_unsupported",
  "path_not_trusted",
  "mac_failed",
  "decompress_failed",
  "malformed",
  "unknown_peer_queue_timeout",
  "unknown_peer_queue_overflow",
  "hello_old_protocol",
  "hello_address_mismatch",
  "hello_rate_limited",
  "hello_identity_invalid",
  "identity_collision",
  "ok_unexpected",
  "whois_rate_limited",
  "echo_rate_limited",
  "push_direct_paths_rate_limited",
  "rendezvous_not_upstream",
  "world_update_rejected",
  "send_no_path",
  "send_queue_timeout",
  "send_queue_overflow",
  "send_too_large",
  "send_to_self",
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export class Vl1Stats {
  /** Authenticated packets received, by verb code (0..31). */
  readonly packetsIn = new Float64Array(32);
  /** Packets sent (armored, before fragmentation), by verb code. */
  readonly packetsOut = new Float64Array(32);
  readonly drops: Record<DropReason, number>;
  datagramsIn = 0;
  datagramsOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  /** Datagrams forwarded for other nodes (we are a root, or the path is trusted). */
  relayed = 0;
  /** Packets that arrived in fragments and were reassembled. */
  reassembled = 0;
  /** Packets we sent in more than one datagram. */
  fragmentedOut = 0;
  whoisSent = 0;
  rendezvousSent = 0;

  constructor() {
    const d = {} as Record<DropReason, number>;
    for (const r of DROP_REASONS) d[r] = 0;
    this.drops = d;
  }

  drop(reason: DropReason): void {
    this.drops[reason]++;
  }

  totalDrops(): number {
    let n = 0;
    for (const r of DROP_REASONS) n += this.drops[r];
    return n;
  }

  /** Lower-case verb name as zerotier-one labels `packet_type` ("hello", "ok", ...), or "unknown". */
  static verbLabel(code: number): string {
    const n = VERB_NAMES[code & 0x1f];
    return n === null || n === undefined ? "unknown" : n.toLowerCase();
  }
}
