/**
 * The receiving half: segment acceptability (RFC 9293 3.10.7.4), in-order delivery into the
 * receive ring, out-of-order reassembly (data parked in the ring beyond its filled bytes, ranges
 * remembered in a SeqRangeSet), FIN processing, delayed-ACK decisions and the advertised window
 * with receiver-side silly-window avoidance.
 */
import type { TcpSegmentView } from "../wire/tcp.ts";
import { TCP_FIN } from "../wire/tcp.ts";
import { EV_READABLE } from "./events.ts";
import { RingBuffer } from "./ring-buffer.ts";
import { SeqRangeSet } from "./seq-ranges.ts";
import { seqAdd, seqDiff, seqGt, seqLe, seqLt, seqMax } from "./seq.ts";
import type { Connection } from "./connection.ts";
import { TcpState } from "./state.ts";

/**
 * Out-of-order ranges the receiver remembers; more holes than this and new islands are dropped.
 * A burst of loss in a large window (slow start overshooting a queue) makes hundreds: with 32,
 * a 4 MB transfer over a clean 12.5 MB/s bottleneck stalled for 23 s in recovery.
 */
const OOO_RANGES = 256;
const OOO_RANGES_FIRST = 16;

/** RFC 9293 3.10.7.4 acceptability test. */
export function acceptable(c: Connection, seq: number, segLen: number, wnd: number): boolean {
  const rn = c.rcvNxt;
  if (segLen === 0) {
    if (wnd === 0) return seq === rn;
    return seqLe(rn, seq) && seqLt(seq, seqAdd(rn, wnd));
  }
  if (wnd === 0) return false;
  const end = seqAdd(rn, wnd);
  const last = seqAdd(seq, segLen - 1);
  return (seqLe(rn, seq) && seqLt(seq, end)) || (seqLe(rn, last) && seqLt(last, end));
}

export function processData(c: Connection, seg: TcpSegmentView, seq: number, now: number): void {
  let start = seg.payloadStart;
  let len = seg.payloadLength;
  let fin = (seg.flags & TCP_FIN) !== 0;
  // Trim what we already have.
  const skip = seqDiff(c.rcvNxt, seq);
  if (skip > 0 && len > 0 && c.sackOk) {
    const dupEnd = skip >= len ? seqAdd(seq, len) : c.rcvNxt;
    noteDsack(c, seq, dupEnd);
  }
  if (skip > 0) {
    if (skip >= len) {
      // all old (maybe except FIN)
      start += len;
      len = 0;
      if (fin && skip > seg.payloadLength) fin = false; // FIN also old
    } else {
      start += skip;
      len -= skip;
    }
    seq = c.rcvNxt;
    c.ackNow = true; // duplicate data: tell the sender quickly
  }
  // Trim to the ring's room (beyond that is outside any window we advertised).
  const room = c.rxSize - (c.rcvq === null ? 0 : c.rcvq.length) - seqDiff(seq, c.rcvNxt);
  if (len > room) {
    len = Math.max(room, 0);
    fin = false;
  }
  if (c.orphan && len > 0) {
    // Data for a closed socket: the application cannot read it (Linux resets).
    c.abort();
    return;
  }
  // The receive ring is allocated when the first byte arrives; without memory the data is
  // dropped unacknowledged (the sender retransmits later), like a full receive queue.
  if (len > 0 && c.rcvq === null && c.allocRx() === null) {
    len = 0;
    fin = false;
  }
  const rx = c.rcvq!;

  if (seq === c.rcvNxt) {
    if (len > 0) {
      if (!c.rdShut) {
        rx.writeAt(rx.length, seg.buf, start, start + len);
        rx.commit(len);
      }
      c.rcvNxt = seqAdd(c.rcvNxt, len);
      const ooo = c.ooo;
      if (ooo !== null && ooo.count > 0) {
        const end = ooo.popContiguous(c.rcvNxt);
        if (end !== -1 && seqGt(end, c.rcvNxt)) {
          const more = seqDiff(end, c.rcvNxt);
          if (!c.rdShut) rx.commit(more);
          c.rcvNxt = end;
        }
        ooo.removeBelow(c.rcvNxt);
        c.ackNow = true; // a hole was (partly) filled: ACK immediately (RFC 5681 4.2)
      }
      if (!c.rdShut) c.raise(EV_READABLE);
      if (c.rxSize < c.rxMax) receiveAutotune(c, seg, now, rx.length - len <= rx.capacity >>> 1);
      // ACK at least every second segment (RFC 5681 4.2), or with stretch ACKs at the end of
      // this input batch (at once when the limit is reached); otherwise delay.
      if (++c.segsSinceAck >= 2) {
        const limit = c.host.opts.ackCoalescing;
        if (limit > 0 && c.segsSinceAck < limit) c.host.deferAck(c);
        else c.ackNow = true;
      }
      if (!c.ackNow && c.delackAt === Infinity) c.delackAt = now + c.host.opts.delayedAckMs;
    }
    if (fin) c.rcvFinSeq = seqAdd(seq, len);
    if (c.rcvFinSeq !== -1 && c.rcvFinSeq === c.rcvNxt) processFin(c, now);
  } else {
    // Out of order: store in the ring beyond the filled bytes, remember the range.
    if (len > 0) {
      let ooo = c.ooo;
      if (ooo === null) ooo = c.ooo = new SeqRangeSet(OOO_RANGES_FIRST, OOO_RANGES);
      const off = seqDiff(seq, c.rcvNxt);
      const have = ooo.indexOf(seq);
      if (have >= 0 && c.sackOk && seqLe(seqAdd(seq, len), ooo.ends[have]!)) noteDsack(c, seq, seqAdd(seq, len));
      if (ooo.add(seq, seqAdd(seq, len))) {
        rx.writeAt(rx.length + off, seg.buf, start, start + len);
        c.lastOooSeq = seq;
      }
    }
    if (fin) c.rcvFinSeq = seqAdd(seq, len);
    c.ackNow = true;
  }
}

