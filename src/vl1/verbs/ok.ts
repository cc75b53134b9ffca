/**
 * OK dispatch (spec 4.2). The node has already checked that the in-re packet ID is one we are
 * expecting; VL1 handles replies to HELLO and WHOIS, everything else (including OK(ECHO), which
 * 1.14 also uses to acknowledge NETWORK_CONFIG) goes to VL2.
 */

import type { Node, RxState } from "../node.ts";
import { Verb } from "../packet.ts";
import { handleOkHello } from "./hello.ts";
import { handleOkWhois } from "./whois.ts";

export function handleOk(node: Node, rx: RxState, inReVerb: number): boolean {
  switch (inReVerb) {
    case Verb.HELLO:
      return handleOkHello(node, rx);
    case Verb.WHOIS:
      return handleOkWhois(node, rx);
    default:
      return node.toVl2(rx.peer, Verb.OK, rx.buf, rx.start, rx.end);
  }
}
