/**
 * The sending half of segment input: ACK acceptance (RFC 5961 5), SACK scoreboard updates,
 * RTT samples, congestion-control callbacks, duplicate-ACK counting and entry into fast
 * retransmit / fast recovery (RFC 5681, RFC 6582 NewReno, RFC 6675 SACK-based, RFC 5827 early
 * retransmit), PRR pacing (RFC 6937), undo of spurious recoveries and timeouts (Eifel with
 * timestamps, D-SACK), loss-probe arming, and send-buffer autotuning.
 */
import { TCP_FIN, TCP_SYN, type TcpSegmentView } from "../wire/tcp.ts";
import { EV_WRITABLE } from "./events.ts";
import { RingBuffer } from "./ring-buffer.ts";
import { SeqRangeSet } from "./seq-ranges.ts";
import { pipe, sendAck, sendRange } from "./snd.ts";
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt } from "./seq.ts";
import type { Connection } from "./connection.ts";
import { TcpState } from "./state.ts";

/** Sender scoreboard size (SACKed ranges): at first, and at most (see rcv.ts OOO_RANGES). */
const SCOREBOARD_RANGES_FIRST = 16;
const SCOREBOARD_RANGES = 256;
/** Loss probes in a row without an ACK advancing snd.una before only the RTO remains. */
const MAX_PROBES = 4;
/** Highest duplicate-ACK threshold reordering may push us to. */
const MAX_DUP_THRESH = 24;

/** Returns false when the segment must be dropped. */
export function processAck(c: Connection, seg: TcpSegmentView, seq: number, now: number): boolean {
  const ack = seg.ack;
  // RFC 5961 5.2: acceptable ACKs lie in [snd.una - max.snd.wnd, snd.max].
  if (seqGt(ack, c.sndMax)) {
    sendAck(c);
    return false;
  }
  if (seqLt(ack, seqAdd(c.sndUna, -Math.max(c.maxSndWnd, 1)))) {
    sendAck(c);
    return false;
  }

  const newWnd = seg.window << c.sndWscale;
  const unaBefore = c.sndUna;
  const lostEndBefore = c.inRecovery ? c.lostEnd : unaBefore;
  const sackedBefore = c.scoreboard === null ? 0 : c.scoreboard.bytesAbove(c.sndUna);
  const dsack = c.sackOk && seg.sackCount > 0 && takeSack(c, seg, ack);
  if (dsack && c.dsackUndoArmed) {
    // RFC 3708 style: each D-SACK proves one of our retransmissions was unnecessary.
    c.undoRetrans -= Math.max(1, Math.ceil(seqDiff(seg.sackRight[0]!, seg.sackLeft[0]!) / c.sendMss));
    if (c.undoRetrans <= 0 && !c.inRecovery) undoRecovery(c);
  }

  if (seqGt(ack, c.sndUna)) {
    onNewAck(c, ack, seg, now);
    if (c.sackOk) sackLossCheck(c, now);
  } else if (
    ack === c.sndUna &&
    seg.payloadLength === 0 &&
    !(seg.flags & (TCP_SYN | TCP_FIN)) &&
    newWnd === c.sndWnd &&
    !dsack && // a D-SACK reports a duplicate we caused, not a new hole
    c.sndMax !== c.sndUna
  ) {
    onDupAck(c, now);
  } else if (c.sackOk && seg.sackCount > 0) {
    sackLossCheck(c, now);
  }
  // Bytes this ACK delivered, cumulatively or by SACK: what a model-based control learns from,
  // and what PRR paces a loss-based one's recovery by.
  const modelBased = !c.cc.lossBased;
  if (modelBased || (c.inRecovery && !c.afterRto && c.sackOk)) {
    const sackedAfter = c.scoreboard === null ? 0 : c.scoreboard.bytesAbove(c.sndUna);
    const delivered = seqDiff(c.sndUna, unaBefore) + sackedAfter - sackedBefore;
    if (!modelBased) proportionalRateReduction(c, delivered);
    else if (delivered > 0) modelDelivery(c, delivered, lostEndBefore, now);
  }

  // Window update (RFC 9293 3.10.7.4, SND.WL1/WL2 rule).
  if (seqLt(c.sndWl1, seq) || (c.sndWl1 === seq && seqLe(c.sndWl2, ack))) {
    const opened = newWnd > c.sndWnd;
    c.sndWnd = newWnd;
    c.sndWl1 = seq;
    c.sndWl2 = ack;
    if (newWnd > c.maxSndWnd) c.maxSndWnd = newWnd;
    if (opened && newWnd > 0 && c.persistAt !== Infinity) {
      c.persistAt = Infinity;
      c.persistBackoff = 0;
    }
  }

  // Our FIN acknowledged?
  if (c.finQueued && seqGt(ack, c.finSeq)) {
    switch (c.state) {
      case TcpState.FinWait1:
        c.state = TcpState.FinWait2;
        if (c.orphan) {
          c.waitAt = now + c.host.opts.finWait2Ms;
        }
        break;
      case TcpState.Closing:
        c.enterTimeWait(now);
        return false;
      case TcpState.LastAck:
        c.finish(null);
        return false;
      default:
        break;
    }
  }
  return true;
}

