/**
 * A network's Ethernet frames (spec 4.6, 4.7, 4.15, 7.6): from members to the port (gate, MAC
 * checks, inbound rules, the Ethernet header written in place in the packet) and from the port to
 * members (MAC checks, ARP to its ADI group, outbound rules, TEE/REDIRECT copies, credentials pushed
 * first, one copy into VL1's packet buffer). Reused views and buffers: nothing is allocated per frame.
 */
import { copyBytes } from "../../ffi/copy-bytes.ts";
import { IDX_PAYLOAD, Verb } from "../vl1/packet.ts";
import type { Address } from "../vl1/address.ts";
import { ExtFrameFlags, ExtFrameView, FrameView, parseExtFrame, parseFrame, writeExtFrameHeader, writeFrameHeader } from "./frame-codec.ts";
import { MAC_BROADCAST, type Mac, isMulticastMac, readMac, writeMac } from "./mac.ts";
import { MulticastFrameFlags, MulticastFrameView, parseMulticastFrame, writeOkMulticastFrame } from "./multicast-codec.ts";
import { BROADCAST_GROUP, type MulticastGroup, arpGroupForIpv4 } from "./multicast-group.ts";
import { type NetworkConfig, activeBridges, broadcastEnabled, multicastReplicators } from "./network-config.ts";
import { NEIGHBOR_ADVERTISEMENT_LENGTH, emulateNeighborSolicitation } from "./ndp-emulation.ts";
import type { Network } from "./network.ts";
import { MAX_MULTICAST_PAYLOAD, NO_CAPS, writeNwid } from "./network-state.ts";
import { FilterDecision, acceptsEveryFrame, filterFrame } from "./rules-filter.ts";
import { ETHERTYPE_ARP, ETHERTYPE_IPV6, type FrameInfo } from "./rules-engine.ts";

/** Reused description of the frame being filtered. */
function newFrameInfo(): FrameInfo {
  return { inbound: false, ztSource: 0, ztDest: 0, macSource: 0, macDest: 0, etherType: 0, vlanId: 0, frame: new Uint8Array(0), start: 0, end: 0 };
}

export class NetworkFrames {
  private readonly decision = new FilterDecision();
  private readonly fi = newFrameInfo();
  private readonly frameView = new FrameView();
  private readonly extView = new ExtFrameView();
  private readonly mcView = new MulticastFrameView();
  private readonly scratch = new Uint8Array(IDX_PAYLOAD + MAX_MULTICAST_PAYLOAD + 64);
  /** Ethernet frame of an emulated Neighbor Advertisement; ndpPacket views its IPv6 part. */
  private readonly ndpFrame = new Uint8Array(14 + NEIGHBOR_ADVERTISEMENT_LENGTH);
  private readonly ndpPacket = this.ndpFrame.subarray(14);

  constructor(private readonly net: Network) {}

  filterInbound(peer: Address, macSource: Mac, macDest: Mac, etherType: number, buf: Uint8Array, ps: number, end: number): FilterDecision {
    const c = this.net.config!;
    const fi = this.fi;
    fi.inbound = true;
    fi.ztSource = peer;
    fi.ztDest = macDest === this.net.mac ? this.net.env.address : 0;
    fi.macSource = macSource;
    fi.macDest = macDest;
    fi.etherType = etherType;
    fi.frame = buf;
    fi.start = ps;
    fi.end = end;
    const m = this.net.memberships.get(peer) ?? null;
    // the sender's capabilities matter only when the table can end without a decision
    const caps = m === null || acceptsEveryFrame(c.rules) ? NO_CAPS : this.net.peerCapabilities(m, c);
    const d = filterFrame(c.rules, caps, fi, this.net.ruleCtx!.use(c, m, true), this.decision);
    this.sendCopies(d, macDest, macSource, etherType, buf, ps, end);
    return d;
  }

  /** Common entry checks for a frame verb; false = dropped (counted). */
  admit(peer: Address, verb: number, pkt: Uint8Array, start: number): boolean {
    if (this.net.config === null) {
      this.net.drops.add("no config yet");
      return false;
    }
    if (!this.net.gate(peer)) {
      this.net.drops.add("sender is not a member (no agreeing COM)", peer.toString(16).padStart(10, "0"), "info");
      this.net.needCertificate(peer, verb, pkt, start);
      return false;
    }
    return true;
  }

