/**
 * Receive-side fragment reassembly (spec 3.5): a fixed ring of 32 slots keyed by the 8 on-wire
 * packet-ID bytes. A new ID takes the next slot in ring order (overwriting whatever was oldest there);
 * entries older than 5 s are abandoned; duplicates are ignored; a head and its fragments may arrive in
 * any order. Pieces are not authenticated here: the caller checks the MAC on the assembled packet.
 *
 * Memory is fixed at construction: one arena of MAX_PACKET_LENGTH bytes per slot holds the pieces in
 * arrival order (their total can never legally exceed that), and one output buffer receives the
 * assembled packet. Nothing is allocated per datagram.
 */

import { copyBytes } from "../../ffi/copy-bytes.ts";
import type { Clock } from "../util/clock.ts";
import {
  FRAGMENT_HEADER_LENGTH,
  FRAGMENT_IDX_INDICATOR,
  FRAGMENT_INDICATOR,
  fragmentNumber,
  fragmentTotal,
} from "./fragment.ts";
import { MAX_PACKET_FRAGMENTS, MAX_PACKET_LENGTH, MIN_PACKET_LENGTH, isFragmented, packetIdHi, packetIdLo } from "./packet.ts";

/** ZT_RX_QUEUE_SIZE */
export const RX_QUEUE_SLOTS = 32;
/** ZT_RECEIVE_QUEUE_TIMEOUT (ms) */
export const RX_QUEUE_TIMEOUT_MS = 5000;

/** Results of addHead/addFragment. A positive value is the assembled length in `out`. */
export const Reassembly = {
  /** Stored; more pieces needed. */
  PENDING: 0,
  /** This piece was already present, or its packet was already assembled: ignored. */
  DUPLICATE: -1,
  /** Not a usable fragment: short, no 0xff indicator, T ∉ 2..7, n ∉ 1..T−1, or T disagrees with earlier pieces. */
  BAD_FRAGMENT: -2,
  /** Not a fragmented head: shorter than 28 bytes or the fragmented flag is clear. */
  BAD_HEAD: -3,
  /** The pieces add up to more than MAX_PACKET_LENGTH; the whole packet is abandoned. */
  TOO_LONG: -4,
} as const;

const FREE = 0;
const ACTIVE = 1;
/** Assembled (or abandoned): kept so late duplicates are recognised until the slot is reused or times out. */
const DONE = 2;

const PIECES = 8; // index 0 = head, 1..7 = fragments (only 1..6 can be legal)

export interface ReassemblyStats {
  completed: number;
  duplicates: number;
  badFragments: number;
  badHeads: number;
  tooLong: number;
  /** Incomplete entries found older than the timeout and discarded. */
  expired: number;
  /** Incomplete, still-fresh entries overwritten because 32 newer packets arrived. */
  evicted: number;
}

export class ReassemblyQueue {
  /** The last assembled packet occupies out[0, length); valid until the next add call. */
  readonly out: Uint8Array;
  readonly stats: ReassemblyStats = { completed: 0, duplicates: 0, badFragments: 0, badHeads: 0, tooLong: 0, expired: 0, evicted: 0 };

  private readonly slots: number;
  private readonly timeoutMs: number;
  private readonly state: Uint8Array;
  private readonly idHi: Uint32Array;
  private readonly idLo: Uint32Array;
  private readonly created: Float64Array;
  /** Expected total T, 0 while only the head is known. */
  private readonly total: Uint8Array;
  /** Bit i set = piece i present. */
  private readonly have: Uint8Array;
  private readonly arenaUsed: Uint16Array;
  private readonly pieceOff: Uint16Array;
  private readonly pieceLen: Uint16Array;
  /** One buffer: [0, MAX_PACKET_LENGTH) is `out`, then one arena per slot, so assembly is copyWithin. */
  private readonly mem: Uint8Array;
  private next = 0;
  /** The slot the previous piece went to. */
  private lastSlot = 0;

  constructor(
    private readonly clock: Clock,
    slots: number = RX_QUEUE_SLOTS,
    timeoutMs: number = RX_QUEUE_TIMEOUT_MS,
  ) {
    this.slots = slots;
    this.timeoutMs = timeoutMs;
    this.state = new Uint8Array(slots);
    this.idHi = new Uint32Array(slots);
    this.idLo = new Uint32Array(slots);
    this.created = new Float64Array(slots);
    this.total = new Uint8Array(slots);
    this.have = new Uint8Array(slots);
    this.arenaUsed = new Uint16Array(slots);
    this.pieceOff = new Uint16Array(slots * PIECES);
    this.pieceLen = new Uint16Array(slots * PIECES);
    this.mem = new Uint8Array((slots + 1) * MAX_PACKET_LENGTH);
    this.out = this.mem.subarray(0, MAX_PACKET_LENGTH);
  }

  /** Entries still waiting for pieces (expired ones included until they are noticed). */
  pendingCount(): number {
    let c = 0;
    for (let s = 0; s < this.slots; s++) if (this.state[s] === ACTIVE) c++;
    return c;
  }

