/**
 * Trusted physical paths (local.conf physical.<network>.trustedPathId, as zerotier-one's
 * Topology physical path configuration): packets to an address inside a configured network go out
 * under cipher suite 2, neither encrypted nor authenticated, with the ID in the MAC field; a suite 2
 * packet is accepted only when it comes from inside a network configured with the same ID. Both
 * sides must be configured alike, over a network the operator trusts (a private backplane).
 *
 * IDs are kept as two unsigned 32-bit halves so the per-packet checks allocate nothing.
 */

import { cidrContains, type InetAddress } from "./inet-address.ts";
import { CIPHER_NONE_TRUSTED_PATH, FLAG_ENCRYPTED, FLAGS_CIPHER_MASK, IDX_FLAGS, IDX_MAC } from "./packet.ts";

export interface TrustedPathConf {
  /** The physical network: its port field is the netmask bit count. */
  network: InetAddress;
  /** Non-zero uint64. */
  id: bigint;
}

/** zerotier-one's ZT_MAX_CONFIGURABLE_PATHS. */
export const MAX_TRUSTED_PATH_CONFIGS = 32;

export class TrustedPathIds {
  private readonly networks: InetAddress[] = [];
  private readonly hi: number[] = [];
  private readonly lo: number[] = [];

  constructor(configs: readonly TrustedPathConf[] = []) {
    for (const c of configs) {
      if (c.id <= 0n || c.id > 0xffffffffffffffffn) throw new RangeError(`trusted path ID ${c.id} is not a non-zero uint64`);
      if (this.networks.length >= MAX_TRUSTED_PATH_CONFIGS) throw new RangeError(`at most ${MAX_TRUSTED_PATH_CONFIGS} trusted paths`);
      this.networks.push(c.network);
      this.hi.push(Number(c.id >> 32n));
      this.lo.push(Number(c.id & 0xffffffffn));
    }
  }

  get size(): number {
    return this.networks.length;
  }

  /** Index of the configuration whose network holds `to`, or -1 (then the packet is armored). */
  outbound(to: InetAddress): number {
    for (let i = 0; i < this.networks.length; i++) if (cidrContains(this.networks[i]!, to)) return i;
    return -1;
  }

  /** The ID of an outbound configuration (for `/peer`). */
  idOf(index: number): bigint {
    return index < 0 ? 0n : (BigInt(this.hi[index]!) << 32n) | BigInt(this.lo[index]!);
  }

  /**
   * Mark pkt[start..] as sent over trusted path `index` (instead of armoring it): cipher suite 2,
   * legacy encrypted flag cleared, fragmented flag and hops kept, the ID big-endian in the MAC field.
   */
  mark(pkt: Uint8Array, start: number, index: number): void {
    const f = start + IDX_FLAGS;
    pkt[f] = (pkt[f]! & ~(FLAGS_CIPHER_MASK | FLAG_ENCRYPTED)) | (CIPHER_NONE_TRUSTED_PATH << 3);
    const hi = this.hi[index]!;
    const lo = this.lo[index]!;
    const m = start + IDX_MAC;
    pkt[m] = hi >>> 24;
    pkt[m + 1] = (hi >>> 16) & 0xff;
    pkt[m + 2] = (hi >>> 8) & 0xff;
    pkt[m + 3] = hi & 0xff;
    pkt[m + 4] = lo >>> 24;
    pkt[m + 5] = (lo >>> 16) & 0xff;
    pkt[m + 6] = (lo >>> 8) & 0xff;
    pkt[m + 7] = lo & 0xff;
  }

  /** Whether a suite 2 packet pkt[start..] that came from `from` carries the ID of a network holding `from`. */
  inbound(pkt: Uint8Array, start: number, from: InetAddress): boolean {
    if (this.networks.length === 0) return false;
    const m = start + IDX_MAC;
    const hi = ((pkt[m]! << 24) | (pkt[m + 1]! << 16) | (pkt[m + 2]! << 8) | pkt[m + 3]!) >>> 0;
    const lo = ((pkt[m + 4]! << 24) | (pkt[m + 5]! << 16) | (pkt[m + 6]! << 8) | pkt[m + 7]!) >>> 0;
    for (let i = 0; i < this.networks.length; i++) {
      if (this.hi[i] === hi && this.lo[i] === lo && cidrContains(this.networks[i]!, from)) return true;
    }
    return false;
  }
}