/**
 * A model-based control sees every delivery, in or out of recovery. Its rounds end when data sent
 * after the round began is delivered, SACKed or not, so they keep ticking while a hole holds
 * snd.una back (Linux counts them by delivery too).
 */
function modelDelivery(c: Connection, delivered: number, lostEndBefore: number, now: number): void {
  const highest = c.scoreboard === null ? c.sndUna : c.scoreboard.highest(c.sndUna);
  const roundEnd = seqGt(highest, c.modelRoundSeq);
  if (roundEnd) c.modelRoundSeq = c.sndMax;
  c.cc.onDelivered(delivered, newlyLost(c, lostEndBefore), pipe(c), c.sendMss, now, roundEnd);
}

/** Bytes this ACK newly deemed lost: un-SACKed bytes the loss boundary moved over. */
function newlyLost(c: Connection, lostEndBefore: number): number {
  if (!c.inRecovery || c.afterRto) return 0; // a timeout's losses went to onRto
  const from = seqLt(lostEndBefore, c.sndUna) ? c.sndUna : lostEndBefore;
  if (!seqLt(from, c.lostEnd)) return 0;
  const sb = c.scoreboard;
  const sacked = sb === null ? 0 : sb.bytesAbove(from) - sb.bytesAbove(c.lostEnd);
  return Math.max(0, seqDiff(c.lostEnd, from) - sacked);
}

/** Record SACK blocks; returns true if the first block is a D-SACK (RFC 2883). */
export function takeSack(c: Connection, seg: TcpSegmentView, ack: number): boolean {
  let sb = c.scoreboard;
  if (sb === null) sb = c.scoreboard = new SeqRangeSet(SCOREBOARD_RANGES_FIRST, SCOREBOARD_RANGES);
  const l0 = seg.sackLeft[0]!;
  const r0 = seg.sackRight[0]!;
  const dsack =
    seqLe(r0, ack) ||
    (seg.sackCount > 1 && seqLe(seg.sackLeft[1]!, l0) && seqLe(r0, seg.sackRight[1]!));
  for (let i = 0; i < seg.sackCount; i++) {
    const l = seg.sackLeft[i]!;
    const r = seg.sackRight[i]!;
    // Ignore D-SACKs and blocks outside what we sent.
    if (seqLe(r, ack) || seqLe(l, c.sndUna) || seqGt(r, c.sndMax) || !seqLt(l, r)) continue;
    sb.add(l, r);
  }
  return dsack;
}