/**
 * Receive autotuning in the spirit of Linux's dynamic right-sizing: estimate the RTT from the
 * timestamps the peer echoes (or our own srtt), count the bytes that arrive per RTT, and while the
 * reader keeps up give the sender a window of twice that, more when it is speeding up (slow
 * start, BBR's STARTUP at 2.885x a round), as Linux does: growing only 2x per RTT, the window
 * stayed one step behind such a sender (a 20 ms path moved 14 MiB/s where a 4 MiB window from the
 * start moved 25).
 */
function receiveAutotune(c: Connection, seg: TcpSegmentView, now: number, readerKeepsUp: boolean): void {
  if (c.tsOk && seg.hasTimestamp && seg.tsEcr !== 0) {
    const sample = c.tsNow() - seg.tsEcr;
    if (sample >= 0) c.rcvRtt = c.rcvRtt === 0 ? Math.max(sample, 1) : 0.875 * c.rcvRtt + 0.125 * Math.max(sample, 1);
  }
  const rtt = c.rcvRtt !== 0 ? c.rcvRtt : c.rto.measured ? Math.max(c.rto.srtt, 1) : 0;
  if (rtt === 0) return;
  if (c.drsTime === 0) {
    c.drsTime = now;
    c.drsSeq = c.rcvNxt;
    return;
  }
  if (now - c.drsTime < rtt) return;
  const perRtt = seqDiff(c.rcvNxt, c.drsSeq);
  c.drsTime = now;
  c.drsSeq = c.rcvNxt;
  let want = 2 * perRtt + 16 * c.advMss;
  const last = c.drsLast;
  if (last > 0 && perRtt > last) want += (2 * want * (perRtt - last)) / last;
  c.drsLast = perRtt;
  if (readerKeepsUp && 2 * perRtt > c.rxSize && want > c.rxSize) growReceiveRing(c, want);
}

/**
 * Grow the receive ring to `want` bytes (at least double it, at most rxMax); the out-of-order
 * region beyond the filled bytes moves with it.
 */
function growReceiveRing(c: Connection, want: number): void {
  const old = c.rcvq!;
  const cap = Math.min(c.rxMax, Math.max(old.capacity * 2, Math.ceil(want)));
  if (cap <= old.capacity || !c.host.adjustBufferBytes(cap - old.capacity)) return;
  c.ringBytes += cap - old.capacity;
  const ring = new RingBuffer(cap);
  old.copyOut(0, ring.buf, 0, old.capacity);
  ring.length = old.length;
  c.rcvq = ring;
  c.rxSize = cap;
  c.ackNow = true;
}

export function noteDsack(c: Connection, left: number, right: number): void {
  c.dsackLeft = left;
  c.dsackRight = right;
  c.dsackPending = true;
  c.ackNow = true;
}

export function processFin(c: Connection, now: number): void {
  c.rcvFinSeq = -1;
  c.rcvNxt = seqAdd(c.rcvNxt, 1);
  c.peerClosed = true;
  c.ackNow = true;
  if (!c.orphan) c.raise(EV_READABLE);
  switch (c.state) {
    case TcpState.SynReceived:
    case TcpState.Established:
      c.state = TcpState.CloseWait;
      break;
    case TcpState.FinWait1:
      // Our FIN not yet acknowledged (else we would be in FIN_WAIT_2): simultaneous close.
      c.state = TcpState.Closing;
      break;
    case TcpState.FinWait2:
      c.enterTimeWait(now);
      break;
    default:
      break;
  }
}

/** Window field value (already shifted), with receiver SWS avoidance; never shrinks the edge. */
export function windowToAdvertise(c: Connection): number {
  const rx = c.rcvq;
  const free = rx === null ? c.rxSize : rx.capacity - rx.length;
  const curRight = seqAdd(c.rcvNxt, free);
  let right = c.rcvAdvRight;
  if (seqLt(right, c.rcvNxt)) right = c.rcvNxt;
  if (seqDiff(curRight, right) >= updateThreshold(c)) right = curRight;
  if (seqGt(right, curRight)) right = curRight; // cannot offer more than the ring holds
  let wnd = seqDiff(right, c.rcvNxt);
  let field = wnd >>> c.rcvWscale;
  if (field > 65535) field = 65535;
  wnd = field << c.rcvWscale;
  const adv = seqAdd(c.rcvNxt, wnd);
  if (seqGt(adv, c.rcvAdvRight)) c.rcvAdvRight = adv;
  return field;
}

export function windowEdgeGain(c: Connection): number {
  const rx = c.rcvq;
  const free = rx === null ? c.rxSize : rx.capacity - rx.length;
  return seqDiff(seqAdd(c.rcvNxt, free), seqMax(c.rcvAdvRight, c.rcvNxt));
}

export function updateThreshold(c: Connection): number {
  return Math.min((c.rxSize >>> 1) || 1, c.advMss);
}
