/**
 * Segment input for one connection, by state: SYN_SENT (RFC 9293 3.10.7.3) and the synchronized
 * states (3.10.7.4) with PAWS (RFC 7323), the acceptability test, RFC 5961 RST/SYN handling and
 * challenge ACKs, then ACK processing (ack.ts) and data/FIN (rcv.ts).
 */
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type TcpSegmentView } from "../wire/tcp.ts";
import { processAck } from "./ack.ts";
import type { Connection } from "./connection.ts";
import { acceptable, noteDsack, processData } from "./rcv.ts";
import { seqAdd, seqGe, seqGt, seqLe, seqLt } from "./seq.ts";
import { sendAck, sendSyn } from "./snd.ts";
import { TcpState } from "./state.ts";

export function inputSynSent(c: Connection, seg: TcpSegmentView, now: number): void {
  const f = seg.flags;
  if (f & TCP_ACK) {
    if (seqLe(seg.ack, c.iss) || seqGt(seg.ack, c.sndMax)) {
      if (!(f & TCP_RST)) c.host.sendResetFor(seg, c.localAddr, c.remoteAddr);
      return;
    }
  }
  if (f & TCP_RST) {
    // Only an RST that acknowledges our SYN is believed (RFC 9293 3.10.7.3, RFC 5961 3).
    if (f & TCP_ACK) {
      c.host.stats.resetsReceived++;
      c.fail("ECONNREFUSED");
    }
    return;
  }
  if (!(f & TCP_SYN)) return;
  c.irs = seg.seq;
  c.rcvNxt = seqAdd(seg.seq, 1);
  c.takeSynOptions(seg);
  c.lastRecvAt = now;
  if (f & TCP_ACK) {
    c.sndUna = seg.ack;
    c.sndWnd = seg.window; // RFC 7323 2.2: the window in a SYN or SYN-ACK is never scaled
    c.maxSndWnd = c.sndWnd;
    c.sndWl1 = seg.seq;
    c.sndWl2 = seg.ack;
    if (c.tsOk && seg.tsEcr !== 0 && c.retransmits === 0) c.rto.sample(c.tsNow() - seg.tsEcr);
    c.retransmits = 0;
    c.rtxAt = Infinity;
    c.rcvAdvRight = c.rcvNxt;
    c.becomeEstablished();
    // Data or FIN may ride on the SYN-ACK.
    if (seg.payloadLength > 0 || f & TCP_FIN) processData(c, seg, seqAdd(seg.seq, 1), now);
    c.ackNow = true;
  } else {
    // Simultaneous open (RFC 9293 figure 8).
    c.state = TcpState.SynReceived;
    c.sndWnd = seg.window;
    c.maxSndWnd = c.sndWnd;
    c.sndWl1 = seg.seq;
    c.sndWl2 = c.iss;
    sendSyn(c, true);
    c.rtxAt = now + c.rto.current();
  }
}