  /** FRAME from a member. Returns true if the sender passed the gate. */
  onFrame(peer: Address, pkt: Uint8Array, start: number, end: number): boolean {
    const v = this.frameView;
    if (parseFrame(pkt, start + IDX_PAYLOAD, end, v) !== null) {
      this.net.drops.add("malformed FRAME");
      return false;
    }
    if (!this.admit(peer, Verb.FRAME, pkt, start)) return false;
    const now = this.net.env.clock.now();
    this.net.afterGate(peer, now);
    const src = this.net.macOf(peer);
    const d = this.filterInbound(peer, src, this.net.mac, v.etherType, pkt, v.payloadStart, v.payloadEnd);
    if (d.accept === 0) {
      this.net.drops.add(`inbound ${d.dropReason}`);
      return true;
    }
    if (d.redirectTo !== 0) {
      this.sendExtFrame(d.redirectTo, d.redirectFlags, this.net.mac, src, v.etherType, pkt, v.payloadStart, v.payloadEnd);
      return true;
    }
    this.deliver(pkt, v.payloadStart, v.payloadEnd, this.net.mac, src, v.etherType);
    return true;
  }

  /** EXT_FRAME from a member (bridged traffic, rule copies). */
  onExtFrame(peer: Address, pkt: Uint8Array, start: number, end: number): boolean {
    const v = this.extView;
    if (parseExtFrame(pkt, start + IDX_PAYLOAD, end, v) !== null) {
      this.net.drops.add("malformed EXT_FRAME");
      return false;
    }
    if (!this.admit(peer, Verb.EXT_FRAME, pkt, start)) return false;
    const c = this.net.config!;
    const now = this.net.env.clock.now();
    this.net.afterGate(peer, now);
    if (v.sourceMac === 0 || v.sourceMac === this.net.mac) {
      this.net.drops.add("EXT_FRAME with zero or our own source MAC");
      return true;
    }
    const peerMac = this.net.macOf(peer);
    if (v.sourceMac !== peerMac && !activeBridges(c).includes(peer)) {
      this.net.drops.add("bridged source MAC from a member that is not an active bridge");
      return true;
    }
    if (isMulticastMac(v.destMac) && c.multicastLimit === 0) {
      this.net.drops.add("multicast disabled");
      return true;
    }
    const d = this.filterInbound(peer, v.sourceMac, v.destMac, v.etherType, pkt, v.payloadStart, v.payloadEnd);
    if (d.accept === 0) {
      this.net.drops.add(`inbound ${d.dropReason}`);
      return true;
    }
    if (d.redirectTo !== 0) {
      this.sendExtFrame(d.redirectTo, d.redirectFlags, v.destMac, v.sourceMac, v.etherType, pkt, v.payloadStart, v.payloadEnd);
      return true;
    }
    if (v.destMac !== this.net.mac && !isMulticastMac(v.destMac) && d.accept !== 2) {
      this.net.drops.add("EXT_FRAME for another MAC (we are not a bridge)");
      return true;
    }
    // the EXT_FRAME body from the destination MAC on is an Ethernet frame already
    this.net.traffic.framesIn++;
    this.net.traffic.bytesIn += v.payloadEnd - v.payloadStart;
    this.net.port?.deliver.receiveFrame(pkt, v.payloadStart - 14, v.payloadEnd);
    if ((v.flags & ExtFrameFlags.ACK_REQUESTED) !== 0) {
      const out = this.scratch;
      out[0] = Verb.EXT_FRAME;
      out.set(pkt.subarray(start, start + 8), 1);
      writeNwid(out, 9, this.net.halves);
      this.net.env.send(peer, Verb.OK, out, 0, 17);
    }
    return true;
  }

