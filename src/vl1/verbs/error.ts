/**
 * ERROR (spec 4.2). VL1 acts only on IDENTITY_COLLISION in reply to our HELLO from a root; errors
 * about VL2 requests (network not found, access denied, need certificate…) go to VL2; the rest is
 * ignored, as in 1.14.
 */

import type { Node, RxState } from "../node.ts";
import { ErrorCode, IDX_PAYLOAD, Verb } from "../packet.ts";

export function handleError(node: Node, rx: RxState): boolean {
  const p = rx.start + IDX_PAYLOAD;
  if (rx.end - p < 10) {
    node.stats.drop("malformed");
    return false;
  }
  const inReVerb = rx.buf[p]! & 0x1f;
  const code = rx.buf[p + 9]!;
  switch (inReVerb) {
    case Verb.HELLO:
      if (code === ErrorCode.IDENTITY_COLLISION && node.topology.isUpstream(rx.peer.address)) node.identityCollision();
      return false;
    case Verb.WHOIS:
    case Verb.ECHO:
    case Verb.RENDEZVOUS:
    case Verb.PUSH_DIRECT_PATHS:
    case Verb.NOP:
      return false;
    default:
      return node.toVl2(rx.peer, Verb.ERROR, rx.buf, rx.start, rx.end);
  }
}
