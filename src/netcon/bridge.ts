/**
 * Moves bytes between a program's socket (the service's end of its AF_UNIX fd, adopted into Bun's
 * event loop) and a TCP socket of the user-space stack, with the kernel's backpressure both ways:
 *
 * - program → peer: Bun hands us what the program wrote; it goes into the TCP send ring. When the
 *   ring is full we keep the rest of that one chunk and pause reading, so the program's own socket
 *   buffer fills and its writes block or return EAGAIN. The TCP layer's onWritable resumes us.
 * - peer → program: we write from the TCP receive ring straight to the fd (no copy in between) and
 *   consume only what the kernel took; the rest stays in the ring, so the advertised TCP window
 *   shrinks while the program is not reading. Bun's drain event resumes us.
 *
 * Ends: the program's EOF (shutdown(SHUT_WR) or last close) is a TCP FIN; the program closing with
 * unread data (ECONNRESET on our end) is an RST; the peer's FIN becomes shutdown(SHUT_WR) of our
 * end after the last byte, so the program reads 0; a peer RST or a failure closes our end.
 */
import type { Socket } from "bun";
import { deferToTurnEnd } from "../../ffi/hot-loop.ts";
import { adoptSocketFd, unixClose } from "../../ffi/unix.ts";
import type { RingBuffer, TcpErrno, TcpSocket, TcpSocketHandler } from "../stack/tcp/index.ts";
import { Stage, STAGE_TIMING, stageEnd, stageStart } from "../util/stage-timing.ts";

export interface BridgeStats {
  toPeerBytes: number;
  toProgramBytes: number;
}

export interface BridgeOwner {
  /** Both sides are finished; release the record. `error` is the TCP failure, if any. */
  bridgeDone(b: Bridge, error: TcpErrno | null): void;
  readonly stats: BridgeStats;
}

type Sock = Socket<Bridge>;

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

export class Bridge implements TcpSocketHandler {
  private sock: Sock | null = null;
  /** Bytes Bun read from the program that did not fit the TCP send ring yet. */
  private pending: Uint8Array | null = null;
  private pendingOff = 0;
  /** The program's EOF arrived while bytes were pending: send FIN after them. */
  private eofPending = false;
  private programEof = false;
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

  /** Adopt the fd into the event loop and start moving bytes. */
  async start(): Promise<void> {
    try {
      this.sock = await adoptSocketFd<Bridge>({
        fd: this.fd,
        allowHalfOpen: true,
        data: this,
        socket: {
          data: (s, chunk) => s.data.fromProgram(chunk),
          drain: (s) => s.data.toProgram(),
          end: (s) => s.data.onProgramEof(),
          close: (s, err) => s.data.onProgramClosed(err),
          error: (s, err) => s.data.onProgramClosed(err),
        },
      });
    } catch (e) {
      unixClose(this.fd);
      this.onProgramClosed(e as Error);
      return;
    }
    if (this.tcpGone && this.tcpError !== null) {
      this.sock.terminate();
      return;
    }
    this.toProgram();
  }

  // ------------------------------------------------------------ program → peer

  private fromProgram(chunk: Uint8Array): void {
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
      this.pending = chunk;
      this.pendingOff = n;
      this.sock?.pause();
    }
  }

  onWritable(): void {
    const p = this.pending;
    if (p === null) return;
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
    } else this.sock?.resume();
  }

  private onProgramEof(): void {
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

  private toProgram(): void {
    const s = this.sock;
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
      if (w < len) return; // the program's buffer is full: Bun's drain brings us back
    }
    if ((this.tcpGone || t.peerClosed) && !this.finToProgram) {
      this.finToProgram = true;
      s.shutdown();
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
    } else if (this.sock !== null) {
      this.sock.terminate();
    }
    this.finish();
  }

  private onProgramClosed(err: Error | undefined): void {
    if (this.programGone) return;
    this.programGone = true;
    this.pending = null;
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
    if (this.sock !== null) this.sock.terminate();
    else this.programGone = true;
    this.finish();
  }
}
