/**
 * The service side of every program socket on one network: answers the control calls
 * (intercept/PROTOCOL.md) against the network's user-space stack, attaches connecting sockets,
 * hands accepted connections to program listeners, and bridges bytes once connected. It owns all
 * decisions (ports, addresses, states); the library only forwards calls.
 */
import type { CongestionName } from "../stack/tcp/congestion/index.ts";
import { consola } from "consola";
import { abstractNameFree, EAGAIN, ECONNREFUSED, ENOENT, unixBind, unixClose, unixConnect, unixRecv, unixSend, unixSocket } from "../../ffi/unix.ts";
import type { NetStack } from "../stack/stack.ts";
import { TcpError, type TcpErrno, type TcpSocket, type TcpSocketHandler } from "../stack/tcp/index.ts";
import { Bridge, type BridgeOwner, type BridgeStats } from "./bridge.ts";
import type { AttachListener } from "./attach-listener.ts";
import { type DeliverResult, ListenGroup, type ListenGroupOwner } from "./listen-group.ts";
import { defaultSocketOptions, NetconSocket } from "./netcon-socket.ts";
import { applySockopt, readSockopt, tcpInfoWords } from "./sockopts.ts";
import {
  ACCEPT_PREAMBLE_SIZE,
  acceptedSocketName,
  Errno,
  errnoNumber,
  IPPROTO_TCP,
  MAGIC_ACCEPT,
  type Message,
  Op,
  PROTOCOL_VERSION,
  programSocketName,
  SockState,
  TCP_INFO,
} from "./protocol.ts";

const EPHEMERAL_LOW = 32768;
const EPHEMERAL_HIGH = 60999;
const MAX_SOCKETS = 65536;
/** Records of sockets that never connected are checked for life only after this age. */
const SWEEP_MIN_AGE_MS = 5_000;

export interface NetconSocketsStats extends BridgeStats {
  connects: number;
  connectFailures: number;
  accepted: number;
  bridgesOpen: number;
  socketsFreed: number;
}

export interface NetconSocketsEnv {
  stack: NetStack;
  attach: AttachListener;
  nwid: bigint;
  servicePid: number;
  now: () => number;
  /**
   * Random per endpoint instance: the accept preamble carries it so the library knows the
   * connection came from this service (pids differ across PID namespaces; the cookie does not).
   */
  cookie: bigint;
  /** TCP ring sizes reported as the default SO_RCVBUF / SO_SNDBUF. */
  rcvbuf: number;
  sndbuf: number;
  /** The stack's congestion control for new connections (TCP_CONGESTION's default). */
  congestion: CongestionName;
}

export class NetconSockets implements BridgeOwner, ListenGroupOwner {
  private readonly socks = new Map<number, NetconSocket>();
  private readonly groups = new Map<number, ListenGroup>();
  /** Bound (not yet connected) sockets and listeners by local port, for EADDRINUSE. */
  private readonly boundByPort = new Map<number, NetconSocket[]>();
  /** The record each running bridge belongs to (bridgeDone names only the bridge). */
  private readonly bridgeOf = new Map<Bridge, NetconSocket>();
  private nextId = 1;
  private readonly scratch = new Uint8Array(65536);
  private readonly preamble = new Uint8Array(ACCEPT_PREAMBLE_SIZE);
  private readonly preambleView = new DataView(this.preamble.buffer);
  readonly stats: NetconSocketsStats = {
    toPeerBytes: 0,
    toProgramBytes: 0,
    connects: 0,
    connectFailures: 0,
    accepted: 0,
    bridgesOpen: 0,
    socketsFreed: 0,
  };

  constructor(private readonly env: NetconSocketsEnv) {}

  get size(): number {
    return this.socks.size;
  }

  /** Count of records by state (metrics). */
  countByState(): Record<string, number> {
    const out: Record<string, number> = { new: 0, bound: 0, listening: 0, connecting: 0, connected: 0, closed: 0 };
    const names = ["new", "bound", "listening", "connecting", "connected", "closed"];
    for (const s of this.socks.values()) out[names[s.state]!]!++;
    return out;
  }

