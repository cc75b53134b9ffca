/**
 * WHOIS and OK(WHOIS) (spec 4.4, 8.5). Roots answer everyone without a rate limit; others answer
 * at most every 100 ms per peer and ask their own root about addresses they do not know.
 * OK(WHOIS) is accepted only from an upstream and only its first identity is used (not
 * proof-of-work checked: the root is trusted).
 */

import { ADDRESS_LENGTH, isReservedAddress, readAddress, writeAddress } from "../address.ts";
import { IDENTITY_PUBLIC_SERIALIZED_LENGTH, Identity } from "../identity.ts";
import type { Node, RxState } from "../node.ts";
import { SEND_EXPECT_REPLY } from "../node.ts";
import { IDX_PAYLOAD, Verb, packetIdHi, packetIdLo, setPacketId } from "../packet.ts";
import type { Peer } from "../peer.ts";

/** OK header: in-re verb + in-re packet ID. */
const OK_HEADER = 9;

export function sendWhois(node: Node, root: Peer, a: number): boolean {
  node.writeTxHeader(root.address, Verb.WHOIS);
  writeAddress(node.tx, IDX_PAYLOAD, a);
  return node.sendPrepared(root, IDX_PAYLOAD + ADDRESS_LENGTH, -1, SEND_EXPECT_REPLY, -2, null);
}

export function handleWhois(node: Node, rx: RxState): void {
  const now = node.now();
  // Read everything first: requestWhois below may replay queued packets through the same rx.
  const { buf, start, end, peer, localSocket, from } = rx;
  const root = node.topology.amUpstream;
  if (!root && !peer.rateGateInboundWhois(now)) return node.stats.drop("whois_rate_limited");
  const tx = node.tx;
  const idHi = packetIdHi(buf, start);
  const idLo = packetIdLo(buf, start);
  // Collect the answers before building the reply in tx (requestWhois may send, and may even
  // replay queued packets into the receive buffers).
  const maxIds = Math.floor((node.mtu - IDX_PAYLOAD - OK_HEADER) / IDENTITY_PUBLIC_SERIALIZED_LENGTH);
  const found: Identity[] = [];
  for (let p = start + IDX_PAYLOAD; p + ADDRESS_LENGTH <= end && found.length < maxIds; p += ADDRESS_LENGTH) {
    const a = readAddress(buf, p);
    const id = a === node.address ? node.identity : (node.topology.get(a)?.identity ?? null);
    if (id !== null) found.push(id);
    else if (!root && !isReservedAddress(a)) node.requestWhois(a);
  }
  if (found.length === 0) return;
  node.writeTxHeader(peer.address, Verb.OK);
  let o = IDX_PAYLOAD;
  tx[o++] = Verb.WHOIS;
  setPacketId(tx, o, idHi, idLo);
  o += 8;
  for (const id of found) o += id.serializeInto(tx, o, false);
  node.sendPrepared(peer, o, -1, 0, localSocket, from);
}

export function handleOkWhois(node: Node, rx: RxState): boolean {
  if (!node.topology.isUpstream(rx.peer.address)) return false;
  const p = rx.start + IDX_PAYLOAD + OK_HEADER;
  const idr = Identity.deserialize(rx.buf, p, rx.end);
  if (!idr.ok || idr.identity.hasPrivate) {
    node.stats.drop("malformed");
    return false;
  }
  const id = idr.identity;
  if (isReservedAddress(id.address) || id.address === node.address) return false;
  const known = node.topology.get(id.address);
  if (known !== null) return false;
  const peer = node.topology.addPeer(id);
  if (peer !== null) node.identityLearned(peer);
  return false;
}
