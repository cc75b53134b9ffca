/**
 * Packet-level LZ4 (spec 3.7): the payload after the verb byte is replaced by a raw LZ4 block and the
 * verb's 0x80 bit is set. Senders compress before armoring, only packets longer than 28 + 64 bytes,
 * and keep the result only if strictly smaller; receivers decompress after a successful dearmor, with
 * at most MAX_PACKET_LENGTH − 28 bytes of output.
 *
 * Both directions work in place on the caller's packet buffer through one owned scratch buffer, so
 * nothing is allocated per packet.
 */

import { Lz4Compressor, lz4Decompress } from "./lz4.ts";
import { IDX_PAYLOAD, IDX_VERB, MAX_PACKET_LENGTH, VERB_FLAG_COMPRESSED } from "./packet.ts";

/** Packets up to this length are never compressed. */
export const COMPRESSION_MIN_LENGTH = IDX_PAYLOAD + 64;
export const MAX_DECOMPRESSED_PAYLOAD = MAX_PACKET_LENGTH - IDX_PAYLOAD;

/** decompress() failures. */
export const DECOMPRESS_CORRUPT = -1;
/** The packet buffer cannot hold the decompressed payload at its position. */
export const DECOMPRESS_NO_ROOM = -2;

export class PayloadCompression {
  private readonly lz4 = new Lz4Compressor();
  private readonly scratch = new Uint8Array(MAX_PACKET_LENGTH);

  /**
   * Compresses pkt[start, end)'s payload in place if that helps; returns the new end (== end when
   * left as is). Call before armoring.
   */
  compress(pkt: Uint8Array, start: number, end: number): number {
    if (end - start <= COMPRESSION_MIN_LENGTH) return end;
    const payloadStart = start + IDX_PAYLOAD;
    const payloadLen = end - payloadStart;
    const n = this.lz4.compress(pkt, payloadStart, end, this.scratch, 0, payloadLen - 1);
    if (n < 0) return end;
    const s = this.scratch;
    for (let i = 0; i < n; i++) pkt[payloadStart + i] = s[i]!;
    pkt[start + IDX_VERB] = pkt[start + IDX_VERB]! | VERB_FLAG_COMPRESSED;
    return payloadStart + n;
  }

  /**
   * If the (dearmored) packet is flagged compressed, decompresses its payload in place and clears the
   * flag; returns the new end, `end` if it was not compressed, or a negative DECOMPRESS_* code (the
   * packet is then to be dropped; its buffer content is unchanged).
   */
  decompress(pkt: Uint8Array, start: number, end: number): number {
    if (end - start < IDX_PAYLOAD || (pkt[start + IDX_VERB]! & VERB_FLAG_COMPRESSED) === 0) return end;
    const payloadStart = start + IDX_PAYLOAD;
    const n = lz4Decompress(pkt, payloadStart, end, this.scratch, 0, MAX_DECOMPRESSED_PAYLOAD);
    if (n < 0) return DECOMPRESS_CORRUPT;
    if (payloadStart + n > pkt.length) return DECOMPRESS_NO_ROOM;
    const s = this.scratch;
    for (let i = 0; i < n; i++) pkt[payloadStart + i] = s[i]!;
    pkt[start + IDX_VERB] = pkt[start + IDX_VERB]! & ~VERB_FLAG_COMPRESSED;
    return payloadStart + n;
  }
}