  // ================================================================ control calls

  /** Answer one request in place (m becomes the reply). */
  handle(m: Message): void {
    const op = m.op;
    if (op === Op.HELLO) return this.hello(m);
    if (op === Op.SOCKET) return this.socket(m);
    const s = this.socks.get(m.sockid);
    if (s === undefined) return m.reply(m.sockid, op === Op.CLOSE ? 0 : Errno.EBADF);
    switch (op) {
      case Op.BIND:
        return this.bind(m, s);
      case Op.LISTEN:
        return this.listen(m, s);
      case Op.CONNECT:
        return this.connect(m, s);
      case Op.GETSOCKOPT: {
        if (m.arg(0) === IPPROTO_TCP && m.arg(1) === TCP_INFO) {
          const t = tcpInfoWords(s);
          m.reply(s.id, 0, t.rtoUs);
          t.words.forEach((w, i) => m.setData32(4 * i, w));
          return;
        }
        const r = readSockopt(s, m.arg(0), m.arg(1));
        return m.reply(s.id, r.err, r.v0, r.v1);
      }
      case Op.SETSOCKOPT:
        return m.reply(s.id, applySockopt(s, m.arg(0), m.arg(1), m.argSigned(2), m.argSigned(3)));
      case Op.GETNAME:
        return this.getName(m, s);
      case Op.CLOSE:
        this.closeHint(s);
        return m.reply(s.id, 0);
      case Op.INFO:
        m.reply(s.id, 0, s.state, s.family, 1);
        m.setData32(0, s.localAddr);
        m.setData32(4, s.localPort);
        m.setData32(8, s.remoteAddr);
        m.setData32(12, s.remotePort);
        return;
      default:
        return m.reply(m.sockid, Errno.ENOSYS);
    }
  }

  private hello(m: Message): void {
    if (m.arg(0) !== PROTOCOL_VERSION) return m.reply(0, Errno.EPROTONOSUPPORT, this.env.servicePid, PROTOCOL_VERSION);
    m.reply(0, 0, this.env.servicePid, PROTOCOL_VERSION);
    m.setData64(0, this.env.nwid);
    m.setData32(8, this.env.stack.iface.mtu);
    m.setData64(12, this.env.cookie);
  }

  private socket(m: Message): void {
    const family = m.arg(3) === 0 ? 2 : m.arg(3);
    if (m.arg(0) !== 2 || (family !== 2 && family !== 10)) return m.reply(0, Errno.EAFNOSUPPORT);
    if (m.arg(1) !== 1 || (m.arg(2) !== 0 && m.arg(2) !== 6)) return m.reply(0, Errno.EPROTONOSUPPORT);
    if (this.socks.size >= MAX_SOCKETS) return m.reply(0, Errno.EMFILE);
    const s = this.create(false);
    s.family = family;
    m.reply(s.id, 0);
  }

  private create(accepted: boolean): NetconSocket {
    let id = this.nextId;
    while (id === 0 || this.socks.has(id)) id = (id + 1) >>> 0;
    this.nextId = (id + 1) >>> 0;
    const s = new NetconSocket(id, defaultSocketOptions(this.env.rcvbuf, this.env.sndbuf, this.env.congestion), this.env.now(), accepted);
    this.socks.set(id, s);
    return s;
  }

  private bind(m: Message, s: NetconSocket): void {
    const addr = m.arg(0) >>> 0;
    const port = m.arg(1);
    const flags = m.arg(2);
    if (s.state !== SockState.NEW) return m.reply(s.id, Errno.EINVAL);
    if (port > 65535) return m.reply(s.id, Errno.EINVAL);
    if (addr !== 0 && !this.env.stack.iface.isLocal(addr)) return m.reply(s.id, Errno.EADDRNOTAVAIL);
    if (flags & 1) s.opts.reuseAddr = true;
    if (flags & 2) s.opts.reusePort = true;
    const err = this.bindTo(s, addr, port);
    if (err !== 0) return m.reply(s.id, err);
    m.reply(s.id, 0, s.localAddr, s.localPort);
  }

