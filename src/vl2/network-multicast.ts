/**
 * A network's multicast (spec 7.2-7.5): our subscriptions and their MULTICAST_LIKE announcements,
 * GATHER and its answers, recipient selection (replicators, active bridges, known members up to
 * the limit), frames queued until gather results arrive, and the member lists we serve to others.
 */
import type { Address } from "../vl1/address.ts";
import { IDX_PAYLOAD, Verb } from "../vl1/packet.ts";
import { decodeCom } from "./com.ts";
import { type Mac, readMac } from "./mac.ts";
import {
  multicastLikePayloads,
  parseMulticastGather,
  parseOkMulticastFrame,
  parseOkMulticastGather,
  writeMulticastFrameHeader,
  writeMulticastGather,
  writeOkMulticastGather,
} from "./multicast-codec.ts";
import { BROADCAST_GROUP, type MulticastGroup, addressResolutionGroup } from "./multicast-group.ts";
import { MULTICAST_TRANSMIT_TIMEOUT } from "./multicast-subscriber.ts";
import { type NetworkConfig, NetworkConfigFlag, activeBridges, anchors, broadcastEnabled, multicastReplicators } from "./network-config.ts";
import type { Network } from "./network.ts";
import { MAX_MULTICAST_PAYLOAD, readU32 } from "./network-state.ts";

const MAX_GATHER_TARGETS = 16;

export class NetworkMulticast {
  private readonly scratch = new Uint8Array(IDX_PAYLOAD + MAX_MULTICAST_PAYLOAD + 64);
  /** Last scan of the port's multicast memberships (1.14's service scans every 5 s). */
  lastGroupScan = -Infinity;

  constructor(private readonly net: Network) {}

  /** Spec 7.4-7.5: to known members up to the limit; gather and queue when we know too few. */
  sendMulticast(c: NetworkConfig, group: MulticastGroup, src: Mac, etherType: number, buf: Uint8Array, ps: number, end: number, origin: Address = 0): void {
    const now = this.net.env.clock.now();
    const limit = c.multicastLimit;
    const self = this.net.env.address;
    const replicators = multicastReplicators(c);
    if (replicators.length > 0 && !replicators.includes(self) && !activeBridges(c).includes(self)) {
      // spec 7.5 step 1: one copy to a replicator, source MAC explicit, "please replicate"
      const to = replicators[0]!;
      const out = this.scratch;
      const h = writeMulticastFrameHeader(out, 0, this.net.halves, group, etherType, null, src, true);
      out.set(buf.subarray(ps, end), h);
      this.sendMulticastTo(to, h + (end - ps), false, now);
      return;
    }
    const members = this.net.multicast.members(group, now);
    const recipients: Address[] = [];
    for (const b of activeBridges(c)) if (b !== self && b !== origin && recipients.length < limit) recipients.push(b);
    for (const m of members) if (m !== origin && recipients.length < limit && !recipients.includes(m)) recipients.push(m);
    const short = members.length < limit;
    if (short) {
      if (this.net.multicast.gatherDue(group, members.length, now)) this.sendGathers(group, limit - members.length + 1);
      this.net.multicast.queue({ group, etherType, sourceMac: src, payload: buf.slice(ps, end), expires: now + MULTICAST_TRANSMIT_TIMEOUT, limit, sentTo: new Set(recipients) });
    }
    const n = this.buildMulticastFrame(group, src, etherType, buf, ps, end, short ? limit - members.length : null);
    for (const r of recipients) this.sendMulticastTo(r, n, short, now);
  }

  buildMulticastFrame(group: MulticastGroup, src: Mac, etherType: number, buf: Uint8Array, ps: number, end: number, gatherLimit: number | null): number {
    const out = this.scratch;
    const h = writeMulticastFrameHeader(out, 0, this.net.halves, group, etherType, gatherLimit, src === this.net.mac ? null : src);
    out.set(buf.subarray(ps, end), h);
    return h + (end - ps);
  }

  sendMulticastTo(to: Address, n: number, expectReply: boolean, now: number): void {
    this.net.pushCredentialsIfNeeded(to, now);
    const compress = (this.net.config!.flags & NetworkConfigFlag.DISABLE_COMPRESSION) === 0;
    this.net.traffic.multicastOut++;
    this.net.env.send(to, Verb.MULTICAST_FRAME, this.scratch, 0, n, { compress, expectReply });
  }

  /** Queued frames of this group go to members learned since they were sent. */
  flushPending(group: MulticastGroup, newMembers: readonly Address[], now: number): void {
    if (newMembers.length === 0) return;
    for (const p of this.net.multicast.pendingFor(group, now)) {
      let n = -1;
      for (const m of newMembers) {
        if (p.sentTo.has(m) || p.sentTo.size >= p.limit) continue;
        if (n < 0) n = this.buildMulticastFrame(group, p.sourceMac, p.etherType, p.payload, 0, p.payload.length, null);
        p.sentTo.add(m);
        this.sendMulticastTo(m, n, false, now);
      }
    }
  }

  sendGathers(group: MulticastGroup, gatherLimit: number): void {
    const c = this.net.config!;
    const targets: Address[] = [];
    const add = (a: Address) => {
      if (a !== this.net.env.address && !targets.includes(a) && targets.length < MAX_GATHER_TARGETS) targets.push(a);
    };
    const roots = this.net.env.upstreams();
    if (roots.length > 0) add(roots[0]!);
    add(this.net.controller);
    for (const a of [...multicastReplicators(c), ...anchors(c)]) add(a);
    const out = this.scratch;
    const n = writeMulticastGather(out, 0, this.net.halves, group, gatherLimit, this.net.comBytes);
    for (const t of targets) this.net.env.send(t, Verb.MULTICAST_GATHER, out, 0, n, { expectReply: true });
  }