export function onNewAck(c: Connection, ack: number, seg: TcpSegmentView, now: number): void {
  const acked = seqDiff(ack, c.sndUna);
  const tx = c.sndq;
  let dataAcked = 0;
  if (tx !== null) {
    dataAcked = Math.min(Math.max(seqDiff(ack, c.sndBufSeq), 0), tx.length);
    if (dataAcked > 0) {
      tx.consume(dataAcked);
      c.sndBufSeq = seqAdd(c.sndBufSeq, dataAcked);
    }
  }
  c.sndUna = ack;
  if (seqLt(c.sndNxt, ack)) c.sndNxt = ack;
  if (seqLt(c.highRxt, ack)) c.highRxt = ack;

  // RTT: Karn's timed segment, measured with the clock's full (sub-ms) precision -- on a LAN the
  // RTT is well below the 1 ms timestamp tick and the loss-probe timers need the real value.
  // Timestamp echoes (RFC 7323 4.1) only fill in until the first timed sample.
  if (c.rttTiming && seqGt(ack, c.rttSeq)) {
    c.rttTiming = false;
    c.rto.sample(now - c.rttTime);
    c.cc.onRttSample(now - c.rttTime, true, now);
  } else if (c.tsOk && seg.hasTimestamp && seg.tsEcr !== 0) {
    const rtt = c.tsNow() - seg.tsEcr;
    if (!c.rto.measured) c.rto.sample(rtt);
    c.cc.onRttSample(rtt, false, now); // per-ACK samples feed HyStart++
  }
  c.retransmits = 0;
  c.tlpBackoff = 0;
  if (c.scoreboard !== null) c.scoreboard.removeBelow(ack);

  // Spurious RTO (Eifel detection, RFC 3522/4015): the first ACK after the timeout covers the
  // retransmitted segment but echoes the original's older timestamp -- the ACKs were only late.
  if (c.rtoUndoArmed && seqGt(ack, c.undoSeq)) {
    c.rtoUndoArmed = false;
    if (seg.hasTimestamp && seg.tsEcr !== 0 && seqLt(seg.tsEcr, c.undoTsVal)) {
      c.host.stats.spuriousRtos++;
      restoreWindow(c);
      c.inRecovery = false;
      c.afterRto = false;
      c.recoverySeq = c.sndUna;
      if (seqLt(c.sndNxt, c.sndMax)) c.sndNxt = c.sndMax; // no go-back-N resend of what arrived
    }
  }

  // Eifel (RFC 3522): the ACK covering our first retransmission echoes a timestamp older than
  // that retransmission, so the original arrived -- the "loss" was reordering. Undo.
  if (c.inRecovery && c.undoArmed && seqGt(ack, c.undoSeq)) {
    c.undoArmed = false;
    if (seg.hasTimestamp && seg.tsEcr !== 0 && seqLt(seg.tsEcr, c.undoTsVal)) {
      c.host.stats.spuriousRecoveries++;
      restoreWindow(c);
      c.inRecovery = false;
      c.dupThresh = Math.min(c.dupThresh * 2, MAX_DUP_THRESH);
      c.recoverySeq = c.sndUna;
      c.dsackUndoArmed = false;
    }
  }

  if (c.inRecovery) {
    if (seqGe(ack, c.recoverySeq)) {
      c.inRecovery = false;
      c.cc.onExitRecovery(c.sendMss, now, c.afterRto);
      c.afterRto = false;
      if (c.dsackUndoArmed && c.undoRetrans <= 0) undoRecovery(c);
    } else {
      // Partial ACK: the segment now at the head was sent before recovery began and is still
      // missing although our later retransmission arrived -- it is lost too (RFC 6582 spirit).
      const head = seqAdd(c.sndUna, c.sendMss);
      if (c.sackOk && seqLt(c.lostEnd, head)) c.lostEnd = seqGt(head, c.sndMax) ? c.sndMax : head;
      if (c.afterRto) c.cc.onAck(acked, c.sendMss, now, c.rto.srtt); // slow start while repairing after an RTO
    }
    if (!c.inRecovery) {
      // exited above
    } else if (c.afterRto || c.sackOk) {
      // SACK recovery needs nothing more here: output() sends by pipe.
    } else {
      // NewReno partial ACK (RFC 6582 3.2): retransmit the next unacknowledged segment.
      retransmitAt(c, c.sndUna, now);
      c.dupAcks = 0;
    }
  } else if (2 * Math.max(c.flightPeak, c.flightPeakPrev) >= c.cc.cwnd) {
    // Grow only while the window is actually used (RFC 7661 spirit, Linux's is_cwnd_limited):
    // an application-limited or receiver-limited sender must not inflate cwnd without bound.
    c.cc.onAck(acked, c.sendMss, now, c.rto.srtt);
  }
  if (seqGe(ack, c.flightPeakSeq)) {
    // A window's worth was acknowledged: start measuring the next window's peak.
    c.cc.onRoundEnd(); // loss-based controls' rounds (BBR counts its own, by delivery)
    c.flightPeakPrev = c.flightPeak;
    c.flightPeak = seqDiff(c.sndMax, c.sndUna);
    c.flightPeakSeq = c.sndMax;
  }
  if (!c.inRecovery) c.dupAcks = 0;

  c.rtxAt = c.sndUna === c.sndMax ? Infinity : now + c.rto.current();
  armTlp(c, now);
  if (c.sndBlocked && c.txSize < c.txMax && 2 * c.cc.cwnd > c.txSize) growSendRing(c);
  if (dataAcked > 0 && !c.orphan) c.raise(EV_WRITABLE);
}

