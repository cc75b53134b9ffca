/**
 * The UDP underlay: one IPv4 and (where available) one IPv6 socket on the same port (one
 * dual-stack socket by default), kernel buffers raised through ffi (Bun.udpSocket has no option for
 * it; default buffers dropped most of an unpaced stream in our measurements), and batched sends:
 * sendmmsg through ffi from preallocated memory where ffi/udp.ts works (Linux x64/arm64), else
 * Bun's sendMany.
 *
 * Receiving, two ways (`receivePath`):
 *   "recvmmsg" (where io_uring and ffi work): Bun binds the socket (its address parsing, errors
 *   and dual-stack handling), then we take a duplicate of its fd and close Bun's, so Bun no longer
 *   reads it. An io_uring doorbell (ffi/readiness-doorbell.ts) says when it is readable, and
 *   recvmmsg fills preallocated slots: nothing is allocated per datagram, and the handler sees
 *   each datagram in place (valid only during the call).
 *   "bun": Bun reads, one callback per datagram with a new buffer and an address string.
 * Either way the sender is mapped to a cached endpoint object (no address object per datagram).
 */
import type { udp } from "bun";
import { consola } from "consola";
import { closeFd, dupFd, setSockOptInt, setSocketBuffers } from "../../ffi/libc.ts";
import { AF_INET, AF_INET6, encodeSockaddr, ffiUdpSupported, SendBatch, SOCKADDR_BYTES } from "../../ffi/udp.ts";
import { Stage, STAGE_TIMING, stageEnd, stageStart } from "../util/stage-timing.ts";
import { EndpointCache } from "../vl1/endpoint-cache.ts";
import { type InetAddress, ipToString } from "../vl1/inet-address.ts";
import { type DatagramHandler, Inbound, type InboundOwner, type ReceiveStats } from "./udp-inbound.ts";

export type { DatagramHandler } from "./udp-inbound.ts";

export interface UdpTransportOptions {
  port: number;
  /**
   * Bind addresses. Both undefined: one dual-stack socket on [::] (IPv4-only hosts: 0.0.0.0).
   * Otherwise one socket per family; bindV6 null = no IPv6 socket.
   */
  bindV4?: string | null;
  bindV6?: string | null;
  /** Kernel buffer size for each socket. */
  bufferBytes?: number;
  /** How to receive (see above): "auto" (the default) is recvmmsg where this machine allows it. */
  receive?: ReceiveChoice;
  onDatagram: DatagramHandler;
}

export type ReceivePath = "recvmmsg" | "bun";
export type ReceiveChoice = ReceivePath | "auto";

/** Parse a receive choice (the ZT_UDP_RECEIVE setting); null when it is not one. */
export function parseReceiveChoice(text: string): ReceiveChoice | null {
  return text === "auto" || text === "recvmmsg" || text === "bun" ? text : null;
}

export class PortInUseError extends Error {}

type Sock = udp.Socket<"uint8array">;

/** Datagrams per send batch: flushed when full, else at the end of the microtask. */
const BATCH_MAX = 64;
/** Largest datagram sendCopy takes (and recvmmsg keeps): a head or fragment at the largest physical MTU. */
const SLOT_BYTES = 10240;
const IPPROTO_IP = 0;
const IP_TTL = 2;
const IPPROTO_IPV6 = 41;
const IPV6_UNICAST_HOPS = 16;
const IP_RECVERR = 11;
const IPV6_RECVERR = 25;

/** A bound socket and its send batch (sendmmsg when available, else Bun's sendMany). */
class Outbound {
  readonly batch: SendBatch | null;
  /** sendMany's (data, port, address) triples, over preallocated slots (fallback only). */
  readonly triples: (Uint8Array | number | string)[] = [];
  readonly slots: Uint8Array[] | null;
  /** Destination sockaddrs by endpoint object (sendmmsg). */
  private readonly names = new WeakMap<InetAddress, Uint8Array>();
  /** Destination IP text by endpoint object (Bun's send takes text). */
  private readonly text = new WeakMap<InetAddress, string>();