  clear(): void {
    this.state.fill(FREE);
    this.next = 0;
    this.lastSlot = 0;
  }

  /** A head datagram whose fragmented flag is set. */
  addHead(buf: Uint8Array, start: number, end: number): number {
    if (end - start < MIN_PACKET_LENGTH || !isFragmented(buf, start)) {
      this.stats.badHeads++;
      return Reassembly.BAD_HEAD;
    }
    const s = this.slotFor(buf, start);
    if (s < 0) return this.duplicate();
    return this.addPiece(s, 0, 0, buf, start, end);
  }

  /** A fragment datagram (byte 13 = 0xff). */
  addFragment(buf: Uint8Array, start: number, end: number): number {
    if (end - start <= FRAGMENT_HEADER_LENGTH || buf[start + FRAGMENT_IDX_INDICATOR] !== FRAGMENT_INDICATOR) {
      this.stats.badFragments++;
      return Reassembly.BAD_FRAGMENT;
    }
    const t = fragmentTotal(buf, start);
    const n = fragmentNumber(buf, start);
    if (t < 2 || t > MAX_PACKET_FRAGMENTS || n < 1 || n >= t) {
      this.stats.badFragments++;
      return Reassembly.BAD_FRAGMENT;
    }
    const s = this.slotFor(buf, start);
    if (s < 0) return this.duplicate();
    return this.addPiece(s, n, t, buf, start + FRAGMENT_HEADER_LENGTH, end);
  }

  private duplicate(): number {
    this.stats.duplicates++;
    return Reassembly.DUPLICATE;
  }

  /** Slot holding this packet ID (starting a new entry if needed), or -1 if it is already DONE. */
  private slotFor(buf: Uint8Array, start: number): number {
    const hi = packetIdHi(buf, start);
    const lo = packetIdLo(buf, start);
    const now = this.clock.now();
    // A packet's pieces usually arrive back to back: try the last slot used before scanning.
    const last = this.lastSlot;
    if (this.state[last] !== FREE && this.idHi[last] === hi && this.idLo[last] === lo) return this.existing(last, hi, lo, now);
    for (let s = 0; s < this.slots; s++) {
      if (this.state[s] === FREE || this.idHi[s] !== hi || this.idLo[s] !== lo) continue;
      this.lastSlot = s;
      return this.existing(s, hi, lo, now);
    }
    const s = this.next;
    this.next = (s + 1) % this.slots;
    if (this.state[s] === ACTIVE) {
      if (now - this.created[s]! >= this.timeoutMs) this.stats.expired++;
      else this.stats.evicted++;
    }
    this.reset(s, hi, lo, now);
    this.lastSlot = s;
    return s;
  }

  /** Slot s already holds this ID: restarted if it timed out, -1 if its packet was assembled. */
  private existing(s: number, hi: number, lo: number, now: number): number {
    if (now - this.created[s]! >= this.timeoutMs) {
      if (this.state[s] === ACTIVE) this.stats.expired++;
      this.reset(s, hi, lo, now);
      return s;
    }
    return this.state[s] === DONE ? -1 : s;
  }

  private reset(s: number, hi: number, lo: number, now: number): void {
    this.state[s] = ACTIVE;
    this.idHi[s] = hi;
    this.idLo[s] = lo;
    this.created[s] = now;
    this.total[s] = 0;
    this.have[s] = 0;
    this.arenaUsed[s] = 0;
  }

  private addPiece(s: number, n: number, t: number, buf: Uint8Array, from: number, to: number): number {
    const bit = 1 << n;
    if ((this.have[s]! & bit) !== 0) return this.duplicate();
    if (t !== 0) {
      if (this.total[s] === 0) this.total[s] = t;
      else if (this.total[s] !== t) {
        this.stats.badFragments++;
        return Reassembly.BAD_FRAGMENT;
      }
    }
    const len = to - from;
    const used = this.arenaUsed[s]!;
    if (used + len > MAX_PACKET_LENGTH) {
      this.state[s] = DONE;
      this.stats.tooLong++;
      return Reassembly.TOO_LONG;
    }
    const base = (s + 1) * MAX_PACKET_LENGTH;
    const mem = this.mem;
    copyBytes(mem, base + used, buf, from, to);
    this.pieceOff[s * PIECES + n] = used;
    this.pieceLen[s * PIECES + n] = len;
    this.arenaUsed[s] = used + len;
    this.have[s] = this.have[s]! | bit;

    const total = this.total[s]!;
    if (total === 0 || this.have[s] !== (1 << total) - 1) return Reassembly.PENDING;

    // Complete: head followed by fragment data in fragment-number order.
    let o = 0;
    for (let i = 0; i < total; i++) {
      const off = base + this.pieceOff[s * PIECES + i]!;
      const pieceLength = this.pieceLen[s * PIECES + i]!;
      mem.copyWithin(o, off, off + pieceLength);
      o += pieceLength;
    }
    this.state[s] = DONE;
    this.stats.completed++;
    return o;
  }
}
