/**
 * The service's end of a program's connected socket, as the bridge (bridge.ts) sees it. Two ways
 * to serve it, picked once per process (ZT_NETCON_IO, see setProgramIo):
 *
 * - "epoll" (EpollProgramPort): the fd sits in an epoll set of ours (ffi/epoll-set.ts) and the
 *   bridge reads it straight into the TCP send ring (no buffer per chunk, no copy in between). The
 *   set's doorbell is a hot-loop source, so a service polling its UDP socket serves the programs'
 *   sockets in the same poll() instead of returning to Bun's event loop for each of their events.
 * - "bun" (BunProgramPort): Bun's event loop reads the fd (Bun.connect({ fd })) and hands the
 *   bridge a new buffer per chunk. Where io_uring is refused (Docker's default seccomp profile)
 *   the epoll set has no doorbell, and this is the way.
 */
import type { Socket } from "bun";
import { EpollSet } from "../../ffi/epoll-set.ts";
import { adoptSocketFd, unixClose } from "../../ffi/unix.ts";
import { consola } from "consola";
import { EpollProgramPort, programReads } from "./program-port-epoll.ts";

/** What a port tells its bridge. */
export interface ProgramPortOwner {
  /** A chunk the program wrote (the "bun" port pushes; "epoll" lets the bridge pull with recv). */
  fromProgram(chunk: Uint8Array): void;
  /** The fd may have bytes or an end to read ("epoll"): read until it would block. */
  readProgram(): void;
  /** The program's buffer has room again after a short write. */
  toProgram(): void;
  /** The program shut its writing side (or closed): EOF after the bytes before it. */
  onProgramEof(): void;
  /** Our end is closed: by the program (err: ECONNRESET = it left data unread), or by us. */
  onProgramClosed(err: Error | undefined): void;
}

export interface ProgramPort {
  /** Start delivering events; false if the fd could not be taken (the port closed it, owner told). */
  open(owner: ProgramPortOwner): Promise<boolean>;
  /**
   * Read into buf[off, off+len): n, 0 at the program's EOF, -EAGAIN (nothing now), or another
   * -errno after which the port is closed (onProgramClosed told). Only the "epoll" port reads this
   * way; the other pushes chunks.
   */
  recv(buf: Uint8Array, off: number, len: number): number;
  /**
   * The program's end (its EOF, or a reset) was reported and is not read yet: a read that came up
   * short is not the last one, since no new event will come for an end already reported.
   */
  readonly endPending: boolean;
  /** Write buf[off, off+len) without blocking: bytes taken (fewer: toProgram() comes when there is room). */
  write(buf: Uint8Array, off: number, len: number): number;
  /** Stop and restart reading ("bun" port; the "epoll" one is pulled, so these do nothing there). */
  pause(): void;
  resume(): void;
  /** shutdown(SHUT_WR): the program reads EOF after what was written. */
  shutdownWrite(): void;
  /** Close our end after an orderly finish; onProgramClosed(undefined) follows. */
  end(): void;
  /** Close our end now; onProgramClosed(undefined) follows unless the program's end came first. */
  terminate(): void;
}

/** ZT_NETCON_IO: auto (epoll where io_uring works, else bun), epoll or bun. */
export type ProgramIoChoice = "auto" | "epoll" | "bun";

export function parseProgramIoChoice(text: string): ProgramIoChoice | null {
  return text === "auto" || text === "epoll" || text === "bun" ? text : null;
}

let choice: ProgramIoChoice = "auto";
let shared: Promise<EpollSet | string> | null = null;
/** The set once opened (null: not yet, or Bun's way). */
let opened: EpollSet | null = null;
let way: "epoll" | "bun" | null = null;

/** How program sockets are served (null until the first one), and the events the epoll set told. */
export function programIoState(): { way: "epoll" | "bun" | null; events: number; reads: number; emptyReads: number } {
  return { way, events: opened?.stats.events ?? 0, reads: programReads.data, emptyReads: programReads.empty };
}

/** Set the process's choice (the service does, from ZT_NETCON_IO); the set opens on first use. */
export function setProgramIo(c: ProgramIoChoice): void {
  choice = c;
}

/** The process's epoll set for program sockets, or why there is none. */
export function programEpollSet(): Promise<EpollSet | string> {
  if (choice === "bun") {
    way = "bun";
    return Promise.resolve("ZT_NETCON_IO=bun");
  }
  if (shared === null) {
    shared = EpollSet.open().then((s) => {
      if (typeof s === "string") {
        const how = choice === "epoll" ? "error" : "info";
        consola[how](`network containers: program sockets served by Bun's event loop (${s})`);
        way = "bun";
      } else {
        opened = s;
        way = "epoll";
      }
      return s;
    });
  }
  return shared;
}

/** The port for a program's fd: "epoll" when the process has its set, else "bun". */
export async function openProgramPort(fd: number): Promise<ProgramPort> {
  const set = await programEpollSet();
  if (typeof set !== "string") {
    return new EpollProgramPort(fd, set);
  }
  return new BunProgramPort(fd);
}

type Sock = Socket<ProgramPortOwner>;

/** Bun's event loop reads and writes the fd (Bun.connect({ fd })). */
export class BunProgramPort implements ProgramPort {
  private sock: Sock | null = null;
  private closing = false;
  /** Bun pushes the program's bytes and its end; nothing is pulled. */
  readonly endPending = false;

  constructor(private readonly fd: number) {}

  async open(owner: ProgramPortOwner): Promise<boolean> {
    try {
      this.sock = await adoptSocketFd<ProgramPortOwner>({
        fd: this.fd,
        allowHalfOpen: true,
        data: owner,
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
      owner.onProgramClosed(e as Error);
      return false;
    }
    if (this.closing) this.sock.terminate();
    return true;
  }

  recv(): number {
    consola.error("network containers: recv on a Bun-read program socket");
    return -22;
  }
  write(buf: Uint8Array, off: number, len: number): number {
    const s = this.sock;
    if (s === null) return 0;
    const w = s.write(buf, off, len); // offsets: no view object per write
    return w > 0 ? w : 0;
  }
  pause(): void {
    this.sock?.pause();
  }
  resume(): void {
    this.sock?.resume();
  }
  shutdownWrite(): void {
    this.sock?.shutdown();
  }
  end(): void {
    this.sock?.end();
  }
  terminate(): void {
    if (this.sock === null) this.closing = true;
    else this.sock.terminate();
  }
}
