/**
 * Segment output: what to send next (window, congestion window, Nagle, sender SWS avoidance,
 * RFC 6675 pipe-based recovery), building segments into the layer's shared transmit buffer
 * (header + options + one copy of the payload out of the send ring) and handing them to IPv4.
 */
import { IPPROTO_TCP, TRANSPORT_HEADROOM } from "../link.ts";
import { emitTcpSegment, TCP_ACK, TCP_FIN, TCP_MAX_SACK_BLOCKS, TCP_PSH, TCP_RST, TCP_SYN, tcpHeaderLength } from "../wire/tcp.ts";
import { armTlp, retransmitAt } from "./ack.ts";
import { PACE_BURST_MS } from "./congestion/types.ts";
import { windowToAdvertise } from "./rcv.ts";
import { seqAdd, seqDiff, seqGt, seqLe, seqLt, seqMax } from "./seq.ts";
import type { Connection } from "./connection.ts";
import { TcpState } from "./state.ts";

const PERSIST_MIN = 200;
const PERSIST_MAX = 60_000;

export function queueFin(c: Connection): void {
  if (c.finQueued) return;
  switch (c.state) {
    case TcpState.SynSent:
      c.finish(null);
      return;
    case TcpState.SynReceived:
    case TcpState.Established:
      c.state = TcpState.FinWait1;
      break;
    case TcpState.CloseWait:
      c.state = TcpState.LastAck;
      break;
    default:
      return;
  }
  c.finQueued = true;
  c.finSeq = seqAdd(c.sndBufSeq, c.sndq === null ? 0 : c.sndq.length);
  output(c);
  c.rearm();
}

/** Send whatever the windows, Nagle and SWS avoidance allow; then a pure ACK if one is owed. */
export function output(c: Connection): void {
  const st = c.state;
  if (
    st !== TcpState.Established &&
    st !== TcpState.CloseWait &&
    st !== TcpState.FinWait1 &&
    st !== TcpState.Closing &&
    st !== TcpState.LastAck
  ) {
    if (c.ackNow && st >= TcpState.Established) sendAck(c);
    return;
  }
  const now = c.now();
  const mss = c.sendMss;
  const tx = c.sndq;
  const dataEnd = tx === null ? c.sndBufSeq : seqAdd(c.sndBufSeq, tx.length);

  c.paceAt = Infinity; // re-armed below if pacing holds data back
  if (c.inRecovery && c.sackOk) sackRecoverySend(c, now, dataEnd);

  for (;;) {
    const unsent = Math.max(0, seqDiff(dataEnd, c.sndNxt));
    let allowance = c.cc.cwnd;
    if (c.inRecovery && !c.sackOk) allowance += c.dupAcks * mss; // RFC 6582 inflation
    else if (!c.inRecovery && c.dupAcks > 0) allowance += Math.min(c.dupAcks, 2) * mss; // RFC 3042 limited transmit
    if (c.inRecovery && c.sackOk) break; // handled by sackRecoverySend
    const wnd = Math.min(c.sndWnd, allowance);
    const usable = seqDiff(seqAdd(c.sndUna, wnd), c.sndNxt);
    let len = Math.min(unsent, mss, Math.max(usable, 0));
    const finPending = c.finQueued && seqLe(c.sndNxt, c.finSeq);
    const finNow = finPending && seqAdd(c.sndNxt, len) === c.finSeq;
    if (len === 0 && !finNow) {
      // Nothing to send while the congestion window had room, or the peer's window is what
      // stops us: delivery-rate samples taken now say nothing about the path's bandwidth.
      if ((unsent === 0 && usable > 0 && !c.finQueued) || (unsent > 0 && c.sndWnd < allowance)) c.cc.onAppLimited();
      break;
    }
    const isNew = c.sndNxt === c.sndMax;
    // Nagle and SWS avoidance apply to new data only; a retransmission resends what was sent.
    if (len > 0 && len < mss && isNew) {
      if (len < unsent) {
        // window-limited partial segment: sender SWS avoidance (RFC 9293 3.8.6.2.1)
        if (len < c.maxSndWnd >>> 1) break;
      } else if (!c.nodelay && !finNow && seqGt(c.sndSmallEnd, c.sndUna)) {
        break; // Nagle (Minshall's variant): at most one unacknowledged small segment
      }
    }
    if (len > 0 && !paceAllows(c, now, len)) break;
    const seqStart = c.sndNxt;
    const n = sendRange(c, seqStart, len + (finNow ? 1 : 0));
    if (n === 0) break;
    paceSent(c, n);
    if (!isNew) c.host.stats.retransmits++;
    c.sndNxt = seqAdd(seqStart, n);
    if (len < mss) c.sndSmallEnd = c.sndNxt;
    if (seqGt(c.sndNxt, c.sndMax)) c.sndMax = c.sndNxt;
    const flight = seqDiff(c.sndMax, c.sndUna);
    if (flight > c.flightPeak) c.flightPeak = flight;
    if (isNew && !c.rttTiming) {
      c.rttTiming = true;
      c.rttSeq = seqStart;
      c.rttTime = now;
    }
    if (c.rtxAt === Infinity) c.rtxAt = now + c.rto.current();
    if (isNew) armTlp(c, now);
  }

  // Nothing in flight but data waiting and no window: probe (persist timer).
  if (
    c.sndUna === c.sndMax &&
    seqDiff(dataEnd, c.sndNxt) > 0 &&
    c.persistAt === Infinity &&
    c.rtxAt === Infinity
  ) {
    c.persistAt = now + persistInterval(c);
  }
  if (c.ackNow) sendAck(c);
  c.rearm();
}