/**
 * Send autotuning (Linux keeps sndbuf ~ 2 * cwnd): the application was blocked on a full ring
 * while the congestion window could use more than half of it. Double the ring.
 */
function growSendRing(c: Connection): void {
  c.sndBlocked = false;
  const old = c.sndq;
  const cap = Math.min(c.txMax, c.txSize * 2);
  if (cap <= c.txSize) return;
  if (old !== null) {
    if (!c.host.adjustBufferBytes(cap - old.capacity)) return;
    c.ringBytes += cap - old.capacity;
    const ring = new RingBuffer(cap);
    old.copyOut(0, ring.buf, 0, old.length);
    ring.length = old.length;
    c.sndq = ring;
  }
  c.txSize = cap;
}

/**
 * Arm the tail loss probe (RFC 8985 7.2): with SACK and data in flight outside recovery, probe
 * after ~2 RTTs so a lost tail is repaired by SACK recovery instead of waiting for the RTO.
 */
export function armTlp(c: Connection, now: number): void {
  // After an RTO (or a few probes without progress) the backed-off RTO is in charge: a dead
  // path must not be probed every few milliseconds.
  if (!c.sackOk || c.sndUna === c.sndMax || !c.rto.measured || c.afterRto || c.tlpBackoff >= MAX_PROBES) {
    c.tlpAt = Infinity;
    return;
  }
  // Linux floors this at 2 jiffies; our event-loop timers have ~1 ms granularity, so 1 ms.
  let pto = Math.max(2 * c.rto.srtt, 1) * 2 ** c.tlpBackoff;
  if (seqDiff(c.sndMax, c.sndUna) <= c.sendMss) pto += c.host.opts.delayedAckMs + 10; // lone segment: delayed ACK
  c.tlpAt = pto < c.rto.current() ? now + pto : Infinity;
}

/** Entry for the probe timer: fast retransmit when SACKs prove later data got through. */
export function enterRecoveryFromTimer(c: Connection, now: number): void {
  enterRecovery(c, now);
}

export function onDupAck(c: Connection, now: number): void {
  c.dupAcks++;
  if (c.inRecovery) {
    if (c.sackOk) sackLossCheck(c, now);
    return; // output() uses the inflated allowance / pipe
  }
  if (c.dupAcks >= dupThreshNow(c) && recoveryAllowed(c)) enterRecovery(c, now);
  else if (c.sackOk) sackLossCheck(c, now);
}

