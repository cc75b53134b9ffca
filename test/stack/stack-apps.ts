/**
 * Small applications on top of a NetStack for kernel and simulation tests: a hashing sink, a data
 * source, an HTTP responder, an echo server, and clients that send or receive a buffer. Each
 * resolves a promise with what it saw, so tests compare sha256 digests end to end.
 */
import type { CongestionName } from "../../src/stack/tcp/congestion/index.ts";
import { createHash, type Hash } from "node:crypto";
import type { NetStack } from "../../src/stack/stack.ts";
import type { TcpSocket } from "../../src/stack/tcp/index.ts";

export interface Received {
  bytes: number;
  sha256: string;
  error: string | null;
}

/** Read everything a socket receives into a hash; resolves at the peer's FIN (or an error). */
function drainInto(s: TcpSocket, hash: Hash, onEof: (bytes: number) => void, onError: (e: string) => void): void {
  let bytes = 0;
  let done = false;
  const read = () => {
    const rx = s.rx;
    while (rx !== null && s.readableLength > 0) {
      const n = rx.readContiguous();
      const at = rx.readStart();
      hash.update(rx.buf.subarray(at, at + n));
      bytes += n;
      s.consume(n);
    }
    if (s.peerClosed && !done) {
      done = true;
      onEof(bytes);
    }
  };
  const prev = s.handler ?? {};
  s.handler = {
    ...prev,
    onReadable: read,
    onError: (_s, code) => {
      if (!done) {
        done = true;
        onError(code);
      }
    },
  };
  read();
}

/** Write all of data, then (optionally) shut down the write side; resolves when all was queued. */
function writeAll(stack: NetStack, s: TcpSocket, data: Uint8Array, then: "shutdown" | "close" | "none"): Promise<void> {
  return new Promise((resolve, reject) => {
    let off = 0;
    const push = () => {
      try {
        while (off < data.length && s.writableLength > 0) off += s.send(data, off, data.length);
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
        return;
      }
      stack.kick();
      if (off >= data.length) {
        s.handler = { ...s.handler, onWritable: () => {} };
        if (then === "shutdown") s.shutdown("write");
        else if (then === "close") s.close();
        stack.kick();
        resolve();
      }
    };
    s.handler = { ...s.handler, onWritable: push };
    push();
  });
}

/** Accept connections on `port`; each one's bytes are hashed until FIN, then `reply(received)` is sent and the socket closed. */
export function hashingServer(stack: NetStack, port: number, reply?: (r: Received) => Uint8Array): { results: Promise<Received>[]; close(): void } {
  const results: Promise<Received>[] = [];
  const l = stack.listen(port, {
    handler: {
      onAcceptable: (l) => {
        for (let s = l.accept(); s !== null; s = l.accept()) {
          const sock = s;
          const hash = createHash("sha256");
          results.push(
            new Promise((resolve) => {
              drainInto(
                sock,
                hash,
                (bytes) => {
                  const r = { bytes, sha256: hash.digest("hex"), error: null };
                  if (reply !== undefined) void writeAll(stack, sock, reply(r), "close").catch(() => {});
                  else sock.close();
                  stack.kick();
                  resolve(r);
                },
                (e) => resolve({ bytes: -1, sha256: "", error: e }),
              );
            }),
          );
        }
      },
    },
  });
  return { results, close: () => l.close() };
}

/** Accept connections on `port`; send `data` to each, then close. Incoming bytes are discarded. */
export function sourceServer(stack: NetStack, port: number, data: Uint8Array): { close(): void } {
  const l = stack.listen(port, {
    handler: {
      onAcceptable: (l) => {
        for (let s = l.accept(); s !== null; s = l.accept()) {
          const sock = s;
          sock.handler = { onReadable: (x) => x.consume(x.readableLength) };
          void writeAll(stack, sock, data, "close").catch(() => {});
        }
      },
    },
  });
  return { close: () => l.close() };
}

/** Minimal HTTP/1.1 responder: every request gets `body` (Connection: close). */
export function httpServer(stack: NetStack, port: number, body: Uint8Array, bufferSize = 65536): { requests: number; close(): void } {
  const state = { requests: 0, close: () => l.close() };
  const l = stack.listen(port, {
    backlog: 2048,
    recvBufferSize: bufferSize,
    sendBufferSize: bufferSize,
    handler: {
      onAcceptable: (l) => {
        for (let s = l.accept(); s !== null; s = l.accept()) {
          const sock = s;
          let head = "";
          let answered = false;
          sock.handler = {
            onReadable: (x) => {
              const b = new Uint8Array(x.readableLength);
              x.recv(b, 0, b.length);
              head += new TextDecoder().decode(b);
              if (!answered && head.includes("\r\n\r\n")) {
                answered = true;
                state.requests++;
                const h = new TextEncoder().encode(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
                const all = new Uint8Array(h.length + body.length);
                all.set(h);
                all.set(body, h.length);
                void writeAll(stack, x, all, "close").catch(() => {});
              }
            },
          };
        }
      },
    },
  });
  return state;
}

/** Echo server: echoes bytes back; on the peer's FIN, finishes echoing and closes. */
export function echoServer(stack: NetStack, port: number, bufferSize = 16384): { accepted: number; close(): void } {
  const state = { accepted: 0, close: () => l.close() };
  const l = stack.listen(port, {
    backlog: 2048,
    recvBufferSize: bufferSize,
    sendBufferSize: bufferSize,
    handler: {
      onAcceptable: (l) => {
        for (let s = l.accept(); s !== null; s = l.accept()) {
          state.accepted++;
          const sock = s;
          const pump = () => {
            const rx = sock.rx;
            while (rx !== null && sock.readableLength > 0 && sock.writableLength > 0) {
              const n = Math.min(rx.readContiguous(), sock.writableLength);
              const at = rx.readStart();
              const sent = sock.send(rx.buf, at, at + n);
              sock.consume(sent);
              if (sent === 0) break;
            }
            if (sock.peerClosed && sock.readableLength === 0) sock.close();
            stack.kick();
          };
          sock.handler = { onReadable: pump, onWritable: pump };
          pump();
        }
      },
    },
  });
  return state;
}

/** Connect, send data, half-close (unless told not to), and hash everything received until the peer's FIN. */
export interface ClientOptions {
  recvBufferSize?: number;
  sendBufferSize?: number;
  congestion?: CongestionName;
  /** Shut the write side after sending (default). False: stay open until the peer's FIN (for peers that quit at EOF). */
  halfClose?: boolean;
}

export function clientExchange(stack: NetStack, addr: number, port: number, data: Uint8Array, opts: ClientOptions = {}): Promise<Received> {
  return new Promise((resolve) => {
    const hash = createHash("sha256");
    const { halfClose = true, ...bufs } = opts;
    const s = stack.connect(addr, port, {
      ...bufs,
      handler: {
        onConnect: (sock) => {
          void writeAll(stack, sock, data, halfClose ? "shutdown" : "none").catch((e: unknown) => resolve({ bytes: -1, sha256: "", error: String(e) }));
        },
        onError: (_s, code) => resolve({ bytes: -1, sha256: "", error: code }),
      },
    });
    drainInto(
      s,
      hash,
      (bytes) => {
        s.close();
        stack.kick();
        resolve({ bytes, sha256: hash.digest("hex"), error: null });
      },
      (e) => resolve({ bytes: -1, sha256: "", error: e }),
    );
  });
}

export function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}
