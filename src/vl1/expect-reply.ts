/**
 * OK gating (spec 3.4): we remember the upper 32 bits of the on-wire packet ID of every request
 * that expects a reply (HELLO, ECHO, WHOIS, and VL2 requests), in a fixed table of buckets that
 * simply overwrite their oldest entry. An OK whose in-re ID is not in the table is ignored.
 * Fixed memory, no expiry bookkeeping: a forged OK must guess a recent 32-bit value and still pass
 * the MAC of a known peer.
 */

const BUCKETS = 256;
const PER_BUCKET = 32;

export class ExpectReply {
  private readonly ids = new Uint32Array(BUCKETS * PER_BUCKET);
  private readonly used = new Uint8Array(BUCKETS * PER_BUCKET);
  private readonly next = new Uint8Array(BUCKETS);

  /** Record a sent request by the upper half of its (post-armor) packet ID. */
  expect(idHi: number): void {
    const b = idHi & (BUCKETS - 1);
    const slot = b * PER_BUCKET + (this.next[b]! & (PER_BUCKET - 1));
    this.next[b] = (this.next[b]! + 1) & (PER_BUCKET - 1);
    this.ids[slot] = idHi >>> 0;
    this.used[slot] = 1;
  }

  isExpecting(idHi: number): boolean {
    const base = (idHi & (BUCKETS - 1)) * PER_BUCKET;
    const v = idHi >>> 0;
    for (let i = 0; i < PER_BUCKET; i++) if (this.used[base + i] === 1 && this.ids[base + i] === v) return true;
    return false;
  }
}