  /** Our groups: the port's, address resolution for each managed address, broadcast if enabled. */
  refreshSubscriptions(now: number): void {
    const c = this.net.config;
    if (c === null) return;
    this.lastGroupScan = now;
    const groups: MulticastGroup[] = [...(this.net.port?.multicastGroups() ?? [])];
    for (const a of this.net.managedAddresses(c)) {
      const g = addressResolutionGroup(a.ip);
      if (g !== null) groups.push(g);
    }
    if (broadcastEnabled(c)) groups.push(BROADCAST_GROUP);
    const added = this.net.multicast.setSubscriptions(groups);
    if (added.length > 0) this.announceMulticastGroups(now, added);
  }

  /**
   * MULTICAST_LIKE to the controller, the roots, anchors/replicators and members that pass the
   * gate (spec 7.3). `only` = just these new groups, else all (the periodic announcement).
   */
  announceMulticastGroups(now: number, only: readonly MulticastGroup[] | null): void {
    const c = this.net.config;
    if (c === null) return;
    const groups = only ?? this.net.multicast.subscriptions;
    if (only === null) this.net.multicast.lastAnnounce = now;
    if (groups.length === 0) return;
    const targets = new Set<Address>([this.net.controller, ...this.net.env.upstreams(), ...anchors(c), ...multicastReplicators(c)]);
    for (const [a, m] of this.net.memberships) {
      if (!this.net.gate(a)) continue;
      if (only === null) m.lastMulticastAnnounce = now;
      targets.add(a);
    }
    targets.delete(this.net.env.address);
    for (const t of targets) this.sendLikes(t, groups);
  }

  sendLikes(to: Address, groups: readonly MulticastGroup[]): void {
    if (to === this.net.env.address || groups.length === 0) return;
    for (const p of multicastLikePayloads(this.net.halves, groups)) this.net.env.send(to, Verb.MULTICAST_LIKE, p, 0, p.length, { compress: true });
  }

  /** A LIKE record from a member (only members passing the gate are listed). */
  onLike(peer: Address, group: MulticastGroup): boolean {
    if (!this.net.gate(peer)) return false;
    const now = this.net.env.clock.now();
    if (this.net.multicast.addMember(group, peer, now)) this.flushPending(group, [peer], now);
    return true;
  }

  /** MULTICAST_GATHER from a member: answer with members we know (us first if subscribed). */
  onGather(peer: Address, pkt: Uint8Array, start: number, end: number): boolean {
    const g = parseMulticastGather(pkt, start + IDX_PAYLOAD, end);
    if (typeof g === "string") {
      this.net.drops.add("malformed MULTICAST_GATHER");
      return false;
    }
    if (g.comEnd > g.comStart && this.net.config !== null) {
      // 1.14 attaches its COM to a GATHER: take it as a pushed credential before the gate.
      const com = decodeCom(pkt, g.comStart, g.comEnd);
      if (com.ok) this.net.addCredentials({ coms: [com.value.com], capabilities: [], tags: [], revocations: [], certificatesOfOwnership: [] });
    }
    if (!this.net.gate(peer)) return false;
    const members = this.membersFor(g.group, peer, g.gatherLimit, this.net.env.clock.now());
    if (members.length === 0) return true;
    const out = this.scratch;
    out[0] = Verb.MULTICAST_GATHER;
    out.set(pkt.subarray(start, start + 8), 1);
    const n = writeOkMulticastGather(out, 9, this.net.halves, g.group, members.length, members);
    this.net.env.send(peer, Verb.OK, out, 0, 9 + n, { compress: true });
    return true;
  }

  membersFor(group: MulticastGroup, requester: Address, limit: number, now: number): Address[] {
    const out: Address[] = [];
    const max = Math.min(limit, 1900);
    if (this.net.multicast.subscribed(group) && out.length < max) out.push(this.net.env.address);
    for (const m of this.net.multicast.members(group, now)) if (m !== requester && out.length < max) out.push(m);
    return out;
  }

  /** OK(MULTICAST_GATHER) body (after the 9-byte in-re header). */
  onGatherResults(pkt: Uint8Array, bodyStart: number, end: number): void {
    const r = parseOkMulticastGather(pkt, bodyStart, end);
    if (typeof r === "string") {
      this.net.drops.add("malformed OK(MULTICAST_GATHER)");
      return;
    }
    this.learnMembers(r.group, r.members);
  }

  /** OK(MULTICAST_FRAME) body: may carry gather results. */
  onMulticastFrameOk(pkt: Uint8Array, bodyStart: number, end: number): void {
    const r = parseOkMulticastFrame(pkt, bodyStart, end);
    if (typeof r === "string") {
      this.net.drops.add("malformed OK(MULTICAST_FRAME)");
      return;
    }
    if (r.gather !== null) this.learnMembers(r.group, r.gather.members);
  }

  learnMembers(group: MulticastGroup, members: readonly Address[]): void {
    const now = this.net.env.clock.now();
    const fresh = members.filter((m) => this.net.multicast.addMember(group, m, now));
    this.flushPending(group, fresh, now);
  }

  /** ERROR UNWANTED_MULTICAST (nwid, mac, adi) from a member: stop sending it that group. */
  onUnwantedMulticast(peer: Address, pkt: Uint8Array, errPayload: number, end: number): void {
    if (end - errPayload < 18 || !this.net.gate(peer)) return;
    this.net.multicast.removeMember({ mac: readMac(pkt, errPayload + 8), adi: readU32(pkt, errPayload + 14) }, peer);
  }
}