  /** Reserve addr:port (port 0 = ephemeral) for s; 0 or an errno. */
  private bindTo(s: NetconSocket, addr: number, port: number): number {
    if (port === 0) {
      port = this.ephemeralPort();
      if (port === 0) return Errno.EADDRINUSE;
    } else if (this.conflicts(s, addr, port)) return Errno.EADDRINUSE;
    s.localAddr = addr;
    s.localPort = port;
    s.state = SockState.BOUND;
    const list = this.boundByPort.get(port);
    if (list === undefined) this.boundByPort.set(port, [s]);
    else list.push(s);
    return 0;
  }

  private conflicts(s: NetconSocket, addr: number, port: number): boolean {
    const list = this.boundByPort.get(port);
    if (list === undefined) return false;
    for (const o of [...list]) {
      if (o === s || (o.localAddr !== 0 && addr !== 0 && o.localAddr !== addr)) continue;
      if (s.opts.reusePort && o.opts.reusePort) continue;
      if (s.opts.reuseAddr && o.opts.reuseAddr && o.state !== SockState.LISTENING) continue;
      // A program killed without closing leaves a record behind: check the kernel before refusing.
      if (this.gone(o)) {
        this.free(o);
        continue;
      }
      return true;
    }
    return false;
  }

  private ephemeralPort(): number {
    const span = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1;
    let p = EPHEMERAL_LOW + Math.floor(Math.random() * span);
    for (let i = 0; i < span; i++) {
      if (!this.boundByPort.has(p) && !this.groups.has(p)) return p;
      p = p === EPHEMERAL_HIGH ? EPHEMERAL_LOW : p + 1;
    }
    return 0;
  }

  private listen(m: Message, s: NetconSocket): void {
    const backlog = Math.max(1, Math.min(4096, m.argSigned(0)));
    if (s.state === SockState.LISTENING) {
      s.backlog = backlog;
      return m.reply(s.id, 0, s.localAddr, s.localPort);
    }
    if (s.state === SockState.NEW) {
      const err = this.bindTo(s, 0, 0);
      if (err !== 0) return m.reply(s.id, err);
    } else if (s.state !== SockState.BOUND) return m.reply(s.id, Errno.EINVAL);
    let g = this.groups.get(s.localPort);
    if (g === undefined) {
      g = new ListenGroup(s.localPort, this);
      try {
        g.listener = this.env.stack.listen(s.localPort, {
          ...(s.localAddr !== 0 ? { localAddr: s.localAddr } : {}),
          backlog,
          handler: g,
          ...s.bufferOptions(),
        });
      } catch (e) {
        return m.reply(s.id, e instanceof TcpError ? errnoNumber(e.code) : Errno.EADDRINUSE);
      }
      this.groups.set(s.localPort, g);
    }
    g.members.push(s);
    s.state = SockState.LISTENING;
    s.backlog = backlog;
    m.reply(s.id, 0, s.localAddr, s.localPort);
    // Connections may already wait (another member's queue was full).
    g.pump();
  }

