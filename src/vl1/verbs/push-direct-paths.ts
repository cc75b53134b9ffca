/**
 * PUSH_DIRECT_PATHS (spec 4.16, 8.8): addresses where a peer may reach us directly. Receiving is
 * flood-gated per peer (≤ 8 pushes in 30 s bursts) and per push (≤ 8 addresses per scope and
 * family); each acceptable address we have no live path to gets an ECHO/HELLO.
 */

import type { InetAddress } from "../inet-address.ts";
import { endpointsEqual, ipScope } from "../ip-scope.ts";
import type { Node, RxState } from "../node.ts";
import { SEND_COMPRESS } from "../node.ts";
import { IDX_PAYLOAD, Verb } from "../packet.ts";
import type { Peer } from "../peer.ts";
import { readU16, writeU16 } from "./wire-util.ts";

const FLAG_FORGET_PATH = 0x01;
/** ZT_PUSH_DIRECT_PATHS_MAX_PER_SCOPE_AND_FAMILY */
const MAX_PER_SCOPE_AND_FAMILY = 8;
/** Keep each push packet under this size. */
const PUSH_PACKET_BUDGET = 1200;

const perScope = new Uint8Array(16);

export function handlePushDirectPaths(node: Node, rx: RxState): void {
  const { buf, start, end, peer } = rx;
  const now = node.now();
  if (!peer.rateGatePushDirectPaths(now)) return node.stats.drop("push_direct_paths_rate_limited");
  let p = start + IDX_PAYLOAD;
  if (end - p < 2) return node.stats.drop("malformed");
  let count = readU16(buf, p);
  p += 2;
  perScope.fill(0);
  while (count-- > 0) {
    if (end - p < 5) return node.stats.drop("malformed");
    const flags = buf[p]!;
    const extLen = readU16(buf, p + 1);
    p += 3 + extLen;
    if (end - p < 2) return node.stats.drop("malformed");
    const type = buf[p]!;
    const len = buf[p + 1]!;
    p += 2;
    if (end - p < len) return node.stats.drop("malformed");
    let a: InetAddress | null = null;
    if (type === 4 && len === 6) a = { family: 4, ip: buf.slice(p, p + 4), port: readU16(buf, p + 4) };
    else if (type === 6 && len === 18) a = { family: 6, ip: buf.slice(p, p + 16), port: readU16(buf, p + 16) };
    p += len;
    if (a === null || (flags & FLAG_FORGET_PATH) !== 0) continue;
    if (peer.hasActivePathTo(now, a) || !node.shouldUsePath(peer.address, a)) continue;
    const slot = ipScope(a) * 2 + (a.family === 4 ? 0 : 1);
    if (++perScope[slot]! > MAX_PER_SCOPE_AND_FAMILY) continue;
    node.attemptToContactAt(peer, -1, a, false);
  }
}

/** Our local interface addresses then our externally reported ones, split into ~1200-byte packets. */
export function sendPushDirectPaths(node: Node, peer: Peer, localSocket: number, via: InetAddress): void {
  const addrs: InetAddress[] = [];
  for (const a of [...node.localInterfaceAddresses, ...node.selfAwareness.surfaceAddresses()]) {
    if (!addrs.some((x) => endpointsEqual(x, a))) addrs.push(a);
  }
  let i = 0;
  while (i < addrs.length) {
    const tx = node.tx;
    node.writeTxHeader(peer.address, Verb.PUSH_DIRECT_PATHS);
    let o = IDX_PAYLOAD + 2;
    let n = 0;
    while (i < addrs.length && o + 24 <= IDX_PAYLOAD + PUSH_PACKET_BUDGET) {
      const a = addrs[i++]!;
      tx[o++] = 0; // flags
      writeU16(tx, o, 0); // no extensions
      o += 2;
      tx[o++] = a.family;
      tx[o++] = a.ip.length + 2;
      tx.set(a.ip, o);
      o += a.ip.length;
      writeU16(tx, o, a.port);
      o += 2;
      n++;
    }
    writeU16(tx, IDX_PAYLOAD, n);
    node.sendPrepared(peer, o, -1, SEND_COMPRESS, localSocket, via);
  }
}
