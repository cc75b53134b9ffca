/**
 * A program's socket served from our own epoll set (ffi/epoll-set.ts): the bridge pulls bytes
 * with recv() straight into the TCP send ring and writes from the receive ring with send(). The
 * fd is registered edge-triggered for input and its end; EPOLLOUT is asked for only while a
 * write came up short, since the program's every read would otherwise wake us while we stream.
 */
import { EPOLLERR, EPOLLET, EPOLLHUP, EPOLLIN, EPOLLOUT, EPOLLRDHUP, type EpollMember, type EpollSet } from "../../ffi/epoll-set.ts";
import { strerror } from "../../ffi/libc.ts";
import { EAGAIN, unixClose, unixRecv, unixSend, unixShutdown } from "../../ffi/unix.ts";
import type { ProgramPort, ProgramPortOwner } from "./program-port.ts";

const BASE = EPOLLIN | EPOLLRDHUP | EPOLLET;
const INPUT = EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR;
const END = EPOLLRDHUP | EPOLLHUP | EPOLLERR;
const ECONNRESET = 104;

/** recv() calls on program sockets of this process: with bytes (or EOF), and the ones that found none. */
export const programReads = { data: 0, empty: 0 };

/** An Error shaped like Node's socket errors (the bridge looks at `code`). */
export function socketError(errnoValue: number): Error {
  const code = errnoValue === ECONNRESET ? "ECONNRESET" : errnoValue === 32 ? "EPIPE" : `E${errnoValue}`;
  return Object.assign(new Error(`${code}: ${strerror(errnoValue)}`), { code });
}

export class EpollProgramPort implements ProgramPort, EpollMember {
  private owner: ProgramPortOwner | null = null;
  private slot = -1;
  private wantOut = false;
  private closed = false;
  /** EPOLLHUP seen: both directions are shut (the program closed, or it and we shut writing). */
  private hup = false;
  /** recv() returned the program's EOF. */
  private eof = false;
  /** An event told of the program's end (EPOLLRDHUP, EPOLLHUP, EPOLLERR). */
  private endTold = false;

  constructor(
    private readonly fd: number,
    private readonly set: EpollSet,
  ) {}

  async open(owner: ProgramPortOwner): Promise<boolean> {
    this.owner = owner;
    if (this.closed) return false;
    const slot = this.set.add(this.fd, BASE, this);
    if (slot < 0) {
      this.closed = true;
      unixClose(this.fd);
      owner.onProgramClosed(socketError(-slot));
      return false;
    }
    this.slot = slot;
    // bytes the program wrote before we registered are reported by the add itself (epoll checks
    // readiness when an fd joins), so nothing to read here
    return true;
  }

  onEpollEvents(events: number): void {
    const o = this.owner;
    if (o === null || this.closed) return;
    if ((events & EPOLLHUP) !== 0) this.hup = true;
    if ((events & END) !== 0) this.endTold = true;
    if ((events & INPUT) !== 0) o.readProgram();
    this.hangUpWhenRead();
    if (this.wantOut && !this.closed && (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) !== 0) {
      this.setWantOut(false);
      o.toProgram();
    }
  }

  get endPending(): boolean {
    return this.endTold && !this.eof && !this.closed;
  }

  recv(buf: Uint8Array, off: number, len: number): number {
    if (this.closed) return -EAGAIN;
    const r = unixRecv(this.fd, buf, off, len);
    if (r === 0) this.eof = true;
    if (r >= 0) {
      programReads.data++;
      return r;
    }
    if (r === -EAGAIN) {
      programReads.empty++;
      return r;
    }
    // ECONNRESET: the program closed with bytes of ours unread
    this.finish(socketError(-r));
    return r;
  }

  write(buf: Uint8Array, off: number, len: number): number {
    if (this.closed) return 0;
    const w = unixSend(this.fd, buf, off, len);
    if (w === len) return w;
    if (w >= 0 || w === -EAGAIN) {
      this.setWantOut(true);
      return w > 0 ? w : 0;
    }
    // EPIPE / ECONNRESET: the program closed its end. Its last bytes (and its EOF or reset) are
    // still ours to read; the bridge reads them, then learns the end.
    const o = this.owner;
    o?.readProgram();
    if (!this.closed) this.finish(socketError(-w));
    return 0;
  }

  private setWantOut(on: boolean): void {
    if (this.wantOut === on || this.slot < 0) return;
    this.wantOut = on;
    this.set.modify(this.slot, this.fd, on ? BASE | EPOLLOUT : BASE);
  }

  /**
   * Hung up and everything the program wrote is read: nothing more can pass either way, so our end
   * closes (as Bun's event loop closes a socket on EPOLLHUP); the bridge finishes the TCP side.
   */
  private hangUpWhenRead(): void {
    if (this.hup && this.eof && !this.closed) this.finish(undefined);
  }

  pause(): void {}
  resume(): void {
    if (this.closed) return;
    this.owner?.readProgram();
    this.hangUpWhenRead();
  }

  shutdownWrite(): void {
    if (!this.closed) unixShutdown(this.fd, 1);
  }
  end(): void {
    this.finish(undefined);
  }
  terminate(): void {
    this.finish(undefined);
  }

  private finish(err: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    if (this.slot >= 0) this.set.remove(this.slot, this.fd);
    this.slot = -1;
    unixClose(this.fd);
    this.owner?.onProgramClosed(err);
  }
}
