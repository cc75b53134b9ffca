/**
 * getsockopt/setsockopt for program sockets, answered as Linux answers them for a TCP socket.
 * Options that change behaviour reach the stack (TCP_NODELAY, keepalive, SO_LINGER, buffer sizes);
 * options that only tune timing on Linux are accepted and recorded (so a get returns what was set);
 * anything else is ENOPROTOOPT, the kernel's answer to an option it does not know.
 */
import type { NetconSocket } from "./netcon-socket.ts";
import { congestionByName, type CongestionName, linuxCongestionName } from "../stack/tcp/congestion/index.ts";
import {
  CONGESTION_CODES,
  Errno,
  IP_TOS,
  IP_TTL,
  IPPROTO_IP,
  IPPROTO_TCP,
  SO_ACCEPTCONN,
  SO_ERROR,
  SO_KEEPALIVE,
  SO_LINGER,
  SO_RCVBUF,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SO_SNDBUF,
  SO_TYPE,
  SOL_SOCKET,
  SockState,
  TCP_CORK,
  TCP_DEFER_ACCEPT,
  TCP_FASTOPEN,
  TCP_KEEPCNT,
  TCP_KEEPIDLE,
  TCP_KEEPINTVL,
  TCP_MAXSEG,
  TCP_CONGESTION,
  TCP_NODELAY,
  TCP_NOTSENT_LOWAT,
  TCP_QUICKACK,
  TCP_USER_TIMEOUT,
} from "./protocol.ts";

const SO_DOMAIN = 39;
const SO_PROTOCOL = 38;
/** Linux's floor for SO_RCVBUF / SO_SNDBUF (after doubling). */
const RCVBUF_MIN = 2304;
const SNDBUF_MIN = 4608;
/** Largest buffer we let a program ask for (the stack's rings are allocated at this size). */
const BUF_MAX = 16 << 20;

/** TCP and IP options accepted and only recorded: they tune timing, never correctness. */
const RECORDED = new Set<number>([
  (IPPROTO_TCP << 16) | TCP_CORK,
  (IPPROTO_TCP << 16) | TCP_QUICKACK,
  (IPPROTO_TCP << 16) | TCP_DEFER_ACCEPT,
  (IPPROTO_TCP << 16) | TCP_FASTOPEN,
  (IPPROTO_TCP << 16) | TCP_USER_TIMEOUT,
  (IPPROTO_TCP << 16) | TCP_NOTSENT_LOWAT,
  (IPPROTO_TCP << 16) | TCP_MAXSEG,
  (IPPROTO_IP << 16) | IP_TOS,
  (IPPROTO_IP << 16) | IP_TTL,
]);
const RECORDED_DEFAULTS = new Map<number, number>([[(IPPROTO_IP << 16) | IP_TTL, 64]]);

export interface SockoptValue {
  err: number;
  v0: number;
  v1: number;
}

const result: SockoptValue = { err: 0, v0: 0, v1: 0 };
function ok(v0: number, v1 = 0): SockoptValue {
  result.err = 0;
  result.v0 = v0;
  result.v1 = v1;
  return result;
}
function fail(err: number): SockoptValue {
  result.err = err;
  result.v0 = 0;
  result.v1 = 0;
  return result;
}

/** TCP_CONGESTION's int on the wire: the index of the Linux name in CONGESTION_CODES. */
function congestionCode(name: CongestionName): number {
  return (CONGESTION_CODES as readonly string[]).indexOf(linuxCongestionName(name));
}

/** getsockopt. The returned object is reused: read it before the next call. */
export function readSockopt(s: NetconSocket, level: number, name: number): SockoptValue {
  const o = s.opts;
  if (level === SOL_SOCKET) {
    switch (name) {
      case SO_ERROR: {
        let e = s.error;
        if (e === 0 && s.bridge?.tcpError) e = Errno.ECONNRESET;
        s.error = 0;
        return ok(e);
      }
      case SO_TYPE:
        return ok(1);
      case SO_DOMAIN:
        return ok(2);
      case SO_PROTOCOL:
        return ok(6);
      case SO_ACCEPTCONN:
        return ok(s.state === SockState.LISTENING ? 1 : 0);
      case SO_KEEPALIVE:
        return ok(o.keepalive ? 1 : 0);
      case SO_REUSEADDR:
        return ok(o.reuseAddr ? 1 : 0);
      case SO_REUSEPORT:
        return ok(o.reusePort ? 1 : 0);
      case SO_RCVBUF:
        return ok(o.rcvbuf);
      case SO_SNDBUF:
        return ok(o.sndbuf);
      case SO_LINGER:
        return ok(o.lingerS === null ? 0 : 1, o.lingerS ?? 0);
      default:
        return fail(Errno.ENOPROTOOPT);
    }
  }
  if (level === IPPROTO_TCP) {
    switch (name) {
      case TCP_NODELAY:
        return ok(o.nodelay ? 1 : 0);
      case TCP_KEEPIDLE:
        return ok(o.keepIdleS);
      case TCP_KEEPINTVL:
        return ok(o.keepIntvlS);
      case TCP_KEEPCNT:
        return ok(o.keepCnt);
      case TCP_MAXSEG:
        return ok(s.tcp?.mss ?? o.recorded.get((IPPROTO_TCP << 16) | TCP_MAXSEG) ?? 536);
      case TCP_CONGESTION:
        return ok(congestionCode(s.tcp?.congestion ?? o.congestion));
    }
  }
  const key = (level << 16) | name;
  if (RECORDED.has(key)) return ok(o.recorded.get(key) ?? RECORDED_DEFAULTS.get(key) ?? 0);
  return fail(Errno.ENOPROTOOPT);
}

