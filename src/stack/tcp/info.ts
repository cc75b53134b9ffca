/** The TCP_INFO-like snapshot of a connection (Connection.info()). */
import type { Connection } from "./connection.ts";
import { seqDiff } from "./seq.ts";
import type { TcpInfo } from "./socket.ts";

export function connectionInfo(c: Connection): TcpInfo {
  const ss = c.cc.ssthresh;
  return {
    state: c.stateName,
    srtt: c.rto.srtt,
    rttvar: c.rto.rttvar,
    rto: c.rto.current(),
    mss: c.sendMss,
    cwnd: Math.round(c.cc.cwnd),
    ssthresh: ss >= Number.MAX_SAFE_INTEGER ? Infinity : ss,
    sndWnd: c.sndWnd,
    inFlight: seqDiff(c.sndMax, c.sndUna),
    inRecovery: c.inRecovery,
    sendBuffer: c.sndq === null ? c.txSize : c.sndq.capacity,
    sendQueued: c.sndq === null ? 0 : c.sndq.length,
    recvBuffer: c.rcvq === null ? c.rxSize : c.rcvq.capacity,
    recvQueued: c.rcvq === null ? 0 : c.rcvq.length,
    windowScaling: c.wsOk,
    sack: c.sackOk,
    timestamps: c.tsOk,
    congestion: c.cc.name,
    pacingRate: Math.round(c.cc.pacingRate * 1000),
  };
}
