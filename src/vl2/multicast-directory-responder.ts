/**
 * Serves the multicast directory over VL1: MULTICAST_LIKE records are stored, MULTICAST_GATHER is
 * answered with OK(MULTICAST_GATHER) (spec 4.14). Roots answer everyone; a controller answers for
 * its own networks' members (the caller's `mayGather` decides).
 */
import type { Address } from "../vl1/address.ts";
import { Verb } from "../vl1/packet.ts";
import type { MulticastDirectory } from "./multicast-directory.ts";
import { parseMulticastGather, parseMulticastLikes, writeOkMulticastGather } from "./multicast-codec.ts";

/** The VL1 services the responder needs (Node satisfies it). */
export interface MulticastSender {
  send(dest: Address, verb: number, payload: Uint8Array, start: number, end: number, opts?: { compress?: boolean }): boolean;
}

export interface MulticastResponderStats {
  likes: number;
  gathers: number;
  gathersAnswered: number;
  malformed: number;
  refused: number;
}

const OK_HEADER = 9;

export class MulticastDirectoryResponder {
  readonly stats: MulticastResponderStats = { likes: 0, gathers: 0, gathersAnswered: 0, malformed: 0, refused: 0 };
  private readonly out = new Uint8Array(OK_HEADER + 24 + 5 * 1900);

  constructor(
    private readonly directory: MulticastDirectory,
    private readonly sender: MulticastSender,
    private readonly now: () => number,
    /** May `requester` learn the members of network (hi, lo)? */
    private readonly mayGather: (nwidHi: number, nwidLo: number, requester: Address) => boolean,
  ) {}

  /** For the node's VL2 hook: true if the packet was a LIKE or GATHER (handled here). */
  onPacket(from: Address, verb: number, pkt: Uint8Array, start: number, end: number): boolean {
    const p = start + 28;
    if (verb === Verb.MULTICAST_LIKE) {
      const now = this.now();
      const err = parseMulticastLikes(pkt, p, end, (n, g) => {
        this.stats.likes++;
        this.directory.like(n.hi, n.lo, g, from, now);
      });
      if (err !== null) this.stats.malformed++;
      return true;
    }
    if (verb === Verb.MULTICAST_GATHER) {
      this.stats.gathers++;
      const g = parseMulticastGather(pkt, p, end);
      if (typeof g === "string") {
        this.stats.malformed++;
        return true;
      }
      if (!this.mayGather(g.nwid.hi, g.nwid.lo, from)) {
        this.stats.refused++;
        return true;
      }
      const r = this.directory.gather(g.nwid.hi, g.nwid.lo, g.group, from, g.gatherLimit, this.now());
      // 1.14 answers only when it has at least one address to give.
      if (r.members.length === 0) return true;
      const out = this.out;
      out[0] = Verb.MULTICAST_GATHER;
      out.set(pkt.subarray(start, start + 8), 1);
      const n = writeOkMulticastGather(out, OK_HEADER, g.nwid, g.group, r.total, r.members);
      this.sender.send(from, Verb.OK, out, 0, OK_HEADER + n);
      this.stats.gathersAnswered++;
      return true;
    }
    return false;
  }
}