  /** MULTICAST_FRAME from a member. */
  onMulticastFrame(peer: Address, pkt: Uint8Array, start: number, end: number): boolean {
    const v = this.mcView;
    if (parseMulticastFrame(pkt, start + IDX_PAYLOAD, end, v) !== null) {
      this.net.drops.add("malformed MULTICAST_FRAME");
      return false;
    }
    if (!this.admit(peer, Verb.MULTICAST_FRAME, pkt, start)) return false;
    const c = this.net.config!;
    const now = this.net.env.clock.now();
    this.net.afterGate(peer, now);
    const len = v.payloadEnd - v.payloadStart;
    if (c.multicastLimit === 0) return this.dropTrusted("multicast disabled");
    if (len === 0 || len > MAX_MULTICAST_PAYLOAD) return this.dropTrusted("multicast payload empty or too large");
    if (!isMulticastMac(v.group.mac)) return this.dropTrusted("multicast to a unicast MAC");
    const peerMac = this.net.macOf(peer);
    const src = v.sourceMac >= 0 ? v.sourceMac : peerMac;
    if (src === 0 || isMulticastMac(src) || src === this.net.mac) return this.dropTrusted("multicast with a bad source MAC");
    if (src !== peerMac && !activeBridges(c).includes(peer)) return this.dropTrusted("bridged multicast from a member that is not an active bridge");
    const group = v.group;
    const gatherLimit = v.gatherLimit;
    const d = this.filterInbound(peer, src, group.mac, v.etherType, pkt, v.payloadStart, v.payloadEnd);
    if (d.accept === 0) return this.dropTrusted(`inbound ${d.dropReason}`);
    this.net.traffic.multicastIn++;
    const pleaseReplicate = (v.flags & MulticastFrameFlags.PLEASE_REPLICATE) !== 0;
    const etherType = v.etherType;
    this.deliver(pkt, v.payloadStart, v.payloadEnd, group.mac, src, etherType);
    // a designated replicator re-sends to the group as if it were the sender (spec 4.15)
    if (pleaseReplicate && multicastReplicators(c).includes(this.net.env.address)) this.net.mc.sendMulticast(c, group, src, etherType, pkt, v.payloadStart, v.payloadEnd, peer);
    if (gatherLimit > 0) {
      const members = this.net.mc.membersFor(group, peer, gatherLimit, now);
      if (members.length > 0) {
        const out = this.scratch;
        out[0] = Verb.MULTICAST_FRAME;
        out.set(pkt.subarray(start, start + 8), 1);
        const n = writeOkMulticastFrame(out, 9, this.net.halves, group, members.length, members);
        this.net.env.send(peer, Verb.OK, out, 0, 9 + n, { compress: true });
      }
    }
    return true;
  }

  dropTrusted(reason: string): boolean {
    this.net.drops.add(reason);
    return true;
  }

  /** Writes the Ethernet header over the bytes before the payload and hands the frame to the port. */
  deliver(buf: Uint8Array, ps: number, end: number, dest: Mac, src: Mac, etherType: number): void {
    const h = ps - 14;
    writeMac(buf, h, dest);
    writeMac(buf, h + 6, src);
    buf[h + 12] = etherType >> 8;
    buf[h + 13] = etherType & 0xff;
    this.net.traffic.framesIn++;
    this.net.traffic.bytesIn += end - ps;
    this.net.port?.deliver.receiveFrame(buf, h, end);
  }

  /** An Ethernet frame from our side (buf[start, end), FRAME_HEADROOM free before start). */
  fromPort(buf: Uint8Array, start: number, end: number): void {
    const c = this.net.config;
    if (c === null || this.net.destroyed) {
      this.net.drops.add("outbound frame before config");
      return;
    }
    if (end - start < 14) {
      this.net.drops.add("outbound frame shorter than an Ethernet header");
      return;
    }
    const dest = readMac(buf, start);
    const src = readMac(buf, start + 6);
    const etherType = (buf[start + 12]! << 8) | buf[start + 13]!;
    const ps = start + 14;
    if (end - ps > c.mtu) {
      this.net.drops.add("outbound frame larger than the network MTU");
      return;
    }
    if (src !== this.net.mac) {
      this.net.drops.add("outbound frame from another MAC (bridging not supported)");
      return;
    }
    if (etherType === ETHERTYPE_IPV6 && this.emulateNdp(c, buf, ps, end)) return;
    if (isMulticastMac(dest)) {
      this.fromPortMulticast(c, dest, src, etherType, buf, ps, end);
      return;
    }
    const to = this.net.addressOfMac(dest);
    if (to === null) {
      this.net.drops.add("outbound frame to a bridged MAC (no bridge known)");
      return;
    }
    if (to === this.net.env.address) {
      this.net.drops.add("outbound frame to ourselves");
      return;
    }
    const fi = this.fi;
    fi.inbound = false;
    fi.ztSource = this.net.env.address;
    fi.ztDest = to;
    fi.macSource = src;
    fi.macDest = dest;
    fi.etherType = etherType;
    fi.frame = buf;
    fi.start = ps;
    fi.end = end;
    const m = this.net.memberships.get(to) ?? null;
    const d = filterFrame(c.rules, this.net.ourCapabilities, fi, this.net.ruleCtx!.use(c, m, false), this.decision);
    this.sendCopies(d, dest, src, etherType, buf, ps, end);
    if (d.accept === 0) {
      this.net.drops.add(`outbound ${d.dropReason}`);
      return;
    }
    const now = this.net.env.clock.now();
    if (d.redirectTo !== 0) {
      this.net.pushCredentialsIfNeeded(d.redirectTo, now);
      this.sendExtFrame(d.redirectTo, d.redirectFlags, dest, src, etherType, buf, ps, end);
      return;
    }
    this.net.pushCredentialsIfNeeded(to, now);
    const tx = this.net.env.tx;
    const p = writeFrameHeader(tx, IDX_PAYLOAD, this.net.halves, etherType) + IDX_PAYLOAD;
    copyBytes(tx, p, buf, ps, end); // no view object per frame
    this.net.traffic.framesOut++;
    this.net.traffic.bytesOut += end - ps;
    this.net.env.sendTxTo(to, Verb.FRAME, p + (end - ps), 0);
  }

