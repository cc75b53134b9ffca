/**
 * The intercept tests' network without ZeroTier: the endpoint's stack (10.9.0.1/24) and a peer
 * stack (10.9.0.2/24) joined by an in-memory Ethernet wire in real time. The peer serves 7 echo
 * (closes after the peer's FIN), 9 discard, 13 hold (accepts, never reads), 19 source (1 MiB of
 * i % 251, then FIN); nothing on port 1; 10.9.0.3 does not exist.
 */
import { NetconEndpoint } from "../../../src/netcon/endpoint.ts";
import { FRAME_HEADROOM, type FrameSink } from "../../../src/stack/link.ts";
import { NetStack } from "../../../src/stack/stack.ts";
import type { TcpSocket } from "../../../src/stack/tcp/index.ts";

export const ip = (a: number, b: number, c: number, d: number): number => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
export const NETCON_IP = ip(10, 9, 0, 1);
export const PEER_IP = ip(10, 9, 0, 2);
export const SOURCE_BYTES = 1 << 20;

export interface Fixture {
  endpoint: NetconEndpoint;
  netcon: NetStack;
  peer: NetStack;
  close(): void;
}

export function createFixture(home: string, nwid: bigint): Fixture {
  /** One direction of the wire: frames copied and delivered in a batch on the next tick. */
  class Wire implements FrameSink {
    private queue: Uint8Array[] = [];
    private armed = false;
    target: NetStack | null = null;
    sendFrame(buf: Uint8Array, start: number, end: number): void {
      const f = new Uint8Array(FRAME_HEADROOM + end - start);
      f.set(buf.subarray(start, end), FRAME_HEADROOM);
      this.queue.push(f);
      if (!this.armed) {
        this.armed = true;
        setImmediate(() => this.flush());
      }
    }
    private flush(): void {
      this.armed = false;
      const q = this.queue;
      this.queue = [];
      for (const f of q) this.target?.receiveFrame(f, FRAME_HEADROOM, f.length);
      this.target?.kick();
    }
  }

  const toPeer = new Wire();
  const toNetcon = new Wire();
  const netcon = new NetStack(toPeer, { mac: 0x02aa00000001, mtu: 2800, hostLoopback: true });
  const peer = new NetStack(toNetcon, { mac: 0x02aa00000002, mtu: 2800 });
  toPeer.target = peer;
  toNetcon.target = netcon;
  netcon.addAddress(ip(10, 9, 0, 1), 24);
  peer.addAddress(ip(10, 9, 0, 2), 24);
  netcon.start();
  peer.start();

  function serve(port: number, onSocket: (s: TcpSocket) => void): void {
    peer.listen(port, {
      handler: {
        onAcceptable: (l) => {
          for (let s = l.accept(); s !== null; s = l.accept()) onSocket(s);
        },
      },
    });
  }

  /** Echo: everything read is written back; FIN after the peer's FIN once all is echoed. */
  serve(7, (s) => {
    const pump = (): void => {
      for (;;) {
        const rx = s.rx;
        const len = rx === null ? 0 : Math.min(rx.readContiguous(), s.writableLength);
        if (len === 0) break;
        const n = s.send(rx!.buf, rx!.readStart(), rx!.readStart() + len);
        s.consume(n);
        if (n === 0) break;
      }
      if (s.peerClosed && s.readableLength === 0) s.close();
    };
    s.handler = { onReadable: pump, onWritable: pump };
    pump();
  });

  serve(9, (s) => {
    const drop = (): void => {
      const n = s.readableLength;
      if (n > 0) s.consume(n);
      if (s.peerClosed) s.close();
    };
    s.handler = { onReadable: drop };
    drop();
  });

  const held: TcpSocket[] = [];
  serve(13, (s) => {
    held.push(s);
    s.handler = { onClose: () => held.splice(held.indexOf(s), 1) };
  });

  serve(19, (s) => {
    let sent = 0;
    const chunk = new Uint8Array(65536);
    const fill = (): void => {
      while (sent < SOURCE_BYTES && s.writableLength > 0) {
        const n = Math.min(chunk.length, SOURCE_BYTES - sent, s.writableLength);
        for (let i = 0; i < n; i++) chunk[i] = (sent + i) % 251;
        sent += s.send(chunk, 0, n);
      }
      if (sent >= SOURCE_BYTES) {
        s.handler = { onReadable: () => s.consume(s.readableLength) };
        s.close();
      }
    };
    s.handler = { onWritable: fill, onReadable: () => s.consume(s.readableLength) };
    fill();
  });

  const endpoint = new NetconEndpoint({ home, nwid, stack: netcon });
  return {
    endpoint,
    netcon,
    peer,
    close: () => {
      endpoint.close();
      netcon.stop();
      peer.stop();
    },
  };
}
