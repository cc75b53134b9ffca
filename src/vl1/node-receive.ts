/**
 * The receive pipeline of a Node (spec 3, 4): classify a datagram, reassemble fragments, relay
 * what is not for us, dearmor and decompress what is, learn paths, and dispatch by verb to the
 * VL1 handlers or to VL2. Works in place in the caller's buffer (or the reassembly / decompress
 * buffers) with one reused RxState: nothing is allocated per packet.
 */

import { isReservedAddress } from "./address.ts";
import { dearmor } from "./armor.ts";
import type { PayloadCompression } from "./compress.ts";
import { DatagramKind, classifyDatagram, fragmentDestination } from "./fragment.ts";
import type { InetAddress } from "./inet-address.ts";
import type { Node } from "./node.ts";
import { relayDatagram } from "./node-relay.ts";
import type { RxState } from "./node-types.ts";
import {
  CIPHER_NONE_TRUSTED_PATH,
  IDX_PAYLOAD,
  IDX_VERB,
  MAX_PACKET_LENGTH,
  VERB_FLAG_COMPRESSED,
  VERB_MASK,
  Verb,
  cipher,
  destination,
  hops,
  isFragmented,
  packetIdHi,
  source,
} from "./packet.ts";
import type { Peer } from "./peer.ts";
import { Reassembly, ReassemblyQueue } from "./reassembly.ts";
import type { UniteGate } from "./relay.ts";
import type { TrustedPaths } from "./trusted-paths.ts";
import { handleEcho } from "./verbs/echo.ts";
import { handleError } from "./verbs/error.ts";
import { handleHello } from "./verbs/hello.ts";
import { handleOk } from "./verbs/ok.ts";
import { handlePushDirectPaths, sendPushDirectPaths } from "./verbs/push-direct-paths.ts";
import { handleRendezvous } from "./verbs/rendezvous.ts";
import { handleWhois } from "./verbs/whois.ts";
import { Stage, STAGE_TIMING, stageEnd, stageStart } from "../util/stage-timing.ts";

export class Receiver {
  private readonly node: Node;
  private readonly compression: PayloadCompression;
  private readonly trusted: TrustedPaths;
  private readonly unite: UniteGate;
  private readonly reassembly: ReassemblyQueue;
  /** Decompression needs a buffer with room for the expanded payload. */
  private readonly rxScratch = new Uint8Array(MAX_PACKET_LENGTH);
  /** Reused receive state (see RxState), made by the first packet dispatched (it needs a peer). */
  private rx: RxState | null = null;

  constructor(node: Node, compression: PayloadCompression, trusted: TrustedPaths, unite: UniteGate) {
    this.node = node;
    this.compression = compression;
    this.trusted = trusted;
    this.unite = unite;
    this.reassembly = new ReassemblyQueue(node.clock);
  }

  /** See Node.onDatagram. */
  onDatagram(localSocket: number, from: InetAddress, data: Uint8Array, start: number, end: number): void {
    const node = this.node;
    const st = node.stats;
    st.datagramsIn++;
    st.bytesIn += end - start;
    switch (classifyDatagram(data, start, end)) {
      case DatagramKind.FRAGMENT: {
        if (fragmentDestination(data, start) !== node.address) {
          relayDatagram(node, this.trusted, this.unite, data, start, end, localSocket, from, true);
          return;
        }
        const r = this.reassembly.addFragment(data, start, end);
        if (r > 0) {
          st.reassembled++;
          this.processPacket(this.reassembly.out, 0, r, localSocket, from, false);
        } else this.reassemblyDrop(r);
        return;
      }
      case DatagramKind.HEAD: {
        if (destination(data, start) !== node.address) {
          relayDatagram(node, this.trusted, this.unite, data, start, end, localSocket, from, false);
          return;
        }
        if (isFragmented(data, start)) {
          const r = this.reassembly.addHead(data, start, end);
          if (r > 0) {
            st.reassembled++;
            this.processPacket(this.reassembly.out, 0, r, localSocket, from, false);
          } else this.reassemblyDrop(r);
          return;
        }
        this.processPacket(data, start, end, localSocket, from, false);
        return;
      }
      case DatagramKind.BEACON:
        st.drop("beacon");
        return;
      default:
        st.drop("too_short");
    }
  }

  private reassemblyDrop(r: number): void {
    if (r === Reassembly.PENDING) return;
    const st = this.node.stats;
    if (r === Reassembly.DUPLICATE) st.drop("fragment_duplicate");
    else if (r === Reassembly.TOO_LONG) st.drop("fragment_too_long");
    else st.drop("fragment_invalid");
  }