  /** Spec 7.6: answer a Neighbor Solicitation for a managed IPv6 neighbor locally (flag 0x4). */
  emulateNdp(c: NetworkConfig, buf: Uint8Array, ps: number, end: number): boolean {
    const nb = emulateNeighborSolicitation(c, this.net.env.address, buf, ps, end, this.ndpPacket);
    if (nb === null) return false;
    const f = this.ndpFrame;
    writeMac(f, 0, this.net.mac);
    writeMac(f, 6, nb.mac);
    f[12] = 0x86;
    f[13] = 0xdd;
    this.net.port?.deliver.receiveFrame(f, 0, 14 + NEIGHBOR_ADVERTISEMENT_LENGTH);
    return true;
  }

  fromPortMulticast(c: NetworkConfig, dest: Mac, src: Mac, etherType: number, buf: Uint8Array, ps: number, end: number): void {
    let group: MulticastGroup;
    if (dest === MAC_BROADCAST) {
      const len = end - ps;
      // ARP requests go to the group of the address asked for, even with broadcast disabled.
      if (etherType === ETHERTYPE_ARP && len >= 28 && buf[ps + 2] === 0x08 && buf[ps + 3] === 0x00 && buf[ps + 4] === 6 && buf[ps + 5] === 4 && buf[ps + 7] === 1) {
        group = arpGroupForIpv4(buf, ps + 24);
      } else if (!broadcastEnabled(c)) {
        this.net.drops.add("broadcast disabled on this network");
        return;
      } else group = BROADCAST_GROUP;
    } else group = { mac: dest, adi: 0 };
    if (c.multicastLimit === 0) {
      this.net.drops.add("multicast disabled");
      return;
    }
    const fi = this.fi;
    fi.inbound = false;
    fi.ztSource = this.net.env.address;
    fi.ztDest = 0;
    fi.macSource = src;
    fi.macDest = dest;
    fi.etherType = etherType;
    fi.frame = buf;
    fi.start = ps;
    fi.end = end;
    const d = filterFrame(c.rules, this.net.ourCapabilities, fi, this.net.ruleCtx!.use(c, null, false), this.decision);
    this.sendCopies(d, dest, src, etherType, buf, ps, end);
    if (d.accept === 0) {
      this.net.drops.add(`outbound multicast ${d.dropReason}`);
      return;
    }
    this.net.mc.sendMulticast(c, group, src, etherType, buf, ps, end);
  }

  sendExtFrame(to: Address, flags: number, dest: Mac, src: Mac, etherType: number, buf: Uint8Array, ps: number, end: number): void {
    if (to === this.net.env.address) return;
    const tx = this.net.env.tx;
    const p = writeExtFrameHeader(tx, IDX_PAYLOAD, this.net.halves, flags, dest, src, etherType) + IDX_PAYLOAD;
    copyBytes(tx, p, buf, ps, end); // no view object per frame
    this.net.env.sendTxTo(to, Verb.EXT_FRAME, p + (end - ps), 0);
  }

  /** TEE/WATCH copies the rules asked for. */
  sendCopies(d: FilterDecision, dest: Mac, src: Mac, etherType: number, buf: Uint8Array, ps: number, end: number): void {
    for (let i = 0; i < d.teeCount; i++) {
      const t = d.tees[i]!;
      this.sendExtFrame(t.to, t.extFrameFlags, dest, src, etherType, buf, ps, ps + Math.min(t.length, end - ps));
    }
  }
}
