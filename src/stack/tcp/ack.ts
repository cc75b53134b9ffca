/**
 * The sending half of segment input: ACK acceptance (RFC 5961 5), SACK scoreboard updates,
 * RTT samples, congestion-control callbacks, duplicate-ACK counting and entry into fast
 * retransmit / fast recovery (RFC 5681, RFC 6582 NewReno, RFC 6675 SACK-based).
 */
import { TCP_FIN, TCP_SYN, type TcpSegmentView } from "../wire/tcp.ts";
import { EV_WRITABLE } from "./events.ts";
import { SeqRangeSet } from "./seq-ranges.ts";
import { sendAck, sendRange } from "./snd.ts";
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt } from "./seq.ts";
import type { Connection } from "./connection.ts";
import { TcpState } from "./state.ts";

/** Sender scoreboard size (SACKed ranges). */
const SCOREBOARD_RANGES = 32;
const DUP_THRESH = 3;

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
  if (c.sackOk && seg.sackCount > 0) takeSack(c, seg, ack);

  if (seqGt(ack, c.sndUna)) {
    onNewAck(c, ack, seg, now);
  } else if (
    ack === c.sndUna &&
    seg.payloadLength === 0 &&
    !(seg.flags & (TCP_SYN | TCP_FIN)) &&
    newWnd === c.sndWnd &&
    c.sndMax !== c.sndUna
  ) {
    onDupAck(c, now);
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

export function takeSack(c: Connection, seg: TcpSegmentView, ack: number): void {
  let sb = c.scoreboard;
  if (sb === null) sb = c.scoreboard = new SeqRangeSet(SCOREBOARD_RANGES);
  for (let i = 0; i < seg.sackCount; i++) {
    const l = seg.sackLeft[i]!;
    const r = seg.sackRight[i]!;
    // Ignore D-SACKs and blocks outside what we sent.
    if (seqLe(r, ack) || seqLe(l, c.sndUna) || seqGt(r, c.sndMax) || !seqLt(l, r)) continue;
    sb.add(l, r);
  }
}

export function onNewAck(c: Connection, ack: number, seg: TcpSegmentView, now: number): void {
  const acked = seqDiff(ack, c.sndUna);
  const tx = c.tx;
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

  // RTT: timestamps when present (RFC 7323 4.1), else Karn's timed segment.
  if (c.tsOk && seg.hasTimestamp && seg.tsEcr !== 0) {
    c.rto.sample(c.tsNow() - seg.tsEcr);
  } else if (c.rttTiming && seqGt(ack, c.rttSeq)) {
    c.rttTiming = false;
    c.rto.sample(now - c.rttTime);
  }
  c.retransmits = 0;
  if (c.scoreboard !== null) c.scoreboard.removeBelow(ack);

  if (c.inRecovery) {
    if (seqGe(ack, c.recoverySeq)) {
      c.inRecovery = false;
      c.cc.onExitRecovery(c.sendMss, now);
    } else if (!c.sackOk) {
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
    c.flightPeakPrev = c.flightPeak;
    c.flightPeak = seqDiff(c.sndMax, c.sndUna);
    c.flightPeakSeq = c.sndMax;
  }
  if (!c.inRecovery) c.dupAcks = 0;

  c.rtxAt = c.sndUna === c.sndMax ? Infinity : now + c.rto.current();
  if (dataAcked > 0 && !c.orphan) c.raise(EV_WRITABLE);
}

export function onDupAck(c: Connection, now: number): void {
  c.dupAcks++;
  if (c.inRecovery) return; // output() uses the inflated allowance / pipe
  const sb = c.scoreboard;
  const sackLoss = c.sackOk && sb !== null && sb.bytesAbove(c.sndUna) > (DUP_THRESH - 1) * c.sendMss;
  if ((c.dupAcks >= DUP_THRESH || sackLoss) && seqGt(c.sndUna, c.recoverySeq)) {
    c.host.stats.fastRetransmits++;
    c.inRecovery = true;
    c.recoverySeq = c.sndMax;
    c.cc.onEnterRecovery(seqDiff(c.sndMax, c.sndUna), c.sendMss, now);
    c.highRxt = c.sndUna;
    retransmitAt(c, c.sndUna, now);
    c.rtxAt = now + c.rto.current();
  }
}

/** Retransmit one segment starting at seq (fast retransmit / partial ACK / SACK hole). */
export function retransmitAt(c: Connection, seq: number, _now: number): number {
  const n = sendRange(c, seq, c.sendMss);
  if (n > 0) {
    c.host.stats.retransmits++;
    const end = seqAdd(seq, n);
    if (seqGt(end, c.highRxt)) c.highRxt = end;
    if (c.rttTiming && seqLe(seq, c.rttSeq)) c.rttTiming = false; // Karn
  }
  return n;
}
