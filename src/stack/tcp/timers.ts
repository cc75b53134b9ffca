/**
 * Per-connection timers (retransmission with RFC 6298 backoff, persist / zero-window probes,
 * keepalive, delayed ACK, TIME_WAIT / FIN_WAIT_2 / linger). Each connection exposes one
 * `deadline`; the layer keeps connections in a heap ordered by it.
 */
import { TCP_ACK, TCP_RST } from "../wire/tcp.ts";
import { armTlp, enterRecoveryFromTimer, retransmitAt } from "./ack.ts";
import { output, persistInterval, sendAck, sendControl, sendRange, sendSyn } from "./snd.ts";
import { seqAdd, seqDiff, seqGt, seqLt } from "./seq.ts";
import type { Connection } from "./connection.ts";
import { TcpState } from "./state.ts";

/** Run the timers that are due. */
export function onTimer(c: Connection, now: number): void {
  if (c.delackAt <= now) {
    c.delackAt = Infinity;
    if (c.state >= TcpState.Established) sendAck(c);
  }
  if (c.tlpAt <= now) {
    c.tlpAt = Infinity;
    onTailLossProbe(c, now);
  }
  if (c.rtxAt <= now) {
    c.rtxAt = Infinity;
    onRetransmitTimeout(c, now);
    if (c.state === TcpState.Closed) return;
  }
  if (c.persistAt <= now) {
    c.persistAt = Infinity;
    onPersist(c, now);
  }
  if (c.keepAt <= now) {
    c.keepAt = Infinity;
    onKeepalive(c, now);
    if (c.state === TcpState.Closed) return;
  }
  if (c.paceAt <= now) {
    c.paceAt = Infinity;
    output(c); // rearms
  }
  if (c.waitAt <= now) {
    c.waitAt = Infinity;
    if (c.state === TcpState.TimeWait || c.state === TcpState.FinWait2) {
      c.finish(null);
      return;
    }
    if (c.orphan) {
      c.abort(); // linger expired
      return;
    }
  }
  c.rearm();
}

/** RFC 8985 7.3: send one new segment if allowed, else retransmit the last one, to elicit SACKs. */
export function onTailLossProbe(c: Connection, now: number): void {
  if (c.sndUna === c.sndMax || c.state < TcpState.Established) return;
  if (c.tlpBackoff < 6) c.tlpBackoff++;
  const sb = c.scoreboard;
  if (c.inRecovery) {
    // RACK-like: no progress for ~2 RTT although repairs were sent: they were lost as well.
    c.host.stats.lostRetransmits++;
    c.highRxt = c.sndUna;
    const head = seqAdd(c.sndUna, c.sendMss);
    if (seqLt(c.lostEnd, head)) c.lostEnd = seqGt(head, c.sndMax) ? c.sndMax : head;
    c.rxtMark = c.sndMax;
    // The first hole goes out now whatever pipe says (like PRR's at-least-one-segment rule).
    const hole = sb === null ? c.sndUna : sb.nextHole(c.sndUna, c.lostEnd);
    if (hole !== -1) {
      c.highRxt = hole;
      retransmitAt(c, hole, now, seqDiff(sb === null ? c.lostEnd : sb.holeEnd, hole));
    }
    output(c);
    armTlp(c, now);
    return;
  }
  if (sb !== null && sb.count > 0) {
    // Later data was SACKed ~2 RTT ago and the head is still missing: it is lost (RACK, RFC 8985).
    enterRecoveryFromTimer(c, now);
    output(c);
    armTlp(c, now);
    return;
  }
  c.host.stats.tailLossProbes++;
  const tx = c.sndq;
  const dataEnd = tx === null ? c.sndBufSeq : seqAdd(c.sndBufSeq, tx.length);
  const unsent = seqDiff(dataEnd, c.sndNxt);
  const usable = seqDiff(seqAdd(c.sndUna, c.sndWnd), c.sndNxt);
  if (unsent > 0 && usable >= Math.min(unsent, c.sendMss)) {
    const n = sendRange(c, c.sndNxt, c.sendMss + 1);
    c.sndNxt = seqAdd(c.sndNxt, n);
    if (seqGt(c.sndNxt, c.sndMax)) c.sndMax = c.sndNxt;
  } else {
    let start = seqAdd(c.sndMax, -c.sendMss);
    if (seqLt(start, c.sndUna)) start = c.sndUna;
    sendRange(c, start, seqDiff(c.sndMax, start));
    c.host.stats.retransmits++;
  }
  // A few probes with backoff (armTlp stops after MAX_PROBES); the RTO keeps its schedule, so a
  // dead path still times out exactly as without probes.
  if (c.rtxAt === Infinity) c.rtxAt = now + c.rto.current();
  armTlp(c, now);
}

