/**
 * The control socket of one network endpoint (`<nwid>.rpc`): a Unix stream listener in a directory
 * only the service's owner can enter. Each connection is one process's channel; the caller's uid
 * is checked with SO_PEERCRED when it connects (another user is refused and logged). Requests are
 * fixed 64-byte messages answered in order; a connection that sends garbage twice is closed.
 */
import type { Socket, UnixSocketListener } from "bun";
import { consola } from "consola";
import { peerCred } from "../../ffi/unix.ts";
import { MAGIC_MSG, MAX_OP, Message, MSG_SIZE, Errno } from "./protocol.ts";

export interface ControlHandler {
  /** Answer one request in place. */
  handle(m: Message): void;
}

interface Channel {
  /** Partial message carried over between data events. */
  buf: Uint8Array;
  have: number;
  pid: number;
  bad: number;
}

export interface ControlStats {
  channels: number;
  calls: number;
  refusedUid: number;
  badMessages: number;
}

export class ControlServer {
  private readonly server: UnixSocketListener<Channel>;
  private readonly msg = new Message();
  readonly stats: ControlStats = { channels: 0, calls: 0, refusedUid: 0, badMessages: 0 };
  private readonly open = new Set<Socket<Channel>>();

  constructor(
    readonly path: string,
    private readonly uid: number,
    private readonly handler: ControlHandler,
  ) {
    this.server = Bun.listen<Channel>({
      unix: path,
      socket: {
        open: (s) => this.onOpen(s),
        data: (s, d) => this.onData(s, d),
        close: (s) => this.onClose(s),
        error: (s) => this.onClose(s),
      },
    });
  }

  private onOpen(s: Socket<Channel>): void {
    const cred = peerCred((s as unknown as { fd: number }).fd);
    if (cred === null || cred.uid !== this.uid) {
      this.stats.refusedUid++;
      consola.warn(`netcon: refused a control connection from uid ${cred?.uid ?? "?"} (pid ${cred?.pid ?? "?"}): only uid ${this.uid} may use ${this.path}`);
      s.terminate();
      return;
    }
    s.data = { buf: new Uint8Array(MSG_SIZE), have: 0, pid: cred.pid, bad: 0 };
    this.open.add(s);
    this.stats.channels++;
  }

  private onClose(s: Socket<Channel>): void {
    if (this.open.delete(s)) this.stats.channels--;
  }

  private onData(s: Socket<Channel>, d: Uint8Array): void {
    const ch = s.data;
    if (ch === undefined) return;
    let off = 0;
    while (off < d.length) {
      const take = Math.min(MSG_SIZE - ch.have, d.length - off);
      ch.buf.set(d.subarray(off, off + take), ch.have);
      ch.have += take;
      off += take;
      if (ch.have < MSG_SIZE) return;
      ch.have = 0;
      if (!this.call(s, ch)) return;
    }
  }

  /** Handle one complete message; false when the channel was closed. */
  private call(s: Socket<Channel>, ch: Channel): boolean {
    const m = this.msg;
    m.bytes.set(ch.buf);
    this.stats.calls++;
    if (m.magic !== MAGIC_MSG || m.op === 0 || m.op > MAX_OP) {
      this.stats.badMessages++;
      if (++ch.bad >= 2 || m.magic !== MAGIC_MSG) {
        consola.warn(`netcon: closing the control channel of pid ${ch.pid}: malformed message`);
        s.terminate();
        return false;
      }
      m.reply(m.sockid, Errno.ENOSYS);
    } else {
      try {
        this.handler.handle(m);
      } catch (e) {
        consola.error(`netcon: control call ${m.op} failed: ${(e as Error).stack ?? e}`);
        m.reply(m.sockid, Errno.EINVAL);
      }
    }
    // One call in flight per channel: a 64-byte reply always fits; anything else is a dead peer.
    if (s.write(m.bytes) !== MSG_SIZE) {
      s.terminate();
      return false;
    }
    return true;
  }

  close(): void {
    for (const s of this.open) s.terminate();
    this.open.clear();
    this.server.stop(true);
  }
}