/**
 * SACK-based loss detection (RFC 6675 IsLost) and, inside recovery, IsLost marking of the
 * lost range plus detection of lost retransmissions (segments sent after our latest
 * retransmission were SACKed well above it, so it must have been lost too).
 */
function sackLossCheck(c: Connection, now: number): void {
  const sb = c.scoreboard;
  if (sb === null || sb.count === 0) return;
  const mss = c.sendMss;
  if (!c.inRecovery) {
    if (sb.bytesAbove(c.sndUna) > (dupThreshNow(c) - 1) * mss && recoveryAllowed(c)) enterRecovery(c, now);
    return;
  }
  const hs = sb.highest(c.sndUna);
  const le = lossBoundary(c);
  if (seqGt(le, c.lostEnd)) c.lostEnd = le;
  if (seqGt(c.highRxt, c.sndUna) && seqGt(hs, seqAdd(c.rxtMark, c.dupThresh * mss))) {
    c.host.stats.lostRetransmits++;
    c.highRxt = c.sndUna;
    c.rxtMark = c.sndMax;
  }
}

/**
 * RFC 6582 forbids a new fast retransmit before the previous recovery point is acknowledged
 * (dupACKs for data sent before it are not news). With SACK the scoreboard tells new losses
 * apart, so reaching the recovery point suffices (RFC 6675 5).
 */
function recoveryAllowed(c: Connection): boolean {
  return c.sackOk ? seqGe(c.sndUna, c.recoverySeq) : seqGt(c.sndUna, c.recoverySeq);
}

/** Early retransmit (RFC 5827): with fewer than dupThresh+1 segments out, a smaller threshold. */
function dupThreshNow(c: Connection): number {
  const segs = Math.ceil(seqDiff(c.sndMax, c.sndUna) / c.sendMss);
  if (segs < 2 || segs > c.dupThresh) return c.dupThresh;
  // Only when no new data could go out instead (limited transmit would produce more dupACKs).
  const tx = c.sndq;
  const unsent = tx === null ? 0 : seqDiff(seqAdd(c.sndBufSeq, tx.length), c.sndMax);
  const room = seqDiff(seqAdd(c.sndUna, Math.min(c.sndWnd, c.cc.cwnd + 2 * c.sendMss)), c.sndMax);
  if (unsent > 0 && room >= Math.min(unsent, c.sendMss)) return c.dupThresh;
  return segs - 1;
}

/**
 * PRR (RFC 6937): during fast recovery, pace what may be sent by what the ACKs report delivered,
 * reducing smoothly toward ssthresh (proportional part) and, once pipe is below ssthresh,
 * growing back by at most what was delivered plus one segment (slow-start reduction bound).
 * Sets cwnd = pipe + sndcnt for the sending code, which compares pipe against cwnd.
 */
function proportionalRateReduction(c: Connection, delivered: number): void {
  if (delivered > 0) c.prrDelivered += delivered;
  const inFlight = pipe(c);
  const ssthresh = c.cc.ssthresh;
  let sndcnt: number;
  if (inFlight > ssthresh) {
    sndcnt = Math.ceil((c.prrDelivered * ssthresh) / c.recoverFs) - c.prrOut;
  } else {
    sndcnt = Math.min(ssthresh - inFlight, Math.max(c.prrDelivered - c.prrOut, delivered) + c.sendMss);
  }
  c.cc.cwnd = inFlight + Math.max(sndcnt, 0);
}

/** A recovery or timeout proved spurious: the control ends it and gets its window back. */
function restoreWindow(c: Connection): void {
  c.cc.onUndo();
  c.cc.cwnd = Math.max(c.cc.cwnd, c.undoCwnd);
  c.cc.ssthresh = c.undoSsthresh;
}

/** Every retransmission of the last fast recovery was D-SACKed: it was reordering, not loss. */
function undoRecovery(c: Connection): void {
  c.dsackUndoArmed = false;
  c.host.stats.spuriousRecoveries++;
  restoreWindow(c);
  c.dupThresh = Math.min(c.dupThresh * 2, MAX_DUP_THRESH);
}

