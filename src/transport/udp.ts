/**
 * The UDP underlay: one IPv4 and (where available) one IPv6 socket on the same port (one
 * dual-stack socket by default), kernel buffers raised through ffi (Bun.udpSocket has no option for
 * it; default buffers dropped most of an unpaced stream in our measurements), and batched sends:
 * sendmmsg through ffi from preallocated memory where ffi/udp.ts works (Linux x64/arm64), else
 * Bun's sendMany. Received datagrams come from Bun, one callback each, mapped to cached endpoint
 * objects (no address object per datagram).
 */
import type { udp } from "bun";
import { consola } from "consola";
import { setSocketBuffers } from "../../ffi/libc.ts";
import { AF_INET, AF_INET6, encodeSockaddr, ffiUdpSupported, SendBatch, SOCKADDR_BYTES } from "../../ffi/udp.ts";
import { Stage, STAGE_TIMING, stageEnd, stageStart } from "../util/stage-timing.ts";
import { EndpointCache } from "../vl1/endpoint-cache.ts";
import { type InetAddress, ipToString } from "../vl1/inet-address.ts";

/** One received datagram: data[start, end) from `from` (the same object for the same endpoint). */
export type DatagramHandler = (data: Uint8Array, start: number, end: number, from: InetAddress) => void;

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
  onDatagram: DatagramHandler;
}

export class PortInUseError extends Error {}

type Sock = udp.Socket<"uint8array">;

/** Datagrams per send batch: flushed when full, else at the end of the microtask. */
const BATCH_MAX = 64;
/** Largest datagram sendCopy takes: a head or fragment at the largest physical MTU. */
const SLOT_BYTES = 10240;

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

  constructor(
    readonly sock: Sock,
    readonly family: number,
    readonly fd: number | null,
  ) {
    const ffi = fd !== null && ffiUdpSupported();
    this.batch = ffi ? new SendBatch(BATCH_MAX, SLOT_BYTES) : null;
    this.slots = ffi ? null : makeSlots();
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
    if (b.length === 0) return 0;
    let lost = 0;
    try {
      this.sock.sendMany(b);
    } catch {
      lost = b.length / 3;
    }
    b.length = 0;
    return lost;
  }
}

export class UdpTransport {
  private v4: Outbound | null = null;
  private v6: Outbound | null = null;
  private flushScheduled = false;
  private readonly flushBound = () => this.flush();
  sendErrors = 0;
  /** Asynchronous socket errors (ICMP unreachable and the like). */
  socketErrors = 0;

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
    }
    return t;
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
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flushBound);
    }
  }

  /**
   * Send one datagram now (no batching); the caller may reuse `data` right after. `ttl` applies to
   * this datagram only (RENDEZVOUS sends its NAT-opening junk with TTL 2).
   */
  sendNow(data: Uint8Array, to: InetAddress, ttl?: number): boolean {
    const o = to.family === 6 ? this.v6 : this.v4;
    if (o === null) return false;
    const s = o.sock;
    const address = o.textOf(to);
    try {
      if (ttl === undefined) return s.send(data, to.port, address);
      s.setTTL(ttl);
      try {
        return s.send(data, to.port, address);
      } finally {
        s.setTTL(64);
      }
    } catch {
      this.sendErrors++;
      return false;
    }
  }

  /** Whether an IPv6 socket is open (dual-stack or its own). */
  get hasIpv6(): boolean {
    return this.v6 !== null;
  }

  /** "ip/port" of each bound socket, for /status. */
  listeningOn(): string[] {
    const out: string[] = [];
    if (this.v4) out.push(`${this.v4.sock.address.address}/${this.v4.sock.port}`);
    if (this.v6 && this.v6 !== this.v4) out.push(`${this.v6.sock.address.address}/${this.v6.sock.port}`);
    return out;
  }

  flush(): void {
    this.flushScheduled = false;
    const t0 = STAGE_TIMING ? stageStart() : 0;
    if (this.v4 !== null) this.sendErrors += this.v4.flush();
    if (this.v6 !== null && this.v6 !== this.v4) this.sendErrors += this.v6.flush();
    if (STAGE_TIMING) stageEnd(Stage.udp_send, t0);
  }

  close(): void {
    this.flush();
    this.v4?.sock.close();
    if (this.v6 !== this.v4) this.v6?.sock.close();
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