  /** A complete (reassembled) packet addressed to us. `queued` = replayed from the wait queue. */
  processPacket(buf: Uint8Array, start: number, end: number, localSocket: number, from: InetAddress, queued: boolean): void {
    const node = this.node;
    const st = node.stats;
    const src = source(buf, start);
    if (src === node.address) return st.drop("from_self");
    if (isReservedAddress(src)) return st.drop("bad_source");
    const suite = cipher(buf, start);
    if (suite === 0 && (buf[start + IDX_VERB]! & VERB_MASK) === Verb.HELLO) {
      handleHello(node, buf, start, end, localSocket, from, null);
      return;
    }
    // Suite 2: no armor at all, accepted only from a configured trusted path with the same ID.
    const trustedPath = suite === CIPHER_NONE_TRUSTED_PATH;
    if (trustedPath && !node.trustedPathIds.inbound(buf, start, from)) return st.drop("path_not_trusted");
    if (!trustedPath && suite !== 0 && suite !== 1 && suite !== 3) return st.drop("cipher_unsupported");
    const peer = node.topology.get(src);
    if (peer === null) {
      if (queued) return;
      node.rxWait.put(src, buf, start, end, node.clock.now(), localSocket, from);
      node.requestWhois(src);
      return;
    }
    if (!trustedPath) {
      const t0 = STAGE_TIMING ? stageStart() : 0;
      const ok = dearmor(buf, start, end, peer.keys);
      if (STAGE_TIMING) stageEnd(Stage.dearmor, t0);
      if (!ok) return st.drop("mac_failed");
    }
    if ((buf[start + IDX_VERB]! & VERB_FLAG_COMPRESSED) !== 0) {
      const s = this.rxScratch;
      const n = end - start;
      for (let i = 0; i < n; i++) s[i] = buf[start + i]!;
      const e = this.compression.decompress(s, 0, n);
      if (e < 0) return st.drop("decompress_failed");
      buf = s;
      start = 0;
      end = e;
    }
    this.dispatch(peer, buf, start, end, localSocket, from);
  }

  private dispatch(peer: Peer, buf: Uint8Array, start: number, end: number, localSocket: number, from: InetAddress): void {
    const node = this.node;
    const verb = buf[start + IDX_VERB]! & VERB_MASK;
    const now = node.clock.now();
    let rx = this.rx;
    if (rx === null) {
      rx = { peer, buf, start, end, localSocket, from, hops: hops(buf, start), path: null };
      this.rx = rx;
    } else {
      rx.peer = peer;
      rx.buf = buf;
      rx.start = start;
      rx.end = end;
      rx.localSocket = localSocket;
      rx.from = from;
      rx.hops = hops(buf, start);
      rx.path = null;
    }
    let inReVerb = -1;
    if (verb === Verb.OK) {
      if (end - start < IDX_PAYLOAD + 9) return node.stats.drop("malformed");
      if (!node.expect.isExpecting(packetIdHi(buf, start + IDX_PAYLOAD + 1))) return node.stats.drop("ok_unexpected");
      inReVerb = buf[start + IDX_PAYLOAD]! & VERB_MASK;
    }
    if (verb === Verb.HELLO) {
      // A HELLO under suite 1/3 from a known peer: already authenticated, handled (and counted) there.
      handleHello(node, buf, start, end, localSocket, from, peer);
      return;
    }
    node.stats.packetsIn[verb]++;
    // Path learning first, so handlers (OK(HELLO) latency) see the path the packet came over.
    const h = rx.hops;
    const path = node.noteReceived(peer, localSocket, from, h, verb, now);
    rx.path = path;
    // Handlers may replay queued packets (a WHOIS answer), which reuses `rx`: use locals below.
    let trusted = false;
    switch (verb) {
      case Verb.NOP:
        break;
      case Verb.ERROR:
        trusted = handleError(node, rx);
        break;
      case Verb.OK:
        trusted = handleOk(node, rx, inReVerb);
        break;
      case Verb.WHOIS:
        handleWhois(node, rx);
        break;
      case Verb.RENDEZVOUS:
        handleRendezvous(node, rx);
        break;
      case Verb.ECHO:
        handleEcho(node, rx);
        break;
      case Verb.PUSH_DIRECT_PATHS:
        handlePushDirectPaths(node, rx);
        break;
      case Verb.ACK:
      case Verb.QOS_MEASUREMENT:
      case Verb.PATH_NEGOTIATION_REQUEST:
        break; // bonding only
      default:
        trusted = node.toVl2(peer, verb, buf, start, end);
    }
    if (trusted) {
      peer.lastTrustEstablished = now;
      if (path !== null) this.trusted.noteTrusted(path, now);
    }
    if (peer.trustEstablished(now)) this.maybePushDirectPaths(peer, localSocket, from, h, now);
  }

  private maybePushDirectPaths(peer: Peer, localSocket: number, from: InetAddress, h: number, now: number): void {
    const node = this.node;
    const interval = h === 0 ? 120000 : 15000;
    if (now - peer.lastDirectPathPushSent < interval) return;
    if (node.localInterfaceAddresses.length === 0 && node.selfAwareness.surfaceAddresses().length === 0) return;
    peer.lastDirectPathPushSent = now;
    sendPushDirectPaths(node, peer, localSocket, from);
  }
}
