/**
 * ECHO (spec 4.8): reply OK(ECHO) with the request payload, rate limited per physical path.
 * 1.14 uses an empty ECHO as its path keepalive; the OK is what confirms a path.
 */

import type { Node, RxState } from "../node.ts";
import { IDX_PAYLOAD, Verb } from "../packet.ts";

export function handleEcho(node: Node, rx: RxState): void {
  const now = node.now();
  const gateOk = rx.path !== null ? rx.path.rateGateEcho(now) : rx.peer.rateGateEchoUnconfirmed(now);
  if (!gateOk) return node.stats.drop("echo_rate_limited");
  const { buf, start, end, peer } = rx;
  const tx = node.tx;
  const n = end - (start + IDX_PAYLOAD);
  if (IDX_PAYLOAD + 9 + n > tx.length) return node.stats.drop("malformed");
  // Copy the packet ID and payload before the header write reuses tx (buf is never tx here).
  node.writeTxHeader(peer.address, Verb.OK);
  let o = IDX_PAYLOAD;
  tx[o++] = Verb.ECHO;
  for (let i = 0; i < 8; i++) tx[o++] = buf[start + i]!;
  for (let i = start + IDX_PAYLOAD; i < end; ) tx[o++] = buf[i++]!;
  node.sendPrepared(peer, o, -1, 0, -2, null);
}