  /** Sends outside the batch (sendNow) once Bun's socket is gone. */
  private nowBatch: SendBatch | null = null;
  /** "address/port" this socket is bound to (kept: Bun's socket may be closed). */
  readonly boundTo: string;
  /** Our receive side, once we read the socket ourselves. */
  inbound: Inbound | null = null;

  constructor(
    /** Bun's socket; null once we took its fd over (receive path "recvmmsg"). */
    public sock: Sock | null,
    readonly family: number,
    public fd: number | null,
  ) {
    const ffi = fd !== null && ffiUdpSupported();
    this.batch = ffi ? new SendBatch(BATCH_MAX, SLOT_BYTES) : null;
    this.slots = ffi ? null : makeSlots();
    this.boundTo = sock !== null ? `${sock.address.address}/${sock.port}` : "";
  }

  /** Send one datagram now, with its own TTL (hop limit) when given. */
  sendNow(data: Uint8Array, to: InetAddress, ttl: number | undefined): boolean {
    const s = this.sock;
    if (s !== null) {
      const address = this.textOf(to);
      if (ttl === undefined) return s.send(data, to.port, address);
      s.setTTL(ttl);
      try {
        return s.send(data, to.port, address);
      } finally {
        s.setTTL(64);
      }
    }
    const name = this.nameOf(to);
    if (name === null || this.fd === null) return false;
    const b = (this.nowBatch ??= new SendBatch(1, SLOT_BYTES));
    if (!b.add(data, 0, data.length, name, name[SOCKADDR_BYTES]!)) return false;
    if (ttl === undefined) return b.send(this.fd) === 1;
    // IPv4 (also as ::ffff:a.b.c.d on a dual-stack socket) takes IP_TTL; -1 restores the default.
    const [level, opt] = to.family === 4 ? [IPPROTO_IP, IP_TTL] : [IPPROTO_IPV6, IPV6_UNICAST_HOPS];
    try {
      setSockOptInt(this.fd, level, opt, ttl);
    } catch {
      b.count = 0;
      return false;
    }
    try {
      return b.send(this.fd) === 1;
    } finally {
      setSockOptInt(this.fd, level, opt, -1);
    }
  }

  /** The sockaddr (its length in byte 28) to reach `to` from this socket, or null. */
  nameOf(to: InetAddress): Uint8Array | null {
    let n = this.names.get(to);
    if (n !== undefined) return n;
    n = new Uint8Array(SOCKADDR_BYTES + 1);
    const len = encodeSockaddr(n, this.family, to);
    if (len === 0) return null;
    n[SOCKADDR_BYTES] = len;
    this.names.set(to, n);
    return n;
  }

  textOf(to: InetAddress): string {
    let ip = this.text.get(to);
    if (ip === undefined) {
      ip = ipToString(to);
      this.text.set(to, ip);
    }
    return ip;
  }

  get pending(): number {
    return this.batch !== null ? this.batch.count : this.triples.length / 3;
  }

  /** Hand what is queued to the kernel; returns how many datagrams were lost. */
  flush(): number {
    if (this.batch !== null) {
      const n = this.batch.count;
      return n === 0 ? 0 : n - this.batch.send(this.fd!);
    }
    const b = this.triples;
    if (b.length === 0 || this.sock === null) return 0;
    let lost = 0;
    try {
      this.sock.sendMany(b);
    } catch {
      lost = b.length / 3;
    }
    b.length = 0;
    return lost;
  }

  close(): void {
    this.inbound?.close();
    this.inbound = null;
    if (this.sock !== null) this.sock.close();
    else if (this.fd !== null) closeFd(this.fd);
    this.sock = null;
    this.fd = null;
  }
}

