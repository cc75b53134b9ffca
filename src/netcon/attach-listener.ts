/**
 * The data listener of a network endpoint (`<nwid>.data`): a connecting program socket attaches
 * here before its CONNECT call (intercept/PROTOCOL.md, "the stuffed attach"). The service accepts
 * from it only when a CONNECT arrives, with raw syscalls, and only *peeks* at the attach header:
 * the header and the stuffing behind it must stay unread until the TCP handshake ends, because
 * they are what keeps the program's fd from looking writable too early.
 */
import { ATTACH_HEADER_SIZE, MAGIC_ATTACH } from "./protocol.ts";
import { EAGAIN, MSG_PEEK, peerCred, unixAccept, unixBind, unixClose, unixListen, unixRecv, unixSocket } from "../../ffi/unix.ts";

interface Waiting {
  fd: number;
  since: number;
}

/** Attaches not claimed by a CONNECT within this time are dropped (a program that died in between). */
const UNCLAIMED_MS = 5_000;

export interface AttachStats {
  accepted: number;
  refusedUid: number;
  malformed: number;
  expired: number;
}

export class AttachListener {
  private readonly fd: number;
  /** Attached sockets by sockid, waiting for their CONNECT. */
  private readonly waiting = new Map<number, Waiting>();
  /** Accepted but the header was not complete yet (peeked again at the next claim). */
  private readonly unidentified: Waiting[] = [];
  private readonly peek = new Uint8Array(ATTACH_HEADER_SIZE);
  private readonly peekView = new DataView(this.peek.buffer);
  readonly stats: AttachStats = { accepted: 0, refusedUid: 0, malformed: 0, expired: 0 };

  constructor(
    path: string,
    private readonly uid: number,
    private readonly now: () => number,
  ) {
    const fd = unixSocket();
    if (fd < 0) throw new Error(`data listener: socket: errno ${-fd}`);
    let r = unixBind(fd, path, false);
    if (r === 0) r = unixListen(fd, 4096);
    if (r !== 0) {
      unixClose(fd);
      throw new Error(`data listener ${path}: errno ${-r}`);
    }
    this.fd = fd;
  }

  /** The attached fd of `sockid` (ownership passes to the caller), or -1 when it is not there. */
  claim(sockid: number): number {
    // The program attached before it sent CONNECT, so its socket is already filed or waits in the
    // backlog; accepting stops once it is found (no accept() that only says EAGAIN per connect).
    if (!this.waiting.has(sockid)) this.acceptUntil(sockid);
    const w = this.waiting.get(sockid);
    if (w === undefined) return -1;
    this.waiting.delete(sockid);
    return w.fd;
  }

  /** Accept and file attaches until `until` is filed (or the backlog is empty; -1: empty it). */
  private acceptUntil(until: number): void {
    for (let i = this.unidentified.length - 1; i >= 0; i--) {
      const w = this.unidentified[i]!;
      if (this.identify(w)) this.unidentified.splice(i, 1);
    }
    while (!this.waiting.has(until)) {
      const fd = unixAccept(this.fd);
      if (fd < 0) break; // -EAGAIN: nothing more waits (other errors: try again at the next claim)
      this.stats.accepted++;
      const cred = peerCred(fd);
      if (cred === null || cred.uid !== this.uid) {
        this.stats.refusedUid++;
        unixClose(fd);
        continue;
      }
      const w = { fd, since: this.now() };
      if (!this.identify(w)) this.unidentified.push(w);
    }
  }

  /** Peek the header; true when the entry was filed (or dropped as malformed). */
  private identify(w: Waiting): boolean {
    const n = unixRecv(w.fd, this.peek, 0, ATTACH_HEADER_SIZE, MSG_PEEK);
    if (n === -EAGAIN || (n >= 0 && n < ATTACH_HEADER_SIZE && n !== 0)) return false;
    if (n !== ATTACH_HEADER_SIZE || this.peekView.getUint32(0, true) !== MAGIC_ATTACH) {
      this.stats.malformed++;
      unixClose(w.fd);
      return true;
    }
    const id = this.peekView.getUint32(4, true);
    const old = this.waiting.get(id);
    if (old !== undefined) unixClose(old.fd);
    this.waiting.set(id, w);
    return true;
  }

  /** Drop attaches nobody claimed (called from the endpoint's sweep). */
  sweep(): void {
    this.acceptUntil(-1);
    const limit = this.now() - UNCLAIMED_MS;
    for (const [id, w] of this.waiting) {
      if (w.since < limit) {
        this.waiting.delete(id);
        unixClose(w.fd);
        this.stats.expired++;
      }
    }
    for (let i = this.unidentified.length - 1; i >= 0; i--) {
      const w = this.unidentified[i]!;
      if (w.since < limit) {
        this.unidentified.splice(i, 1);
        unixClose(w.fd);
        this.stats.expired++;
      }
    }
  }

  close(): void {
    for (const w of this.waiting.values()) unixClose(w.fd);
    for (const w of this.unidentified) unixClose(w.fd);
    this.waiting.clear();
    this.unidentified.length = 0;
    unixClose(this.fd);
  }
}
