/**
 * RENDEZVOUS (spec 4.5, 8.6). A root that relays between two peers tells each where the other is;
 * the receiver (only believing upstreams) sends 4 junk bytes with TTL 2 to open its own NAT, then
 * contacts the named peer there (ECHO, or HELLO for peers too old or of unknown version).
 */

import { readAddress, writeAddress } from "../address.ts";
import type { InetAddress } from "../inet-address.ts";
import type { Node, RxState } from "../node.ts";
import { IDX_PAYLOAD, Verb } from "../packet.ts";
import type { Peer } from "../peer.ts";
import { readU16, writeU16 } from "./wire-util.ts";

const junk = new Uint8Array(4);

export function sendRendezvous(node: Node, to: Peer, other: number, at: InetAddress): boolean {
  const tx = node.tx;
  node.writeTxHeader(to.address, Verb.RENDEZVOUS);
  let o = IDX_PAYLOAD;
  tx[o++] = 0;
  writeAddress(tx, o, other);
  o += 5;
  writeU16(tx, o, at.port);
  o += 2;
  tx[o++] = at.ip.length;
  tx.set(at.ip, o);
  o += at.ip.length;
  node.stats.rendezvousSent++;
  return node.sendPrepared(to, o, -1, 0, -2, null);
}

export function handleRendezvous(node: Node, rx: RxState): void {
  const { buf, start, end, peer } = rx;
  if (!node.topology.isUpstream(peer.address)) return node.stats.drop("rendezvous_not_upstream");
  const p = start + IDX_PAYLOAD;
  if (end - p < 9) return node.stats.drop("malformed");
  const withAddr = readAddress(buf, p + 1);
  const port = readU16(buf, p + 6);
  const alen = buf[p + 8]!;
  if ((alen !== 4 && alen !== 16) || end - (p + 9) < alen) return node.stats.drop("malformed");
  const other = node.topology.get(withAddr);
  if (other === null || port === 0) return;
  const at: InetAddress =
    alen === 4 ? { family: 4, ip: buf.slice(p + 9, p + 13), port } : { family: 6, ip: buf.slice(p + 9, p + 25), port };
  if (!node.shouldUsePath(withAddr, at)) return;
  node.rng.fill(junk, 0, 4);
  node.wireSend(rx.localSocket, at, junk, 0, 4, 2);
  node.attemptToContactAt(other, rx.localSocket, at, false);
}
