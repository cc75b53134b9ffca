/**
 * The UDP underlay: one IPv4 and (where available) one IPv6 socket on the same port, kernel
 * buffers raised through ffi (Bun.udpSocket has no option for it; default buffers dropped most of an
 * unpaced stream in our measurements), and batched sends with sendMany.
 */
import type { udp } from "bun";
import { consola } from "consola";
import { setSocketBuffers } from "../../ffi/libc.ts";
import { Stage, STAGE_TIMING, stageEnd, stageStart } from "../util/stage-timing.ts";

export type DatagramHandler = (data: Uint8Array, address: string, port: number, ipv6: boolean) => void;

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

/** Flush a send batch after this many packets even within one tick. */
const BATCH_MAX = 64;

export class UdpTransport {
  private v4: Sock | null = null;
  private v6: Sock | null = null;
  private batch4: (Uint8Array | number | string)[] = [];
  private batch6: (Uint8Array | number | string)[] = [];
  private flushScheduled = false;
  sendErrors = 0;
  /** Asynchronous socket errors (ICMP unreachable and the like). */
  socketErrors = 0;

  private constructor(readonly port: number) {}

  static async open(opts: UdpTransportOptions): Promise<UdpTransport> {
    let t: UdpTransport | null = null;
    const handler = {
      data(_s: Sock, data: Uint8Array, port: number, address: string, flags: udp.ReceiveFlags) {
        opts.onDatagram(data, address, port, flags.ipv6);
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
      t.v4 = sock;
      t.v6 = dual;
    } else {
      // Explicit addresses (local.conf settings.bind): one socket per family.
      const v4 = await bindSocket(opts.bindV4 ?? "0.0.0.0", opts.port);
      t = new UdpTransport(v4.port);
      t.v4 = v4;
      if (opts.bindV6 !== null && opts.bindV6 !== undefined) {
        try {
          t.v6 = await bindSocket(opts.bindV6, v4.port);
        } catch (e) {
          consola.warn(`UDP: cannot bind ${opts.bindV6}/${v4.port}: ${(e as Error).message}`);
        }
      }
    }
    const bytes = opts.bufferBytes ?? 4 << 20;
    const created = t;
    for (const s of created.sockets()) {
      const fd = socketFd(s);
      if (fd !== null) {
        try {
          setSocketBuffers(fd, bytes);
        } catch (e) {
          consola.warn(`UDP: could not raise socket buffers: ${(e as Error).message}`);
        }
      }
    }
    return created;
  }

  /** Copy targets for sendCopy: one per batch position and family, reused after every flush. */
  private readonly slots4 = makeSlots();
  private readonly slots6 = makeSlots();

  /**
   * Queue a copy of data[start, end) for the next sendMany batch (flushed at the end of this tick or
   * when the batch is full). The caller may reuse its buffer right away: the bytes go into a
   * preallocated slot, so batching costs no allocation beyond the view handed to sendMany.
   */
  sendCopy(data: Uint8Array, start: number, end: number, address: string, port: number): void {
    const v6 = address.includes(":");
    const b = v6 ? this.batch6 : this.batch4;
    const len = end - start;
    if ((v6 ? this.v6 : this.v4) === null || len > SLOT_BYTES) {
      this.sendErrors++;
      return;
    }
    const slot = (v6 ? this.slots6 : this.slots4)[b.length / 3]!;
    slot.set(data.subarray(start, end));
    this.send(slot.subarray(0, len), address, port);
  }

  /**
   * Queue a datagram. The bytes are referenced until the batch is flushed at the end of this tick,
   * so callers pass a buffer they will not reuse before then, or call flush() first.
   */
  send(data: Uint8Array, address: string, port: number): void {
    const v6 = address.includes(":");
    const b = v6 ? this.batch6 : this.batch4;
    if ((v6 ? this.v6 : this.v4) === null) {
      this.sendErrors++;
      return;
    }
    b.push(data, port, address);
    if (b.length >= BATCH_MAX * 3) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /**
   * Send one datagram now (no batching); the caller may reuse `data` right after. `ttl` applies to
   * this datagram only (RENDEZVOUS sends its NAT-opening junk with TTL 2).
   */
  sendNow(data: Uint8Array, address: string, port: number, ttl?: number): boolean {
    const s = address.includes(":") ? this.v6 : this.v4;
    if (s === null) return false;
    try {
      if (ttl === undefined) return s.send(data, port, address);
      s.setTTL(ttl);
      try {
        return s.send(data, port, address);
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
    return this.sockets().map((s) => `${s.address.address}/${s.port}`);
  }

  /** The distinct open sockets (one when dual-stack). */
  private sockets(): Sock[] {
    const out: Sock[] = [];
    if (this.v4) out.push(this.v4);
    if (this.v6 && this.v6 !== this.v4) out.push(this.v6);
    return out;
  }

  flush(): void {
    this.flushScheduled = false;
    const t0 = STAGE_TIMING ? stageStart() : 0;
    for (const [s, b] of [
      [this.v4, this.batch4],
      [this.v6, this.batch6],
    ] as const) {
      if (b.length === 0 || s === null) continue;
      try {
        s.sendMany(b);
      } catch {
        this.sendErrors += b.length / 3;
      }
      b.length = 0;
    }
    if (STAGE_TIMING) stageEnd(Stage.udp_send, t0);
  }

  close(): void {
    this.flush();
    for (const s of this.sockets()) s.close();
    this.v4 = this.v6 = null;
  }
}

/** Largest datagram sendCopy takes: a head or fragment at the largest physical MTU. */
const SLOT_BYTES = 10240;

function makeSlots(): Uint8Array[] {
  const backing = new Uint8Array(SLOT_BYTES * BATCH_MAX);
  return Array.from({ length: BATCH_MAX }, (_, i) => backing.subarray(i * SLOT_BYTES, (i + 1) * SLOT_BYTES));
}

/** Bun exposes the descriptor at runtime but not in its types. */
function socketFd(s: Sock): number | null {
  const fd = (s as unknown as { fd?: unknown }).fd;
  return typeof fd === "number" && fd >= 0 ? fd : null;
}