/** RFC 6675 5: while pipe < cwnd, retransmit lost holes first, then new data. */
export function sackRecoverySend(c: Connection, now: number, dataEnd: number): void {
  const sb = c.scoreboard;
  for (let guard = 0; guard < 1024; guard++) {
    const inFlight = pipe(c);
    // RFC 6675 says cwnd - pipe >= 1 SMSS; cwnd is in bytes here and may hold a fraction of a
    // segment, so any room at all sends one (Linux counts whole segments and rounds the same way).
    if (inFlight >= c.cc.cwnd && inFlight > 0) break;
    const from = seqMax(c.highRxt, c.sndUna);
    if (seqLt(from, c.lostEnd)) {
      const hole = sb === null ? from : sb.nextHole(from, c.lostEnd);
      if (hole !== -1) {
        const holeEnd = sb === null ? c.lostEnd : sb.holeEnd;
        if (!paceAllows(c, now, Math.min(c.sendMss, seqDiff(holeEnd, hole)))) break;
        c.highRxt = hole; // retransmitAt moves it to the end of what it sent
        const sent = retransmitAt(c, hole, now, seqDiff(holeEnd, hole));
        if (sent === 0) break;
        paceSent(c, sent);
        continue;
      }
    }
    // New data within the peer's window.
    const unsent = seqDiff(dataEnd, c.sndNxt);
    const usable = seqDiff(seqAdd(c.sndUna, c.sndWnd), c.sndNxt);
    const len = Math.min(unsent, c.sendMss, usable);
    const finNow = c.finQueued && seqLe(c.sndNxt, c.finSeq) && seqAdd(c.sndNxt, Math.max(len, 0)) === c.finSeq;
    if (len <= 0 && !finNow) break;
    if (len > 0 && !paceAllows(c, now, len)) break;
    const n = sendRange(c, c.sndNxt, Math.max(len, 0) + (finNow ? 1 : 0));
    if (n === 0) break;
    paceSent(c, n);
    c.prrOut += n;
    c.sndNxt = seqAdd(c.sndNxt, n);
    if (seqGt(c.sndNxt, c.sndMax)) c.sndMax = c.sndNxt;
  }
  if (c.tlpAt === Infinity) armTlp(c, now);
}

/**
 * Pacing: a token bucket at the congestion control's rate holding at most one burst
 * (PACE_BURST_MS of the rate, two segments at least). Returns whether `len` bytes may go now;
 * if not, arms the pacing timer for when they may. Unpaced controls (rate 0) always may.
 */