export class UdpTransport implements InboundOwner {
  private v4: Outbound | null = null;
  private v6: Outbound | null = null;
  private flushScheduled = false;
  /** Datagrams queued since the last flush(), and in the turn before: sparse traffic is sent at once (sendCopy). */
  private turnDatagrams = 0;
  private lastTurnDatagrams = 0;
  /** Datagrams sent at once by that rule (for /metrics). */
  immediateFlushes = 0;
  private readonly flushBound = () => this.flush();
  sendErrors = 0;
  /** Asynchronous socket errors (ICMP unreachable and the like), and failed recvmmsg calls. */
  socketErrors = 0;
  readonly receiveStats: ReceiveStats = { calls: 0, datagrams: 0, truncated: 0, badSource: 0, handlerErrors: 0 };

  private constructor(readonly port: number) {}

  static async open(opts: UdpTransportOptions): Promise<UdpTransport> {
    let t: UdpTransport | null = null;
    const endpoints = new EndpointCache();
    const handler = {
      data(_s: Sock, data: Uint8Array, port: number, address: string) {
        const t0 = STAGE_TIMING ? stageStart() : 0;
        const from = endpoints.get(address, port);
        if (from !== null) opts.onDatagram(data, 0, data.length, from);
        if (STAGE_TIMING) stageEnd(Stage.udp_receive, t0);
      },
      // ICMP errors for earlier sends (port unreachable, no route) arrive here; an unreachable
      // peer is normal and must not become an uncaught exception.
      // Bun passes (socket, error) or just (error) depending on the socket kind.
      error(a: unknown, b?: unknown) {
        if (t) t.socketErrors++;
        const err = b instanceof Error ? b : a instanceof Error ? a : null;
        consola.debug(`UDP: ${err?.message ?? "socket error"}`);
      },
    };
    const bindSocket = async (hostname: string, port: number): Promise<Sock> => {
      try {
        return await Bun.udpSocket({ hostname, port, binaryType: "uint8array", socket: handler });
      } catch (e) {
        const msg = (e as Error).message;
        if (/EADDRINUSE|in use/i.test(msg) || (e as NodeJS.ErrnoException).code === "EADDRINUSE") {
          throw new PortInUseError(`UDP port ${port} is already in use`);
        }
        throw e;
      }
    };
    const bytes = opts.bufferBytes ?? 4 << 20;
    const outbound = (s: Sock, family: number): Outbound => {
      const fd = socketFd(s);
      if (fd !== null) {
        try {
          setSocketBuffers(fd, bytes);
        } catch (e) {
          consola.warn(`UDP: could not raise socket buffers: ${(e as Error).message}`);
        }
      }
      return new Outbound(s, family, fd);
    };
    if (opts.bindV4 === undefined && opts.bindV6 === undefined) {
      // Default: one dual-stack socket on [::] carries IPv4 (as ::ffff:a.b.c.d) and IPv6. Linux
      // refuses a second socket on 0.0.0.0 with the same port once [::] is bound dual-stack, and
      // Bun cannot set IPV6_V6ONLY before binding, so two wildcard sockets are not an option.
      let dual: Sock | null = null;
      try {
        dual = await bindSocket("::", opts.port);
      } catch (e) {
        if (e instanceof PortInUseError) throw e;
        consola.debug(`UDP: no IPv6 on this host (${(e as Error).message}); IPv4 only`);
      }
      const sock = dual ?? (await bindSocket("0.0.0.0", opts.port));
      t = new UdpTransport(sock.port);
      t.v4 = outbound(sock, dual !== null ? AF_INET6 : AF_INET);
      t.v6 = dual !== null ? t.v4 : null;
      await t.takeOverReceive(opts);
    } else {
      // Explicit addresses (local.conf settings.bind): one socket per family.
      const v4 = await bindSocket(opts.bindV4 ?? "0.0.0.0", opts.port);
      t = new UdpTransport(v4.port);
      t.v4 = outbound(v4, AF_INET);
      if (opts.bindV6 !== null && opts.bindV6 !== undefined) {
        try {
          t.v6 = outbound(await bindSocket(opts.bindV6, v4.port), AF_INET6);
        } catch (e) {
          consola.warn(`UDP: cannot bind ${opts.bindV6}/${v4.port}: ${(e as Error).message}`);
        }
      }
      await t.takeOverReceive(opts);
    }
    return t;
  }

