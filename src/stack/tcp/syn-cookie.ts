/**
 * SYN cookies: when a listener's SYN queue is full, the SYN-ACK's sequence number encodes what
 * the connection needs (a 64 s time slot and an MSS index) under a keyed hash, so no state is
 * kept until the final ACK proves the peer saw our SYN-ACK. Window scale, SACK and timestamps are
 * not encoded and are therefore off for such connections.
 */
import type { Rng } from "../../util/random.ts";

const MSS_TABLE = [216, 536, 1200, 1360, 1440, 1460, 2760, 8960] as const;
const SLOT_MS = 64_000;

export class SynCookies {
  private readonly k0: number;
  private readonly k1: number;
  private readonly k2: number;
  private readonly k3: number;
  /** MSS decoded by the last successful `check`. */
  mss = 0;

  constructor(rng: Rng) {
    this.k0 = rng.u32();
    this.k1 = rng.u32();
    this.k2 = rng.u32();
    this.k3 = rng.u32();
  }

  /** ISS for a SYN from raddr:rport to laddr:lport with sequence number `peerIsn`. */
  make(now: number, laddr: number, lport: number, raddr: number, rport: number, peerIsn: number, peerMss: number): number {
    const slot = Math.floor(now / SLOT_MS) & 31;
    let idx = 0;
    for (let i = MSS_TABLE.length - 1; i >= 0; i--) {
      if (MSS_TABLE[i]! <= peerMss) {
        idx = i;
        break;
      }
    }
    const h = this.hash(laddr, lport, raddr, rport, peerIsn, slot) & 0xffffff;
    return ((slot << 27) | (idx << 24) | h) >>> 0;
  }

  /** Verify the cookie `ack - 1` of an ACK; on success `mss` holds the encoded MSS. */
  check(now: number, laddr: number, lport: number, raddr: number, rport: number, peerIsn: number, cookie: number): boolean {
    const slot = cookie >>> 27;
    const cur = Math.floor(now / SLOT_MS) & 31;
    const age = (cur - slot) & 31;
    if (age > 1) return false;
    const h = this.hash(laddr, lport, raddr, rport, peerIsn, slot) & 0xffffff;
    if (h !== (cookie & 0xffffff)) return false;
    this.mss = MSS_TABLE[(cookie >>> 24) & 7]!;
    return true;
  }

  private hash(laddr: number, lport: number, raddr: number, rport: number, isn: number, slot: number): number {
    let h = this.k0 ^ slot;
    h = mix(h, laddr ^ this.k1);
    h = mix(h, raddr ^ this.k2);
    h = mix(h, ((lport << 16) | rport) ^ this.k3);
    h = mix(h, isn);
    h = mix(h, this.k0 + slot);
    return fmix(h);
  }
}

function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Same keyed mixing for RFC 6528 initial sequence numbers. */
export function isnHash(k: number, laddr: number, lport: number, raddr: number, rport: number): number {
  let h = k;
  h = mix(h, laddr);
  h = mix(h, raddr);
  h = mix(h, (lport << 16) | rport);
  return fmix(h);
}