function paceAllows(c: Connection, now: number, len: number): boolean {
  const rate = c.cc.pacingRate;
  if (rate <= 0) return true;
  const burst = Math.max(2 * c.sendMss, rate * PACE_BURST_MS);
  let credit = c.paceCredit + (now - c.paceStamp) * rate;
  if (!(credit <= burst)) credit = burst; // also after a long idle (paceStamp -Infinity)
  c.paceCredit = credit;
  c.paceStamp = now;
  if (credit >= len) return true;
  const at = now + (len - credit) / rate;
  if (at < c.paceAt) c.paceAt = at;
  return false;
}

/** Charge what was just sent to the pacing budget (paced controls only). */
function paceSent(c: Connection, bytes: number): void {
  if (c.cc.pacingRate > 0) c.paceCredit -= bytes;
}

/** RFC 6675 pipe estimate: outstanding - SACKed - lost-but-not-retransmitted. */
export function pipe(c: Connection): number {
  const outstanding = seqDiff(c.sndMax, c.sndUna);
  const sb = c.scoreboard;
  if (sb === null || sb.count === 0) {
    // No SACK information: everything not yet retransmitted below lostEnd is lost.
    const from = seqMax(c.highRxt, c.sndUna);
    const lost = c.inRecovery && seqLt(from, c.lostEnd) ? seqDiff(c.lostEnd, from) : 0;
    return Math.max(0, outstanding - lost);
  }
  const sacked = sb.bytesAbove(c.sndUna);
  const from = seqMax(c.highRxt, c.sndUna);
  let lost = 0;
  if (c.inRecovery && seqLt(from, c.lostEnd)) lost = seqDiff(c.lostEnd, from) - (sb.bytesAbove(from) - sb.bytesAbove(c.lostEnd));
  return Math.max(0, outstanding - sacked - lost);
}

/**
 * Transmit the sequence range starting at seq of up to `maxSeqLen` sequence numbers (data,
 * plus our FIN if it falls inside). Returns the sequence numbers sent.
 */
export function sendRange(c: Connection, seq: number, maxSeqLen: number): number {
  const tx = c.sndq;
  const off = seqDiff(seq, c.sndBufSeq);
  const avail = tx === null ? 0 : Math.max(0, tx.length - off);
  // SACK blocks we carry eat into the payload (sendMss already accounts for timestamps).
  let optRoom = c.sendMss;
  const blocks = (c.ooo === null ? 0 : c.ooo.count) + (c.dsackPending ? 1 : 0);
  if (c.sackOk && blocks > 0) optRoom -= 4 + 8 * Math.min(blocks, c.tsOk ? 3 : TCP_MAX_SACK_BLOCKS);
  const len = Math.min(avail, maxSeqLen, optRoom);
  let flags = TCP_ACK;
  let fin = false;
  if (c.finQueued && seqAdd(seq, len) === c.finSeq && maxSeqLen > len) {
    flags |= TCP_FIN;
    fin = true;
  }
  if (len === 0 && !fin) return 0;
  if (len > 0 && off + len === (tx === null ? 0 : tx.length)) flags |= TCP_PSH;
  transmit(c, seq, flags, off, len);
  return len + (fin ? 1 : 0);
}

export function sendSyn(c: Connection, withAck: boolean): void {
  const h = c.host.hdr;
  h.reset();
  const o = c.host.opts;
  h.flags = withAck ? TCP_SYN | TCP_ACK : TCP_SYN;
  h.mss = c.advMss;
  // In a SYN-ACK only echo what the peer offered.
  if (withAck) {
    if (c.wsOk) h.wscale = c.rcvWscale;
    h.sackPermitted = c.sackOk;
    h.hasTimestamp = c.tsOk;
  } else {
    if (o.windowScaling) h.wscale = c.rcvWscale;
    h.sackPermitted = o.sack;
    h.hasTimestamp = o.timestamps;
  }
  if (h.hasTimestamp) {
    h.tsVal = c.tsNow();
    h.tsEcr = withAck ? c.tsRecent : 0;
  }
  emit(c, c.iss, withAck ? c.rcvNxt : 0, Math.min(c.rxSize, 65535), -1, 0);
  if (withAck) {
    c.rcvAdvRight = seqAdd(c.rcvNxt, Math.min(c.rxSize, 65535));
    c.lastAckSent = c.rcvNxt;
  }
}