export function onRetransmitTimeout(c: Connection, now: number): void {
  const st = c.state;
  const o = c.host.opts;
  c.host.stats.rtoTimeouts++;
  c.retransmits++;
  if (st === TcpState.SynSent || st === TcpState.SynReceived) {
    if (c.retransmits > o.synRetries) {
      if (c.listener !== null) c.finish(null);
      else c.fail(c.softError ?? "ETIMEDOUT");
      return;
    }
    c.rto.onTimeout();
    c.rttTiming = false;
    sendSyn(c, st === TcpState.SynReceived);
    c.rtxAt = now + c.rto.current();
    return;
  }
  if (c.sndUna === c.sndMax) return;
  if (c.retransmits > o.dataRetries) {
    sendControl(c, c.sndMax, TCP_RST | TCP_ACK);
    c.fail(c.softError ?? "ETIMEDOUT");
    return;
  }
  if (c.retransmits === 1 && c.tsOk) {
    // Remember the window so a spurious timeout can be undone (see ack.ts, Eifel).
    c.rtoUndoArmed = true;
    c.undoCwnd = c.cc.cwnd;
    c.undoSsthresh = c.cc.ssthresh;
    c.undoSeq = c.sndUna;
    c.undoTsVal = c.tsNow();
  }
  // Repairs after the timeout start now: a fast recovery beginning while they are out compares
  // its Eifel echo with this (see ack.ts enterRecovery).
  c.recoveryStartTs = c.tsNow();
  c.cc.onRto(seqDiff(c.sndMax, c.sndUna), c.sendMss, now);
  c.rto.onTimeout();
  c.rttTiming = false;
  c.dupAcks = 0;
  c.undoArmed = false;
  c.dsackUndoArmed = false;
  c.tlpAt = Infinity;
  c.recoverySeq = c.sndMax; // RFC 6582: no new fast retransmit for data sent before the timeout
  c.highRxt = c.sndUna;
  c.rtxAt = now + c.rto.current();
  if (c.sackOk) {
    // Like Linux's loss state: everything un-SACKed is lost; resend it in order (skipping what the
    // scoreboard says arrived) under slow start, with SACK still guiding the repair. A second
    // timeout in a row forgets the scoreboard in case the receiver reneged (RFC 2018 8).
    if (c.retransmits > 1 && c.scoreboard !== null) c.scoreboard.clear();
    c.inRecovery = true;
    c.afterRto = true;
    c.lostEnd = c.sndMax;
    c.rxtMark = c.sndMax;
  } else {
    c.inRecovery = false;
    c.sndNxt = c.sndUna; // go-back-N
  }
  output(c);
}


export function onPersist(c: Connection, now: number): void {
  const tx = c.sndq;
  if (tx === null || c.state < TcpState.Established) return;
  const unsent = seqDiff(seqAdd(c.sndBufSeq, tx.length), c.sndNxt);
  if (unsent <= 0 || c.sndUna !== c.sndMax) return;
  if (c.sndWnd > 0) {
    // Some window but less than SWS avoidance wanted: send what fits (RFC 9293 override timer).
    const n = sendRange(c, c.sndNxt, Math.min(c.sndWnd, unsent));
    c.sndNxt = seqAdd(c.sndNxt, n);
    if (seqGt(c.sndNxt, c.sndMax)) c.sndMax = c.sndNxt;
    if (c.rtxAt === Infinity) c.rtxAt = now + c.rto.current();
    return;
  }
  // Zero window probe: an old sequence number makes the peer answer with its window. A peer that
  // stopped answering altogether is given up on like an unacknowledged retransmission (Linux).
  if (++c.persistProbes > c.host.opts.dataRetries) {
    sendControl(c, c.sndMax, TCP_RST | TCP_ACK);
    c.fail("ETIMEDOUT");
    return;
  }
  sendControl(c, seqAdd(c.sndUna, -1), TCP_ACK);
  if (c.persistBackoff < 16) c.persistBackoff++;
  c.persistAt = now + persistInterval(c);
}

export function onKeepalive(c: Connection, now: number): void {
  if (!c.keepalive || c.state < TcpState.Established || c.state === TcpState.TimeWait) return;
  const idle = now - c.lastRecvAt;
  if (c.keepProbes === 0 && idle < c.keepIdle) {
    c.keepAt = c.lastRecvAt + c.keepIdle;
    return;
  }
  if (c.keepProbes >= c.keepCnt) {
    sendControl(c, c.sndMax, TCP_RST | TCP_ACK);
    c.fail("ETIMEDOUT");
    return;
  }
  // Probe: an already-acknowledged sequence number (snd.una - 1) must be answered with an ACK.
  sendControl(c, seqAdd(c.sndUna, -1), TCP_ACK);
  c.keepProbes++;
  c.keepAt = now + c.keepIntvl;
}