  private connect(m: Message, s: NetconSocket): void {
    if (s.state === SockState.CONNECTING) return m.reply(s.id, Errno.EALREADY);
    if (s.state === SockState.CONNECTED) return m.reply(s.id, Errno.EISCONN);
    if (s.state !== SockState.NEW && s.state !== SockState.BOUND) return m.reply(s.id, Errno.EINVAL);
    const fd = this.env.attach.claim(s.id);
    if (fd < 0) return m.reply(s.id, Errno.EINVAL);
    const fail = (err: number): void => {
      // The program's fd sees its attach end closed with the stuffing unread: POLLERR|POLLHUP.
      unixClose(fd);
      this.unbind(s);
      s.state = SockState.CLOSED;
      this.stats.connectFailures++;
      m.reply(s.id, err);
    };
    let addr = m.arg(0) >>> 0;
    const port = m.arg(1);
    const stuffed = m.arg(2);
    if (port === 0 || port > 65535) return fail(port === 0 ? Errno.ECONNREFUSED : Errno.EINVAL);
    const iface = this.env.stack.iface;
    if (addr === 0) addr = iface.addresses()[0]?.addr ?? 0; // INADDR_ANY: this host
    if (addr === 0 || addr >>> 28 >= 14) return fail(Errno.ENETUNREACH);
    let t: TcpSocket;
    try {
      t = this.env.stack.connect(addr, port, {
        ...(s.localAddr !== 0 ? { localAddr: s.localAddr } : {}),
        ...(s.localPort !== 0 ? { localPort: s.localPort } : {}),
        handler: this.connectHandler(s),
        nodelay: s.opts.nodelay,
        ...s.bufferOptions(),
      });
    } catch (e) {
      return fail(e instanceof TcpError ? errnoNumber(e.code) : Errno.EINVAL);
    }
    this.unbind(s);
    s.applyTo(t);
    s.tcp = t;
    s.attachFd = fd;
    s.stuffed = stuffed;
    s.localAddr = t.localAddr;
    s.localPort = t.localPort;
    s.remoteAddr = addr;
    s.remotePort = port;
    s.state = SockState.CONNECTING;
    this.stats.connects++;
    m.reply(s.id, 0, t.localAddr, t.localPort);
  }

  private connectHandler(s: NetconSocket): TcpSocketHandler {
    return {
      onConnect: (t) => this.connected(s, t),
      onError: (_t, code) => this.connectFailed(s, errnoNumber(code)),
      onClose: () => {
        if (s.state === SockState.CONNECTING) this.connectFailed(s, Errno.ECONNABORTED);
      },
    };
  }

  /** Handshake done: take the stuffing out (the program's fd turns writable) and start the bridge. */
  private connected(s: NetconSocket, t: TcpSocket): void {
    if (s.state !== SockState.CONNECTING) return;
    const fd = s.attachFd;
    let left = s.stuffed;
    while (left > 0) {
      const n = unixRecv(fd, this.scratch, 0, Math.min(left, this.scratch.length));
      if (n <= 0) break; // EOF: the program closed the fd meanwhile; EAGAIN: it lied about N
      left -= n;
    }
    s.attachFd = -1;
    if (left > 0) {
      unixClose(fd);
      t.handler = null;
      t.abort();
      s.tcp = null;
      s.state = SockState.CLOSED;
      s.error = Errno.ECONNABORTED;
      return;
    }
    s.state = SockState.CONNECTED;
    this.startBridge(s, t, fd);
  }

  private connectFailed(s: NetconSocket, err: number): void {
    if (s.state !== SockState.CONNECTING) return;
    s.error = err;
    s.state = SockState.CLOSED;
    s.tcp = null;
    unixClose(s.attachFd);
    s.attachFd = -1;
    this.stats.connectFailures++;
  }

  private startBridge(s: NetconSocket, t: TcpSocket, fd: number): void {
    const b = new Bridge(t, fd, this);
    s.bridge = b;
    this.bridgeOf.set(b, s);
    this.stats.bridgesOpen++;
    void b.start();
  }

  bridgeDone(b: Bridge, error: TcpErrno | null): void {
    this.stats.bridgesOpen--;
    const s = this.bridgeOf.get(b);
    this.bridgeOf.delete(b);
    if (s === undefined) return;
    s.bridge = null;
    s.tcp = null;
    if (error !== null) s.error = errnoNumber(error);
    // The program's side is gone in every process (its end closed): nothing can ask any more.
    this.free(s);
  }

  private getName(m: Message, s: NetconSocket): void {
    if (m.arg(0) === 0) return m.reply(s.id, 0, s.localAddr, s.localPort);
    if (s.state !== SockState.CONNECTED) return m.reply(s.id, Errno.ENOTCONN);
    m.reply(s.id, 0, s.remoteAddr, s.remotePort);
  }

  /** The library closed its fd and found the name free; verify, then forget. */
  private closeHint(s: NetconSocket): void {
    if (s.bridge !== null || s.accepted) return; // the bridge sees the real end
    if (s.state === SockState.CONNECTING || this.gone(s)) this.free(s);
  }