  /**
   * Receive path "recvmmsg": for each socket, a duplicate fd with a doorbell, then Bun's socket is
   * closed. Any socket that cannot switch keeps Bun's path for all (say why when it was asked for).
   */
  private async takeOverReceive(opts: UdpTransportOptions): Promise<void> {
    const choice = opts.receive ?? "auto";
    if (choice === "bun") return;
    const socks = this.sockets();
    const why = (reason: string): void => {
      const msg = `UDP: receiving through Bun (${reason})`;
      if (choice === "recvmmsg") consola.warn(msg);
      else consola.debug(msg);
    };
    if (!ffiUdpSupported() || socks.some((o) => o.fd === null)) return why("no ffi or no socket fd");
    const ownFds = new Map<Outbound, number>();
    for (const o of socks) {
      let fd: number;
      try {
        fd = dupFd(o.fd!);
      } catch (e) {
        why((e as Error).message);
        break;
      }
      // ICMP errors queued for the socket (Bun asks for them) would keep it reporting POLLERR;
      // turning the option off also empties the queue. Peers that do not answer time out anyway.
      for (const [level, opt] of o.family === AF_INET6 ? [[IPPROTO_IP, IP_RECVERR], [IPPROTO_IPV6, IPV6_RECVERR]] : [[IPPROTO_IP, IP_RECVERR]]) {
        try {
          setSockOptInt(fd, level!, opt!, 0);
        } catch {
          // not set in the first place
        }
      }
      const inbound = new Inbound(fd, SLOT_BYTES, opts.onDatagram, this);
      const failed = await inbound.open();
      if (failed !== null) {
        closeFd(fd);
        why(failed);
        break;
      }
      o.inbound = inbound;
      ownFds.set(o, fd);
    }
    if (ownFds.size !== socks.length) {
      for (const [o, fd] of ownFds) {
        o.inbound!.close();
        o.inbound = null;
        closeFd(fd);
      }
      return;
    }
    // Every socket has its doorbell: now Bun may let go (a datagram it read meanwhile was delivered).
    for (const o of socks) {
      o.sock!.close();
      o.sock = null;
      o.fd = ownFds.get(o)!;
    }
  }

  /** How datagrams arrive: "recvmmsg" (ffi, with an io_uring doorbell) or "bun" (Bun's callbacks). */
  get receivePath(): ReceivePath {
    return this.v4?.inbound ? "recvmmsg" : "bun"; // every socket switches, or none
  }

  /** The doorbells' counters (recvmmsg path), summed over the sockets. */
  doorbellStats(): { rings: number; failures: number; submitErrors: number } {
    const out = { rings: 0, failures: 0, submitErrors: 0 };
    for (const o of this.sockets()) {
      const d = o.inbound?.doorbellStats;
      if (d) {
        out.rings += d.rings;
        out.failures += d.failures;
        out.submitErrors += d.submitErrors;
      }
    }
    return out;
  }

  /** How datagrams leave: "sendmmsg" (ffi) or "sendMany" (Bun). */
  get sendPath(): "sendmmsg" | "sendMany" {
    return this.v4 !== null && this.v4.batch !== null ? "sendmmsg" : "sendMany";
  }

