/**
 * The send path of a Node: choosing the physical path (direct, through a root, or any expired
 * path, spec 3.9), optional compression, armor, reply bookkeeping, fragmentation to the physical
 * MTU, and datagrams out. Works on the node's one packet buffer (`tx`) and one fragment buffer:
 * nothing is allocated per packet.
 */

import { type ArmorSuite, armor } from "./armor.ts";
import type { PayloadCompression } from "./compress.ts";
import { fragmentCount, splitPacket } from "./fragment.ts";
import type { InetAddress } from "./inet-address.ts";
import type { Node } from "./node.ts";
import { SEND_COMPRESS, SEND_EXPECT_REPLY, type Wire } from "./node-types.ts";
import { IDX_VERB, MIN_PACKET_LENGTH, VERB_MASK, Verb, packetIdHi, packetIdLo, setFragmented } from "./packet.ts";
import type { Path } from "./path.ts";
import type { Peer } from "./peer.ts";
import { Stage, STAGE_TIMING, stageEnd, stageStart } from "../util/stage-timing.ts";

export class Transmitter {
  private readonly node: Node;
  private readonly wire: Wire;
  private readonly compression: PayloadCompression;
  private readonly fragScratch: Uint8Array;
  /** Target of the fragment sink while one packet is being split. */
  private sendSocket = -1;
  private sendTo: InetAddress | null = null;
  private readonly fragmentSink = (buf: Uint8Array, start: number, end: number): void => {
    this.wireSend(this.sendSocket, this.sendTo!, buf, start, end);
  };

  constructor(node: Node, wire: Wire, compression: PayloadCompression) {
    this.node = node;
    this.wire = wire;
    this.compression = compression;
    this.fragScratch = new Uint8Array(node.mtu);
  }

  /** See Node.sendPrepared. */
  sendPrepared(peer: Peer, end: number, suite: number, flags: number, viaSocket: number, viaAddress: InetAddress | null): boolean {
    const node = this.node;
    const now = node.clock.now();
    const tx = node.tx;
    if ((flags & SEND_COMPRESS) !== 0) end = this.compression.compress(tx, 0, end);
    let path: Path | null = null;
    let sock = viaSocket;
    let addr = viaAddress;
    if (addr === null) {
      path = peer.bestPath(now, false);
      if (path === null) {
        const root = node.topology.bestRoot(now);
        if (root !== null && root !== peer) path = root.bestPath(now, false);
      }
      if (path === null) path = peer.bestPath(now, true);
      if (path === null) {
        node.stats.drop("send_no_path");
        return false;
      }
      sock = path.localSocket;
      addr = path.address;
    } else {
      path = peer.findPath(sock, addr);
    }
    const s = (suite < 0 ? peer.suite : suite) as ArmorSuite;
    const t0 = STAGE_TIMING ? stageStart() : 0;
    const sent = this.armorAndSend(peer, tx, 0, end, s, flags, sock, addr);
    if (STAGE_TIMING) stageEnd(Stage.vl1_send, t0);
    if (!sent) return false;
    if (path !== null) path.lastOut = now;
    return true;
  }

  /** Fragment decision, armor, reply bookkeeping, datagrams out. */
  private armorAndSend(
    peer: Peer,
    pkt: Uint8Array,
    start: number,
    end: number,
    suite: ArmorSuite,
    flags: number,
    sock: number,
    addr: InetAddress,
  ): boolean {
    const node = this.node;
    const mtu = node.mtu;
    const total = fragmentCount(end - start, mtu);
    if (total < 0 || end - start < MIN_PACKET_LENGTH) {
      node.stats.drop("send_too_large");
      return false;
    }
    const verb = pkt[start + IDX_VERB]! & VERB_MASK;
    setFragmented(pkt, start, total > 1);
    // Over a trusted path (local.conf trustedPathId) packets are marked instead of armored; HELLO
    // never is (zerotier-one sends it armored on every path).
    const trusted = verb === Verb.HELLO ? -1 : node.trustedPathIds.outbound(addr);
    if (trusted >= 0) node.trustedPathIds.mark(pkt, start, trusted);
    else {
      const t0 = STAGE_TIMING ? stageStart() : 0;
      armor(pkt, start, end, peer.keys, suite);
      if (STAGE_TIMING) stageEnd(Stage.armor, t0);
    }
    node.lastPacketIdHi = packetIdHi(pkt, start);
    node.lastPacketIdLo = packetIdLo(pkt, start);
    if ((flags & SEND_EXPECT_REPLY) !== 0) node.expect.expect(node.lastPacketIdHi);
    node.stats.packetsOut[verb]++;
    if (total === 1) {
      this.wireSend(sock, addr, pkt, start, end);
    } else {
      node.stats.fragmentedOut++;
      this.sendSocket = sock;
      this.sendTo = addr;
      splitPacket(pkt, start, end, mtu, this.fragScratch, this.fragmentSink);
      this.sendTo = null;
    }
    return true;
  }

  /** Raw datagram out (relays, junk, fragments), counted. */
  wireSend(sock: number, addr: InetAddress, buf: Uint8Array, start: number, end: number, ttl?: number): void {
    const st = this.node.stats;
    st.datagramsOut++;
    st.bytesOut += end - start;
    this.wire.send(sock, addr, buf, start, end, ttl);
  }
}