/** Pure ACK (or window update / challenge ACK). */
export function sendAck(c: Connection): void {
  if (c.state === TcpState.Closed || c.state === TcpState.SynSent) return;
  if (c.state === TcpState.SynReceived) {
    sendSyn(c, true);
    c.ackNow = false;
    return;
  }
  // snd.max, not snd.nxt: after an RTO pulled snd.nxt back, an older sequence number would be
  // outside the peer's window and the ACK dropped (BSD does the same).
  transmit(c, c.sndMax, TCP_ACK, 0, 0);
}

/** Control segment without data (RST, keepalive or window probe). */
export function sendControl(c: Connection, seq: number, flags: number): void {
  transmit(c, seq, flags, 0, 0);
}

/** Fill the common header fields and emit a segment carrying tx[off, off+len). */
export function transmit(c: Connection, seq: number, flags: number, off: number, len: number): void {
  const h = c.host.hdr;
  h.reset();
  h.flags = flags;
  if (c.tsOk) {
    h.hasTimestamp = true;
    h.tsVal = c.tsNow();
    h.tsEcr = c.tsRecent;
  }
  if (c.sackOk && ((c.ooo !== null && c.ooo.count > 0) || c.dsackPending) && !(flags & TCP_RST)) fillSackBlocks(c);
  const win = windowToAdvertise(c);
  emit(c, seq, c.rcvNxt, win, off, len);
  if (flags & TCP_ACK) {
    c.lastAckSent = c.rcvNxt;
    c.ackNow = false;
    c.segsSinceAck = 0;
    c.delackAt = Infinity;
  }
}

/** RFC 2018 4: first block holds the most recent arrival, the rest follow in order. */
export function fillSackBlocks(c: Connection): void {
  const h = c.host.hdr;
  const max = Math.min(c.tsOk ? 3 : TCP_MAX_SACK_BLOCKS, TCP_MAX_SACK_BLOCKS);
  let n = 0;
  if (c.dsackPending) {
    // RFC 2883: a duplicate we received is reported once, as the first block (D-SACK), so the
    // sender can tell reordering from loss and undo its window reduction.
    h.sackLeft[0] = c.dsackLeft;
    h.sackRight[0] = c.dsackRight;
    n = 1;
    c.dsackPending = false;
  }
  const ooo = c.ooo;
  if (ooo === null) {
    h.sackCount = n;
    return;
  }
  const first = ooo.indexOf(c.lastOooSeq);
  if (first >= 0 && n < max) {
    h.sackLeft[n] = ooo.starts[first]!;
    h.sackRight[n] = ooo.ends[first]!;
    n++;
  }
  for (let i = 0; i < ooo.count && n < max; i++) {
    if (i === first) continue;
    h.sackLeft[n] = ooo.starts[i]!;
    h.sackRight[n] = ooo.ends[i]!;
    n++;
  }
  h.sackCount = n;
}

export function emit(c: Connection, seq: number, ack: number, window: number, off: number, len: number): void {
  const host = c.host;
  const h = host.hdr;
  h.srcPort = c.localPort;
  h.dstPort = c.remotePort;
  h.seq = seq;
  h.ack = h.flags & TCP_ACK ? ack : 0;
  h.window = window;
  const buf = host.txBuf;
  const start = TRANSPORT_HEADROOM;
  const hl = tcpHeaderLength(h);
  if (len > 0) c.sndq!.copyOut(off, buf, start + hl, len);
  const end = start + hl + len;
  emitTcpSegment(h, buf, start, end, c.localAddr, c.remoteAddr);
  host.stats.segmentsOut++;
  if (!host.ip.sendIpv4(IPPROTO_TCP, c.localAddr, c.remoteAddr, buf, start, end)) {
    c.softError = "EHOSTUNREACH";
  }
}

export function persistInterval(c: Connection): number {
  const base = Math.max(c.rto.current(), PERSIST_MIN);
  return Math.min(PERSIST_MAX, base * 2 ** c.persistBackoff);
}