export function inputSynchronized(c: Connection, seg: TcpSegmentView, now: number): void {
  let f = seg.flags;
  let seq = seg.seq;
  /** A simultaneous-open SYN-ACK: its window is unscaled (RFC 7323 2.2). */
  let synAck = false;
  let dataLen = seg.payloadLength;

  // A retransmitted SYN (or simultaneous-open SYN-ACK) in SYN_RECEIVED.
  if (c.state === TcpState.SynReceived && f & TCP_SYN && seq === c.irs) {
    if (!(f & TCP_ACK) || f & TCP_RST) {
      if (!(f & TCP_RST)) sendSyn(c, true);
      return;
    }
    f &= ~TCP_SYN;
    seq = seqAdd(seq, 1);
    synAck = true;
  }

  // TIME_WAIT: a new SYN with a higher sequence number (or newer timestamp) reopens (RFC 6191).
  if (c.state === TcpState.TimeWait && f & TCP_SYN && !(f & (TCP_ACK | TCP_RST))) {
    return; // the layer handles reuse before delivering here; anything else is ignored
  }

  // PAWS (RFC 7323 5).
  if (c.tsOk && seg.hasTimestamp && !(f & TCP_RST) && seqLt(seg.tsVal, c.tsRecent)) {
    c.host.stats.pawsDropped++;
    sendAck(c);
    return;
  }

  const rx = c.rcvq;
  const wnd = rx === null ? c.rxSize : rx.capacity - rx.length;
  const segLen = dataLen + (f & TCP_SYN ? 1 : 0) + (f & TCP_FIN ? 1 : 0);

  if (f & TCP_RST) {
    inputReset(c, seq, wnd);
    return;
  }

  if (!acceptable(c, seq, segLen, wnd)) {
    // TIME_WAIT: the peer's FIN again means our last ACK was lost: re-ACK and restart 2*MSL.
    if (c.state === TcpState.TimeWait && f & TCP_FIN) c.waitAt = now + c.host.opts.timeWaitMs;
    // An old retransmission: report it as a D-SACK so the sender can detect spurious retransmits.
    if (dataLen > 0 && c.sackOk && seqLt(seq, c.rcvNxt)) {
      const end = seqAdd(seq, dataLen);
      noteDsack(c, seq, seqLt(end, c.rcvNxt) ? end : c.rcvNxt);
    }
    c.host.stats.outOfWindow++;
    sendAck(c);
    return;
  }

  if (f & TCP_SYN) {
    // RFC 5961 4: any SYN in a synchronized state gets a challenge ACK.
    challengeAck(c);
    return;
  }
  if (!(f & TCP_ACK)) return;

  c.lastRecvAt = now;
  c.keepProbes = 0;

  if (c.state === TcpState.SynReceived) {
    if (seqLe(seg.ack, c.sndUna) || seqGt(seg.ack, c.sndMax)) {
      c.host.sendResetFor(seg, c.localAddr, c.remoteAddr);
      return;
    }
    c.sndUna = seg.ack;
    c.sndWnd = synAck ? seg.window : seg.window << c.sndWscale;
    c.maxSndWnd = c.sndWnd;
    c.sndWl1 = seq;
    c.sndWl2 = seg.ack;
    if (c.tsOk && seg.tsEcr !== 0 && c.retransmits === 0) c.rto.sample(c.tsNow() - seg.tsEcr);
    c.retransmits = 0;
    c.rtxAt = Infinity;
    c.becomeEstablished();
    if ((c.state as TcpState) !== TcpState.Established) return; // accept queue full
  }

  if (!processAck(c, seg, seq, now)) return;

  // Timestamp to echo (RFC 7323 4.3): only from segments at or before our last ACK.
  if (c.tsOk && seg.hasTimestamp && seqLe(seq, c.lastAckSent) && seqGe(seg.tsVal, c.tsRecent)) {
    c.tsRecent = seg.tsVal;
  }

  if (dataLen > 0 || f & TCP_FIN) {
    switch (c.state) {
      case TcpState.Established:
      case TcpState.FinWait1:
      case TcpState.FinWait2:
        processData(c, seg, seq, now);
        break;
      case TcpState.TimeWait:
        // Retransmitted FIN: ACK it and restart 2MSL.
        if (f & TCP_FIN) {
          c.ackNow = true;
          c.waitAt = now + c.host.opts.timeWaitMs;
        }
        break;
      default:
        // CLOSE_WAIT, CLOSING, LAST_ACK: the peer already sent FIN; ignore and re-ACK.
        c.ackNow = true;
        break;
    }
  }
}

/** RFC 5961 3.2: exact match resets, in-window gets a challenge ACK, the rest is dropped. */
export function inputReset(c: Connection, seq: number, wnd: number): void {
  if (seq === c.rcvNxt) {
    c.host.stats.resetsReceived++;
    switch (c.state) {
      case TcpState.SynReceived:
        if (c.listener !== null) {
          // Passive open: the embryo just disappears (back to LISTEN).
          c.finish(null);
          return;
        }
        c.fail("ECONNREFUSED");
        return;
      case TcpState.TimeWait:
        return; // RFC 1337: ignore RST in TIME_WAIT
      case TcpState.Closing:
      case TcpState.LastAck:
        c.finish(null);
        return;
      default:
        c.fail("ECONNRESET");
        return;
    }
  }
  if (seqGt(seq, c.rcvNxt) && seqLt(seq, seqAdd(c.rcvNxt, Math.max(wnd, 1)))) {
    challengeAck(c);
  }
}

export function challengeAck(c: Connection): void {
  if (!c.host.challengeAckAllowed()) return;
  c.host.stats.challengeAcks++;
  sendAck(c);
}
