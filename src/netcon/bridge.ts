/**
 * Moves bytes between a program's socket (the service's end of its AF_UNIX fd, served through a
 * ProgramPort: our epoll set or Bun's event loop, program-port.ts) and a TCP socket of the
 * user-space stack, with the kernel's backpressure both ways:
 *
 * - program → peer: with the epoll port we recv() straight into the TCP send ring, as much as it
 *   has room for, and stop when it is full; with Bun's port, Bun hands us chunks, we keep the part
 *   that did not fit and pause reading. Either way the program's own socket buffer fills and its
 *   writes block or return EAGAIN. The TCP layer's onWritable resumes us.
 * - peer → program: we write from the TCP receive ring straight to the fd (no copy in between) and
 *   consume only what the kernel took; the rest stays in the ring, so the advertised TCP window
 *   shrinks while the program is not reading. The port tells us when there is room again.
 *
 * Ends: the program's EOF (shutdown(SHUT_WR) or last close) is a TCP FIN; the program closing with
 * unread data (ECONNRESET on our end) is an RST; the peer's FIN becomes shutdown(SHUT_WR) of our
 * end after the last byte, so the program reads 0; a peer RST or a failure closes our end.
 */
import { deferToTurnEnd } from "../../ffi/hot-loop.ts";
import { TcpError, type RingBuffer, type TcpErrno, type TcpSocket, type TcpSocketHandler } from "../stack/tcp/index.ts";
import { Stage, STAGE_TIMING, stageEnd, stageStart } from "../util/stage-timing.ts";
import { openProgramPort, type ProgramPort, type ProgramPortOwner } from "./program-port.ts";

export interface BridgeStats {
  toPeerBytes: number;
  toProgramBytes: number;
}

export interface BridgeOwner {
  /** Both sides are finished; release the record. `error` is the TCP failure, if any. */
  bridgeDone(b: Bridge, error: TcpErrno | null): void;
  readonly stats: BridgeStats;
}

/** Program bytes read after the TCP side is gone are dropped (as the kernel does) through here. */
const discard = new Uint8Array(16 * 1024);
/** A connection's first bytes from the program, before its send ring exists (one at a time). */
const scratch = new Uint8Array(16 * 1024);
const NOTHING = new Uint8Array(0);
/** Retry reading the program after the layer's memory budget refused a send ring. */
const NOBUFS_RETRY_MS = 50;

/**
 * Bridges with data to write to their program, flushed together at the end of the turn's I/O (the
 * event loop's or the hot loop's, ffi/hot-loop.ts): one deferral per turn for all connections,
 * nothing allocated per segment or per connection.
 */
const flushQueue: Bridge[] = [];
let flushArmed = false;
function flushAll(): void {
  flushArmed = false;
  const t0 = STAGE_TIMING ? stageStart() : 0;
  // a bridge queued while flushing is handled in this same pass (the length is re-read)
  for (let i = 0; i < flushQueue.length; i++) flushQueue[i]!.flushNow();
  flushQueue.length = 0;
  if (STAGE_TIMING) stageEnd(Stage.program_write, t0);
}
function scheduleFlush(b: Bridge): void {
  flushQueue.push(b);
  if (!flushArmed) {
    flushArmed = true;
    deferToTurnEnd(flushAll);
  }
}

export class Bridge implements TcpSocketHandler, ProgramPortOwner {
  private port: ProgramPort | null = null;
  /** Bytes read from the program (a chunk of Bun's, or a first read) that did not fit the TCP send ring yet. */
  private pending: Uint8Array | null = null;
  private pendingOff = 0;
  /** The program's EOF arrived while bytes were pending: send FIN after them. */
  private eofPending = false;
  private programEof = false;
  /**
   * The last read stopped for want of room in the TCP send ring (or the layer's memory budget),
   * not because the program's socket was drained: onWritable must read again, since an
   * edge-triggered port reports no new edge for bytes already queued. When the socket was drained
   * the port's next edge brings us back, and a read on every ACK would be a system call that finds
   * nothing (one per request/response transaction).
   */
  private starved = true;
  private finToProgram = false;
  private programGone = false;
  private tcpGone = false;
  private done = false;
  /** The receive ring kept after the layer released the connection, until drained. */
  private closedRx: RingBuffer | null = null;
  tcpError: TcpErrno | null = null;

  constructor(
    readonly tcp: TcpSocket,
    private readonly fd: number,
    private readonly owner: BridgeOwner,
  ) {
    tcp.handler = this;
  }

