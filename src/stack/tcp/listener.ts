/**
 * A listening socket: a bounded set of half-open connections (the SYN queue, beyond which SYN
 * cookies answer) and a bounded accept queue (the backlog). `pending > 0` is exactly "a
 * connection is waiting", which netcon mirrors as readability of the program's listening fd.
 */
import type { Connection, ConnectionOwner } from "./connection.ts";
import type { ListenOptions, TcpListener, TcpListenerHandler, TcpSocket } from "./socket.ts";

export interface ListenerHost {
  closeListener(l: Listener): void;
  queueListenerEvent(l: Listener): void;
}

export class Listener implements TcpListener, ConnectionOwner {
  handler: TcpListenerHandler | null;
  readonly backlog: number;
  readonly embryos = new Set<Connection>();
  readonly acceptQueue: Connection[] = [];
  readonly recvBufferSize: number;
  readonly sendBufferSize: number;
  /** Buffer sizes were given to listen(): accepted connections do not autotune. */
  readonly explicitSizes: boolean;
  acceptableRaised = false;
  /** When this listener last answered a SYN with a cookie (0 = never). */
  lastCookieAt = 0;
  eventQueued = false;
  closed = false;

  constructor(
    private readonly host: ListenerHost,
    readonly localAddr: number,
    readonly localPort: number,
    opts: ListenOptions,
    defaults: { backlog: number; recvBufferSize: number; sendBufferSize: number },
  ) {
    this.backlog = Math.max(1, opts.backlog ?? defaults.backlog);
    this.handler = opts.handler ?? null;
    this.recvBufferSize = opts.recvBufferSize ?? defaults.recvBufferSize;
    this.sendBufferSize = opts.sendBufferSize ?? defaults.sendBufferSize;
    this.explicitSizes = opts.recvBufferSize !== undefined || opts.sendBufferSize !== undefined;
  }

  get pending(): number {
    return this.acceptQueue.length;
  }

  get acceptQueueFull(): boolean {
    return this.acceptQueue.length >= this.backlog;
  }

  accept(): TcpSocket | null {
    const c = this.acceptQueue.shift();
    if (c === undefined) return null;
    c.listener = null;
    return c;
  }

  /** A handshake completed; false if the accept queue is full. */
  enqueue(conn: Connection): boolean {
    if (this.acceptQueueFull || this.closed) return false;
    this.embryos.delete(conn);
    this.acceptQueue.push(conn);
    if (this.acceptQueue.length === 1) {
      this.acceptableRaised = true;
      this.host.queueListenerEvent(this);
    }
    return true;
  }

  removeEmbryo(conn: Connection): void {
    this.embryos.delete(conn);
    const i = this.acceptQueue.indexOf(conn);
    if (i >= 0) this.acceptQueue.splice(i, 1);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of [...this.embryos, ...this.acceptQueue]) {
      c.listener = null;
      c.abort();
    }
    this.embryos.clear();
    this.acceptQueue.length = 0;
    this.host.closeListener(this);
  }
}
