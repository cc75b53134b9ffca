/**
 * What libzerotierintercept.so does, done from TypeScript for the control-protocol tests: a control
 * channel, program sockets bound to their abstract names, the stuffed attach, accept preambles.
 */
import type { Socket } from "bun";
import {
  EAGAIN,
  POLLOUT,
  unixBind,
  unixClose,
  unixConnect,
  unixPoll,
  unixRecv,
  unixSend,
  unixSocket,
} from "../../../ffi/unix.ts";
import { ATTACH_HEADER_SIZE, MAGIC_ATTACH, Message, MSG_SIZE, Op, programSocketName } from "../../../src/netcon/protocol.ts";

export interface Reply {
  sockid: number;
  err: number;
  v0: number;
  v1: number;
  v2: number;
  data32: (off: number) => number;
}

export class ControlClient {
  private seq = 1;
  private waiting: ((r: Uint8Array) => void)[] = [];
  private buf = new Uint8Array(0);
  servicePid = 0;
  closed = false;

  private constructor(private readonly sock: Socket<undefined>) {}

  static async open(path: string): Promise<ControlClient> {
    let client: ControlClient | null = null;
    const sock = await Bun.connect({
      unix: path,
      socket: {
        data: (_s, d) => client?.onData(d),
        close: () => {
          if (client) client.closed = true;
        },
      },
    });
    client = new ControlClient(sock);
    const h = await client.call(Op.HELLO, 0, 1, process.pid);
    client.servicePid = h.v0;
    return client;
  }

  private onData(d: Uint8Array): void {
    const all = new Uint8Array(this.buf.length + d.length);
    all.set(this.buf);
    all.set(d, this.buf.length);
    let off = 0;
    while (all.length - off >= MSG_SIZE) {
      this.waiting.shift()?.(all.slice(off, off + MSG_SIZE));
      off += MSG_SIZE;
    }
    this.buf = all.slice(off);
  }

  /** Send raw bytes (malformed-input tests). */
  sendRaw(b: Uint8Array): void {
    this.sock.write(b);
  }

  call(op: number, sockid: number, a0 = 0, a1 = 0, a2 = 0, a3 = 0): Promise<Reply> {
    const m = new Message();
    const req = m.request(op, this.seq++, sockid, a0, a1, a2, a3);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to op ${op}`)), 2000);
      this.waiting.push((bytes) => {
        clearTimeout(timer);
        const r = new Message();
        r.bytes.set(bytes);
        resolve({ sockid: r.sockid, err: r.err, v0: r.val(0), v1: r.val(1), v2: r.val(2), data32: (o) => r.data32(o) });
      });
      this.sock.write(req.slice());
    });
  }

  /** socket(): a nonblocking AF_UNIX fd bound to its abstract name. */
  async socket(): Promise<{ fd: number; id: number }> {
    const r = await this.call(Op.SOCKET, 0, 2, 1, 0);
    if (r.err !== 0) throw new Error(`SOCKET errno ${r.err}`);
    const fd = unixSocket();
    const b = unixBind(fd, programSocketName(this.servicePid, r.sockid), true);
    if (b !== 0) throw new Error(`bind name errno ${-b}`);
    return { fd, id: r.sockid };
  }

  /** The stuffed attach + CONNECT; returns the reply (err 0 = in progress). */
  async connect(s: { fd: number; id: number }, dataPath: string, addr: number, port: number): Promise<Reply> {
    const c = unixConnect(s.fd, dataPath, false);
    if (c !== 0) throw new Error(`attach connect errno ${-c}`);
    const junk = new Uint8Array(65536);
    const dv = new DataView(junk.buffer);
    dv.setUint32(0, MAGIC_ATTACH, true);
    dv.setUint32(4, s.id, true);
    let n = 0;
    let first = true;
    for (;;) {
      const w = unixSend(s.fd, junk, 0, first ? 65536 : 65536);
      if (w === -EAGAIN) break;
      if (w < 0) throw new Error(`stuffing errno ${-w}`);
      if (first) {
        junk.fill(0, 0, ATTACH_HEADER_SIZE);
        first = false;
      }
      n += w;
    }
    return this.call(Op.CONNECT, s.id, addr, port, n);
  }

  close(): void {
    this.sock.end();
  }
}

/** Wait (polling without blocking the event loop) until fd shows one of `events`. */
export async function waitFd(fd: number, events: number, ms = 5000): Promise<number> {
  const end = Date.now() + ms;
  for (;;) {
    const r = unixPoll(fd, events, 0);
    if (r !== 0) return r;
    if (Date.now() > end) return 0;
    await Bun.sleep(2);
  }
}

export const writable = (fd: number): number => unixPoll(fd, POLLOUT, 0);

/** Read exactly n bytes (polling). */
export async function readExactly(fd: number, n: number, ms = 5000): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let have = 0;
  const end = Date.now() + ms;
  while (have < n) {
    const r = unixRecv(fd, out, have, n - have);
    if (r > 0) have += r;
    else if (r === 0) throw new Error(`EOF after ${have} of ${n} bytes`);
    else if (r !== -EAGAIN) throw new Error(`recv errno ${-r}`);
    else if (Date.now() > end) throw new Error(`timeout after ${have} of ${n} bytes`);
    else await Bun.sleep(1);
  }
  return out;
}

export { unixClose, unixRecv, unixSend };