  /**
   * Queue a copy of data[start, end) for `to`, sent with the rest of the batch at the end of this
   * microtask (or at once when the batch is full). The caller may reuse its buffer right away:
   * the bytes go into a preallocated slot.
   */
  sendCopy(data: Uint8Array, start: number, end: number, to: InetAddress): void {
    const o = to.family === 6 ? this.v6 : this.v4;
    const len = end - start;
    if (o === null || len <= 0 || len > SLOT_BYTES) {
      this.sendErrors++;
      return;
    }
    if (o.pending >= BATCH_MAX) this.sendErrors += o.flush();
    if (o.batch !== null) {
      const name = o.nameOf(to);
      if (name === null || !o.batch.add(data, start, end, name, name[SOCKADDR_BYTES]!)) {
        this.sendErrors++;
        return;
      }
    } else {
      const slot = o.slots![o.triples.length / 3]!;
      slot.set(data.subarray(start, end));
      o.triples.push(slot.subarray(0, len), to.port, o.textOf(to));
    }
    this.turnDatagrams++;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flushBound);
      // The first datagram of a turn after a turn that sent at most one (a ping, a request, an
      // answer: sparse traffic) goes out now, before the rest of the turn's work: on a quiet
      // service that work runs on cold caches and costs tens of µs more than the send. Busy turns
      // (bulk, many datagrams) keep batching: the next ones are queued as before.
      if (this.lastTurnDatagrams <= 1) this.flushNow(o);
    }
  }

  private flushNow(o: Outbound): void {
    const t0 = STAGE_TIMING ? stageStart() : 0;
    this.sendErrors += o.flush();
    this.immediateFlushes++;
    if (STAGE_TIMING) stageEnd(Stage.udp_send, t0);
  }

  /**
   * Send one datagram now (no batching); the caller may reuse `data` right after. `ttl` applies to
   * this datagram only (RENDEZVOUS sends its NAT-opening junk with TTL 2).
   */
  sendNow(data: Uint8Array, to: InetAddress, ttl?: number): boolean {
    const o = to.family === 6 ? this.v6 : this.v4;
    if (o === null) return false;
    try {
      if (o.sendNow(data, to, ttl)) return true;
    } catch {
      // counted below
    }
    this.sendErrors++;
    return false;
  }

  /** Whether an IPv6 socket is open (dual-stack or its own). */
  get hasIpv6(): boolean {
    return this.v6 !== null;
  }

  /** "ip/port" of each bound socket, for /status. */
  listeningOn(): string[] {
    return this.sockets().map((o) => o.boundTo);
  }

  /** Each open socket once (a dual-stack socket is both v4 and v6). Not for hot paths: a new array. */
  private sockets(): Outbound[] {
    const out: Outbound[] = [];
    if (this.v4 !== null) out.push(this.v4);
    if (this.v6 !== null && this.v6 !== this.v4) out.push(this.v6);
    return out;
  }

  flush(): void {
    this.flushScheduled = false;
    this.lastTurnDatagrams = this.turnDatagrams;
    this.turnDatagrams = 0;
    const t0 = STAGE_TIMING ? stageStart() : 0;
    if (this.v4 !== null) this.sendErrors += this.v4.flush();
    if (this.v6 !== null && this.v6 !== this.v4) this.sendErrors += this.v6.flush();
    if (STAGE_TIMING) stageEnd(Stage.udp_send, t0);
  }

  close(): void {
    this.flush();
    this.v4?.close();
    if (this.v6 !== this.v4) this.v6?.close();
    this.v4 = this.v6 = null;
  }
}

function makeSlots(): Uint8Array[] {
  const backing = new Uint8Array(SLOT_BYTES * BATCH_MAX);
  return Array.from({ length: BATCH_MAX }, (_, i) => backing.subarray(i * SLOT_BYTES, (i + 1) * SLOT_BYTES));
}

/** Bun exposes the descriptor at runtime but not in its types. */
function socketFd(s: Sock): number | null {
  const fd = (s as unknown as { fd?: unknown }).fd;
  return typeof fd === "number" && fd >= 0 ? fd : null;
}