/**
 * RFC 6675 IsLost as a boundary: un-SACKed data below the point with more than
 * (DupThresh - 1) * MSS SACKed bytes above it is lost; data above it may merely be reordered.
 */
function lossBoundary(c: Connection): number {
  const sb = c.scoreboard;
  if (sb === null || sb.count === 0) return c.sndUna;
  const need = (c.dupThresh - 1) * c.sendMss + 1;
  let acc = 0;
  for (let i = sb.count - 1; i >= 0; i--) {
    const len = seqDiff(sb.ends[i]!, sb.starts[i]!);
    if (acc + len >= need) return seqAdd(sb.ends[i]!, -(need - acc));
    acc += len;
  }
  return c.sndUna;
}

/** Fast retransmit + fast recovery (RFC 5681 3.2, RFC 6582, RFC 6675 5). */
function enterRecovery(c: Connection, now: number): void {
  c.host.stats.fastRetransmits++;
  c.inRecovery = true;
  c.afterRto = false;
  c.tlpAt = Infinity;
  c.recoverySeq = c.sndMax;
  // The recovery that just ended may have repaired holes past its recovery point: those below
  // highRxt were retransmitted and may be on their way. If such a repair fills the head, Eifel
  // must not call this recovery spurious (with BBR, which keeps its window, that made most
  // recoveries "spurious" and raised dupThresh to its cap): only an echo older than the last
  // recovery's start proves the original arrived (reordering). D-SACKs cannot tell the two
  // recoveries' retransmissions apart, so that undo stays off. The head is resent all the same:
  // a lost repair at the tail of a transfer is found no other way.
  const repairing = c.sackOk && seqGt(c.highRxt, c.sndUna);
  const startTs = c.tsNow();
  c.undoCwnd = c.cc.cwnd;
  c.undoSsthresh = c.cc.ssthresh;
  c.undoArmed = c.tsOk;
  c.dsackUndoArmed = c.sackOk && !repairing;
  c.undoRetrans = 0;
  c.undoSeq = c.sndUna;
  c.undoTsVal = repairing ? c.recoveryStartTs : startTs;
  c.recoveryStartTs = startTs;
  c.prrDelivered = 0;
  c.prrOut = 0;
  c.recoverFs = Math.max(seqDiff(c.sndMax, c.sndUna), 1);
  c.highRxt = c.sndUna;
  const sb = c.scoreboard;
  const le = lossBoundary(c);
  const first = seqAdd(c.sndUna, c.sendMss);
  c.lostEnd = seqGt(le, first) ? le : seqGt(first, c.sndMax) ? c.sndMax : first;
  c.cc.onEnterRecovery(seqDiff(c.sndMax, c.sndUna), c.sendMss, now, pipe(c));
  let len = c.sendMss;
  if (sb !== null && sb.count > 0 && sb.nextHole(c.sndUna, c.sndMax) !== -1) len = seqDiff(sb.holeEnd, c.sndUna);
  retransmitAt(c, c.sndUna, now, len);
  c.rtxAt = now + c.rto.current();
}

/** Retransmit one segment starting at seq (fast retransmit / partial ACK / SACK hole). */
export function retransmitAt(c: Connection, seq: number, _now: number, maxLen = c.sendMss): number {
  // Never beyond snd.max: bytes past it are new data (window and sequence accounting are
  // output()'s business), and never past the hole being repaired.
  const n = sendRange(c, seq, Math.min(maxLen, c.sendMss, seqDiff(c.sndMax, seq)));
  if (n > 0) {
    c.host.stats.retransmits++;
    if (c.dsackUndoArmed) c.undoRetrans++;
    if (c.inRecovery) c.prrOut += n;
    const end = seqAdd(seq, n);
    if (seqGt(end, c.highRxt)) c.highRxt = end;
    c.rxtMark = c.sndMax;
    if (c.rttTiming && seqLe(seq, c.rttSeq)) c.rttTiming = false; // Karn
  }
  return n;
}
