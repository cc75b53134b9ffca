/**
 * One TCP listener of the stack and the program listeners behind it: usually one, several when
 * programs bound the same port with SO_REUSEPORT (nginx's `reuseport`), each a real AF_UNIX
 * listener in its program. Each connection the stack accepts is handed to exactly one of them by
 * connecting to its abstract name (round robin); the kernel then gives the program readiness,
 * blocking accept and the one-winner accept across processes sharing the fd.
 *
 * While every program listener's backlog is full the connection waits here (one at a time) and
 * the rest stay in the stack's own accept queue, which is sized from the program's backlog.
 */
import type { TcpListener, TcpListenerHandler, TcpSocket } from "../stack/tcp/index.ts";
import type { NetconSocket } from "./netcon-socket.ts";

export type DeliverResult = "ok" | "full" | "gone";

export interface ListenGroupOwner {
  /** Hand `t` to `member`; "full" when its backlog is full, "gone" when it no longer exists. */
  deliver(member: NetconSocket, t: TcpSocket): DeliverResult;
  /** The member's socket is gone in every process: forget it. */
  memberGone(member: NetconSocket): void;
}

/** Retry delay while every program listener's backlog is full. */
const RETRY_MS = 5;

export class ListenGroup implements TcpListenerHandler {
  readonly members: NetconSocket[] = [];
  private rr = 0;
  private waiting: TcpSocket | null = null;
  private retry: ReturnType<typeof setTimeout> | null = null;
  listener: TcpListener | null = null;

  constructor(
    readonly port: number,
    private readonly owner: ListenGroupOwner,
  ) {}

  onAcceptable(): void {
    this.pump();
  }

  /** Deliver waiting connections until none is left or every program backlog is full. */
  pump(): void {
    const l = this.listener;
    if (l === null) return;
    for (;;) {
      const t = this.waiting ?? l.accept();
      if (t === null) return;
      this.waiting = null;
      if (t.error !== null || t.stateName === "CLOSED") continue; // reset while queued
      const r = this.deliverOne(t);
      if (r === "ok") continue;
      if (r === "full") {
        this.waiting = t;
        this.retry ??= setTimeout(() => {
          this.retry = null;
          this.pump();
        }, RETRY_MS);
        return;
      }
      t.abort();
      return;
    }
  }

  private deliverOne(t: TcpSocket): DeliverResult {
    let full = false;
    for (let tries = this.members.length; tries > 0 && this.members.length > 0; tries--) {
      const i = this.rr % this.members.length;
      const m = this.members[i]!;
      const r = this.owner.deliver(m, t);
      if (r === "ok") {
        this.rr = i + 1;
        return "ok";
      }
      if (r === "full") {
        full = true;
        this.rr = i + 1;
      } else {
        this.owner.memberGone(m);
      }
    }
    return full ? "full" : "gone";
  }

  remove(m: NetconSocket): void {
    const i = this.members.indexOf(m);
    if (i >= 0) this.members.splice(i, 1);
  }

  /** No program listens any more: stop listening (waiting connections are reset). */
  close(): void {
    if (this.retry !== null) clearTimeout(this.retry);
    this.retry = null;
    this.waiting?.abort();
    this.waiting = null;
    this.listener?.close();
    this.listener = null;
  }
}