  /** Take the fd into a port and start moving bytes. */
  async start(): Promise<void> {
    const port = await openProgramPort(this.fd);
    // ours before the port can report anything: an edge-triggered event must find it
    this.port = port;
    if (!(await port.open(this))) return;
    // reset meanwhile (the peer, or destroy() while the port opened): close at once
    if (this.programGone || (this.tcpGone && this.tcpError !== null)) {
      port.terminate();
      return;
    }
    // (what the program wrote before this is reported by the port: epoll tells a joining fd's state)
    this.toProgram();
  }

  // ------------------------------------------------------------ program → peer

  /** The epoll port: read the fd into the TCP send ring until it would block or the ring is full. */
  readProgram(): void {
    const port = this.port;
    if (port === null) return;
    for (;;) {
      // pending: bytes of the first read still wait for room; onWritable resumes us after them
      if (this.programEof || this.programGone || this.pending !== null) return;
      const t = this.tcp;
      // No ring yet: the first bytes go through a scratch buffer, so that a connection whose
      // program sends nothing (connect, close) never allocates one.
      const tx = this.tcpGone || t.writableLength === 0 ? null : t.txAllocated;
      if (tx === null && !this.tcpGone && t.writableLength > 0) {
        const r = port.recv(scratch, 0, scratch.length);
        if (r > 0) this.fromProgram(scratch.subarray(0, r), true);
        else if (r === 0) this.onProgramEof();
        if (r < scratch.length && !this.readAgainAfterShort(r, port)) return;
        continue;
      }
      if (tx === null) {
        // the ring is full (onWritable brings us back) or the memory budget said no (a retry is
        // armed); else nowhere to send for good: drop what the program writes, as the kernel would
        if (!this.tcpGone && !this.writeRefused()) {
          this.starved = true;
          return;
        }
        const r = port.recv(discard, 0, discard.length);
        if (r === 0) this.onProgramEof();
        if (r <= 0) return;
        continue;
      }
      const room = tx.writeContiguous(); // > 0: writableLength was
      const t0 = STAGE_TIMING ? stageStart() : 0;
      const r = port.recv(tx.buf, tx.writeStart(), room);
      if (r > 0) {
        t.commit(r);
        this.owner.stats.toPeerBytes += r;
      }
      if (STAGE_TIMING) stageEnd(Stage.program_read, t0);
      if (r === 0) {
        this.onProgramEof();
        return;
      }
      // -EAGAIN or closed (the port told us), or short
      if ((r < 0 || r < room) && !this.readAgainAfterShort(r, port)) return;
    }
  }

  /**
   * A read came up short or found nothing: the socket is drained (its next edge, not an ACK,
   * brings us back), unless it returned bytes and the program's end was told already; then read
   * again now, since no event will come for an end already reported.
   */
  private readAgainAfterShort(r: number, port: ProgramPort): boolean {
    if (r > 0 && port.endPending) return true;
    this.starved = false;
    return false;
  }

  /**
   * With no room to write into: whether the TCP side takes no more bytes for good (write-shut,
   * failed), rather than having a full ring or hitting the layer's memory budget (ENOBUFS: reading
   * stops and is retried a little later).
   */
  private writeRefused(): boolean {
    try {
      this.tcp.send(NOTHING, 0, 0);
      return false;
    } catch (e) {
      if (e instanceof TcpError && e.code === "ENOBUFS") {
        if (this.nobufsRetry === null) {
          this.nobufsRetry = setTimeout(() => {
            this.nobufsRetry = null;
            this.readProgram();
          }, NOBUFS_RETRY_MS);
        }
        return false;
      }
      return true;
    }
  }
  private nobufsRetry: ReturnType<typeof setTimeout> | null = null;

  /**
   * A chunk the program wrote: from Bun's port, or the first read into the shared scratch buffer
   * (`shared`: what does not fit is copied out, since the next connection reads into it too).
   */
  fromProgram(chunk: Uint8Array, shared = false): void {
    if (this.tcpGone) return;
    let n: number;
    const t0 = STAGE_TIMING ? stageStart() : 0;
    try {
      n = this.tcp.send(chunk, 0, chunk.length);
    } catch {
      // EPIPE or the sticky error: the TCP side is finished; drop the rest as the kernel would.
      return;
    } finally {
      if (STAGE_TIMING) stageEnd(Stage.program_read, t0);
    }
    this.owner.stats.toPeerBytes += n;
    if (n < chunk.length) {
      this.pending = shared ? chunk.slice(n) : chunk;
      this.pendingOff = shared ? 0 : n;
      this.port?.pause();
    }
  }