/** setsockopt: 0 or an errno. v2 is SO_LINGER's l_linger. */
export function applySockopt(s: NetconSocket, level: number, name: number, v: number, v2: number): number {
  const o = s.opts;
  const t = s.tcp;
  if (level === SOL_SOCKET) {
    switch (name) {
      case SO_KEEPALIVE:
        o.keepalive = v !== 0;
        t?.setKeepalive(o.keepalive, o.keepIdleS * 1000, o.keepIntvlS * 1000, o.keepCnt);
        return 0;
      case SO_REUSEADDR:
        o.reuseAddr = v !== 0;
        return 0;
      case SO_REUSEPORT:
        o.reusePort = v !== 0;
        return 0;
      case SO_LINGER:
        o.lingerS = v !== 0 ? Math.max(0, v2) : null;
        if (t !== null) t.linger = o.lingerS === null ? null : o.lingerS * 1000;
        return 0;
      case SO_RCVBUF:
      case SO_SNDBUF: {
        // Linux doubles the value (bookkeeping overhead) and clamps it; a get returns the double.
        const rcv = name === SO_RCVBUF;
        const size = Math.min(BUF_MAX, Math.max(rcv ? RCVBUF_MIN : SNDBUF_MIN, Math.max(0, v) * 2));
        if (rcv) {
          o.rcvbuf = size;
          o.rcvbufSet = true;
        } else {
          o.sndbuf = size;
          o.sndbufSet = true;
        }
        try {
          t?.setBufferSizes(rcv ? size : undefined, rcv ? undefined : size);
        } catch {
          // rings already allocated keep their size, as with a Linux socket past the handshake
        }
        return 0;
      }
      default:
        return Errno.ENOPROTOOPT;
    }
  }
  if (level === IPPROTO_TCP) {
    switch (name) {
      case TCP_NODELAY:
        o.nodelay = v !== 0;
        if (t !== null) t.nodelay = o.nodelay;
        return 0;
      case TCP_KEEPIDLE:
      case TCP_KEEPINTVL:
      case TCP_KEEPCNT: {
        const max = name === TCP_KEEPCNT ? 127 : 32767;
        if (v < 1 || v > max) return Errno.EINVAL;
        if (name === TCP_KEEPIDLE) o.keepIdleS = v;
        else if (name === TCP_KEEPINTVL) o.keepIntvlS = v;
        else o.keepCnt = v;
        if (o.keepalive) t?.setKeepalive(true, o.keepIdleS * 1000, o.keepIntvlS * 1000, o.keepCnt);
        return 0;
      }
      case TCP_CONGESTION: {
        const cc = v >= 0 && v < CONGESTION_CODES.length ? congestionByName(CONGESTION_CODES[v]!) : null;
        if (cc === null) return Errno.ENOENT;
        o.congestion = cc;
        if (t !== null) t.congestion = cc;
        return 0;
      }
    }
  }
  const key = (level << 16) | name;
  if (RECORDED.has(key)) {
    o.recorded.set(key, v);
    return 0;
  }
  return Errno.ENOPROTOOPT;
}

/** Linux's TCP state numbers (include/net/tcp_states.h) for TCP_INFO. */
const LINUX_TCP_STATE: Record<string, number> = {
  ESTABLISHED: 1,
  SYN_SENT: 2,
  SYN_RECEIVED: 3,
  FIN_WAIT_1: 4,
  FIN_WAIT_2: 5,
  TIME_WAIT: 6,
  CLOSED: 7,
  CLOSE_WAIT: 8,
  LAST_ACK: 9,
  LISTEN: 10,
  CLOSING: 11,
};

/**
 * TCP_INFO's essentials for the library to lay out as Linux's struct tcp_info: state, RTT and its
 * variance in µs, congestion window and slow-start threshold in segments, MSS, segments in flight,
 * and the RTO in µs. Allocates (a diagnostics call, not a data path).
 */
export function tcpInfoWords(s: NetconSocket): { words: number[]; rtoUs: number } {
  if (s.tcp === null) return { words: [s.state === SockState.LISTENING ? 10 : 7, 0, 0, 0, 0, 0, 0, 0], rtoUs: 0 };
  const i = s.tcp.info();
  const mss = Math.max(1, i.mss);
  return {
    words: [
      LINUX_TCP_STATE[i.state] ?? 7,
      Math.round(i.srtt * 1000),
      Math.round(i.rttvar * 1000),
      Math.ceil(i.cwnd / mss),
      i.mss,
      Math.min(0x7fffffff, Math.ceil(i.ssthresh / mss)),
      Math.ceil(i.inFlight / mss),
      0,
    ],
    rtoUs: Math.round(i.rto * 1000),
  };
}