  // ================================================================ accepting

  deliver(member: NetconSocket, t: TcpSocket): DeliverResult {
    const fd = unixSocket();
    if (fd < 0) return "full";
    const conn = this.create(true);
    const pid = this.env.servicePid;
    let r = unixBind(fd, acceptedSocketName(pid, conn.id), true);
    if (r === 0) r = unixConnect(fd, programSocketName(pid, member.id), true);
    if (r !== 0) {
      unixClose(fd);
      this.socks.delete(conn.id);
      if (r === -EAGAIN) return "full";
      if (r === -ECONNREFUSED || r === -ENOENT) return "gone";
      consola.warn(`netcon: handing a connection to socket ${member.id}: errno ${-r}`);
      return "full";
    }
    const p = this.preambleView;
    p.setUint32(0, MAGIC_ACCEPT, true);
    p.setUint32(4, conn.id, true);
    p.setUint32(8, t.remoteAddr, true);
    p.setUint32(12, t.remotePort, true);
    p.setUint32(16, t.localAddr, true);
    p.setUint32(20, t.localPort, true);
    p.setBigUint64(24, this.env.cookie, true);
    // A fresh socket's buffer always takes 32 bytes.
    if (unixSend(fd, this.preamble, 0, ACCEPT_PREAMBLE_SIZE) !== ACCEPT_PREAMBLE_SIZE) {
      unixClose(fd);
      this.socks.delete(conn.id);
      return "full";
    }
    conn.localAddr = t.localAddr;
    conn.localPort = t.localPort;
    conn.remoteAddr = t.remoteAddr;
    conn.remotePort = t.remotePort;
    conn.state = SockState.CONNECTED;
    conn.family = member.family;
    // Accepted sockets inherit the listener's options, as the kernel's do.
    Object.assign(conn.opts, member.opts, { recorded: new Map(member.opts.recorded) });
    conn.applyTo(t);
    this.stats.accepted++;
    this.startBridge(conn, t, fd);
    return "ok";
  }

  memberGone(member: NetconSocket): void {
    this.free(member);
  }

  // ================================================================ lifetime

  /** True when the program socket no longer exists in any process (its abstract name is free). */
  private gone(s: NetconSocket): boolean {
    if (s.accepted) return false;
    return abstractNameFree(programSocketName(this.env.servicePid, s.id)) === true;
  }

  private unbind(s: NetconSocket): void {
    const list = this.boundByPort.get(s.localPort);
    if (list === undefined) return;
    const i = list.indexOf(s);
    if (i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) this.boundByPort.delete(s.localPort);
  }

  private free(s: NetconSocket): void {
    if (this.socks.get(s.id) !== s) return;
    this.socks.delete(s.id);
    this.stats.socketsFreed++;
    this.unbind(s);
    if (s.state === SockState.LISTENING) {
      const g = this.groups.get(s.localPort);
      if (g !== undefined) {
        g.remove(s);
        if (g.members.length === 0) {
          this.groups.delete(s.localPort);
          g.close();
        }
      }
    }
    if (s.attachFd >= 0) unixClose(s.attachFd);
    s.attachFd = -1;
    if (s.tcp !== null && s.bridge === null) {
      s.tcp.handler = null;
      s.tcp.abort();
    }
    s.tcp = null;
    s.bridge?.destroy();
    s.state = SockState.CLOSED;
  }

  /** Periodic: free records whose program socket is gone (killed programs, missed CLOSE). */
  sweep(): void {
    this.env.attach.sweep();
    const limit = this.env.now() - SWEEP_MIN_AGE_MS;
    for (const s of [...this.socks.values()]) {
      if (s.accepted || s.bridge !== null || s.state === SockState.CONNECTING || s.createdAt > limit) continue;
      if (this.gone(s)) this.free(s);
    }
  }

  /** Leave or shutdown: every connection reset, every listener closed. */
  destroy(): void {
    for (const s of [...this.socks.values()]) this.free(s);
    for (const g of this.groups.values()) g.close();
    this.groups.clear();
  }
}