  onWritable(): void {
    const p = this.pending;
    if (p === null) {
      if (this.starved) this.port?.resume();
      return;
    }
    let n: number;
    try {
      n = this.tcp.send(p, this.pendingOff, p.length);
    } catch {
      return;
    }
    this.owner.stats.toPeerBytes += n;
    this.pendingOff += n;
    if (this.pendingOff < p.length) return;
    this.pending = null;
    if (this.eofPending) {
      this.eofPending = false;
      this.tcp.shutdown("write");
    } else this.port?.resume();
  }

  onProgramEof(): void {
    if (this.programEof) return;
    this.programEof = true;
    if (this.tcpGone) return;
    if (this.pending !== null) this.eofPending = true;
    else this.tcp.shutdown("write");
  }

  // ------------------------------------------------------------ peer → program

  onConnect(): void {}

  /**
   * New data: write it to the program once per event-loop turn, not per segment. Every datagram
   * Bun hands us is its own callback, so writing at once cost one write() per ~2.7 KB segment
   * (21% of the receiving service's time); after the turn's I/O the ring holds all of them.
   */
  onReadable(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    scheduleFlush(this);
  }
  private flushQueued = false;
  /** Called by the shared end-of-turn flush. */
  flushNow(): void {
    this.flushQueued = false;
    this.toProgram();
  }

  toProgram(): void {
    const s = this.port;
    if (s === null || this.programGone) return;
    const t = this.tcp;
    for (;;) {
      // After the layer released the connection its receive ring is still ours to drain.
      const rx = this.tcpGone ? this.closedRx : t.rx;
      const len = rx === null ? 0 : rx.readContiguous();
      if (len === 0) break;
      const start = rx!.readStart();
      const w = s.write(rx!.buf, start, len); // offsets: no view object per write
      if (w > 0) {
        if (this.tcpGone) rx!.consume(w);
        else t.consume(w);
        this.owner.stats.toProgramBytes += w;
      }
      if (w < len) return; // the program's buffer is full: the port tells us when it has room
    }
    if ((this.tcpGone || t.peerClosed) && !this.finToProgram) {
      this.finToProgram = true;
      s.shutdownWrite();
    }
    // Nothing more can come from the peer and the program has finished writing: close our end.
    if (this.tcpGone && this.programEof) s.end();
  }

  // ------------------------------------------------------------ ends

  onError(_sock: TcpSocket, code: TcpErrno): void {
    this.tcpError = code;
  }

  /** The layer released the connection (closed, reset, timed out). */
  onClose(): void {
    if (this.tcpGone) return;
    this.tcpGone = true;
    this.pending = null;
    if (this.tcpError === null) {
      // An orderly end: what arrived in order before the FIN still goes to the program.
      this.closedRx = this.tcp.rx;
      this.toProgram();
    } else if (this.port !== null) {
      this.port.terminate();
    }
    this.finish();
  }

  onProgramClosed(err: Error | undefined): void {
    if (this.programGone) return;
    this.programGone = true;
    this.pending = null;
    if (this.nobufsRetry !== null) clearTimeout(this.nobufsRetry);
    this.nobufsRetry = null;
    if (!this.tcpGone) {
      this.tcpGone = true;
      this.tcp.handler = null;
      const code = `${(err as { code?: string } | undefined)?.code ?? ""} ${err?.message ?? ""}`;
      // The program closed with data it never read (our end saw ECONNRESET): the kernel answers
      // that with an RST. Otherwise a graceful close; the layer finishes it on its own (orphan).
      if (err !== undefined && /ECONNRESET|reset/i.test(code)) this.tcp.abort();
      else this.tcp.close();
    }
    this.finish();
  }

  private finish(): void {
    if (this.done || !this.programGone || !this.tcpGone) return;
    this.done = true;
    this.closedRx = null;
    this.owner.bridgeDone(this, this.tcpError);
  }

  /** Service shutdown or leave: reset both sides now. */
  destroy(): void {
    if (!this.tcpGone) {
      this.tcpGone = true;
      this.tcp.handler = null;
      this.tcp.abort();
    }
    if (this.port !== null) this.port.terminate();
    else this.programGone = true;
    this.finish();
  }
}
