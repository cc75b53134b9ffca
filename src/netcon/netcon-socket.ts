/**
 * The service's record of one program socket: what the program has asked of it (bound name,
 * options), its state, the pending SO_ERROR, and the TCP side once there is one. The program's fd
 * is found through the kernel names in protocol.ts, never through this record.
 */
import type { CongestionName } from "../stack/tcp/congestion/index.ts";
import type { TcpSocket } from "../stack/tcp/index.ts";
import type { Bridge } from "./bridge.ts";
import { SockState } from "./protocol.ts";

/** Socket options as the program set them; applied to the TCP socket when there is one. */
export interface SocketOptions {
  nodelay: boolean;
  keepalive: boolean;
  keepIdleS: number;
  keepIntvlS: number;
  keepCnt: number;
  /** SO_LINGER: null = off, else seconds. */
  lingerS: number | null;
  rcvbuf: number;
  sndbuf: number;
  /** The program set SO_RCVBUF / SO_SNDBUF itself (then the stack uses it, and stops autotuning). */
  rcvbufSet: boolean;
  sndbufSet: boolean;
  reuseAddr: boolean;
  reusePort: boolean;
  /** TCP_CONGESTION (the stack's default until the program picks one). */
  congestion: CongestionName;
  /** Options recorded only (timing hints with no effect on correctness here), by level<<16|name. */
  recorded: Map<number, number>;
}

export function defaultSocketOptions(rcvbuf: number, sndbuf: number, congestion: CongestionName = "cubic"): SocketOptions {
  return {
    nodelay: false,
    keepalive: false,
    keepIdleS: 7200,
    keepIntvlS: 75,
    keepCnt: 9,
    lingerS: null,
    rcvbuf,
    sndbuf,
    rcvbufSet: false,
    sndbufSet: false,
    reuseAddr: false,
    reusePort: false,
    congestion,
    recorded: new Map(),
  };
}

export class NetconSocket {
  state: SockState = SockState.NEW;
  localAddr = 0;
  localPort = 0;
  remoteAddr = 0;
  remotePort = 0;
  /** Pending SO_ERROR (errno number, 0 = none); read and cleared by GETSOCKOPT. */
  error = 0;
  backlog = 0;
  tcp: TcpSocket | null = null;
  bridge: Bridge | null = null;
  /** Connecting: the program's attached fd and the stuffing bytes still in it. */
  attachFd = -1;
  stuffed = 0;
  /** True for a connection the service accepted (its name is the `c` form). */
  readonly accepted: boolean;
  /** The family the program asked for (2 AF_INET, 10 AF_INET6 as dual-stack), for INFO after exec. */
  family = 2;

  constructor(
    readonly id: number,
    readonly opts: SocketOptions,
    readonly createdAt: number,
    accepted = false,
  ) {
    this.accepted = accepted;
  }

  /** Ring sizes the program chose, for ConnectOptions / ListenOptions. */
  bufferOptions(): { recvBufferSize?: number; sendBufferSize?: number } {
    return {
      ...(this.opts.rcvbufSet ? { recvBufferSize: this.opts.rcvbuf } : {}),
      ...(this.opts.sndbufSet ? { sendBufferSize: this.opts.sndbuf } : {}),
    };
  }

  /** Apply the recorded options to a TCP socket (at connect, or at accept from the listener's). */
  applyTo(t: TcpSocket): void {
    const o = this.opts;
    t.nodelay = o.nodelay;
    t.congestion = o.congestion;
    if (o.keepalive) t.setKeepalive(true, o.keepIdleS * 1000, o.keepIntvlS * 1000, o.keepCnt);
    t.linger = o.lingerS === null ? null : o.lingerS * 1000;
  }
}
