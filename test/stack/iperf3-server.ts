/**
 * An iperf3-protocol server (TCP tests, one test at a time) on a NetStack, so the kernel's own
 * `iperf3 -c` can measure our stack: control connection with the 37-byte cookie, state bytes,
 * length-prefixed JSON parameters and results, then data streams (client -> us, or us -> client
 * with -R). Written from the protocol's observable behaviour; only what iperf3 3.x clients need.
 */
import type { NetStack } from "../../src/stack/stack.ts";
import type { TcpListener, TcpSocket } from "../../src/stack/tcp/index.ts";

const COOKIE_SIZE = 37;
const TEST_START = 1;
const TEST_RUNNING = 2;
const TEST_END = 4;
const PARAM_EXCHANGE = 9;
const CREATE_STREAMS = 10;
const CLIENT_TERMINATE = 12;
const EXCHANGE_RESULTS = 13;
const DISPLAY_RESULTS = 14;
const IPERF_DONE = 16;
const ACCESS_DENIED = 0xff; // (signed char) -1

export interface Iperf3TestResult {
  reverse: boolean;
  streams: number;
  /** Bytes we received (normal) or sent (reverse), summed over streams. */
  bytes: number;
  seconds: number;
}

interface Stream {
  sock: TcpSocket;
  id: number;
  bytes: number;
  cookie: string;
}

type Phase = "cookie" | "params" | "streams" | "running" | "client-results" | "done-wait";

export class Iperf3Server {
  readonly results: Iperf3TestResult[] = [];
  private readonly listener: TcpListener;
  private ctrl: TcpSocket | null = null;
  private phase: Phase = "cookie";
  private cookie = "";
  private inbuf = new Uint8Array(0);
  private params: { parallel: number; reverse: boolean; len: number } = { parallel: 1, reverse: false, len: 131072 };
  private streams: Stream[] = [];
  private startedAt = 0;
  private endedAt = 0;
  private block = new Uint8Array(0);

  constructor(
    private readonly stack: NetStack,
    port = 5201,
  ) {
    this.listener = stack.listen(port, {
      backlog: 64,
      recvBufferSize: 1 << 20,
      sendBufferSize: 1 << 20,
      handler: { onAcceptable: (l) => this.acceptAll(l) },
    });
  }

  close(): void {
    this.listener.close();
    this.reset();
  }

  private acceptAll(l: TcpListener): void {
    for (let s = l.accept(); s !== null; s = l.accept()) {
      if (this.ctrl === null) this.startControl(s);
      else if (this.phase === "streams") this.startStream(s);
      else this.deny(s);
    }
  }

  private deny(s: TcpSocket): void {
    s.send(Uint8Array.of(ACCESS_DENIED), 0, 1);
    s.close();
    this.stack.kick();
  }

  private sendState(state: number): void {
    this.ctrl?.send(Uint8Array.of(state), 0, 1);
    this.stack.kick();
  }

  private sendJson(obj: unknown): void {
    const body = new TextEncoder().encode(JSON.stringify(obj));
    const msg = new Uint8Array(4 + body.length);
    new DataView(msg.buffer).setUint32(0, body.length);
    msg.set(body, 4);
    this.ctrl?.send(msg, 0, msg.length);
    this.stack.kick();
  }

  private startControl(s: TcpSocket): void {
    this.ctrl = s;
    this.phase = "cookie";
    this.inbuf = new Uint8Array(0);
    s.handler = {
      onReadable: () => this.controlInput(),
      onError: () => this.reset(),
    };
    this.controlInput();
  }

  /** Take `n` bytes from the control buffer, or null if not there yet. */
  private take(n: number): Uint8Array | null {
    if (this.inbuf.length < n) return null;
    const out = this.inbuf.slice(0, n);
    this.inbuf = this.inbuf.slice(n);
    return out;
  }

  private takeJson(): unknown {
    if (this.inbuf.length < 4) return undefined;
    const len = new DataView(this.inbuf.buffer, this.inbuf.byteOffset).getUint32(0);
    if (this.inbuf.length < 4 + len) return undefined;
    this.take(4);
    return JSON.parse(new TextDecoder().decode(this.take(len)!));
  }

  private controlInput(): void {
    const s = this.ctrl;
    if (s === null) return;
    const n = s.readableLength;
    if (n > 0) {
      const b = new Uint8Array(this.inbuf.length + n);
      b.set(this.inbuf);
      s.recv(b, this.inbuf.length, b.length);
      this.inbuf = b;
    }
    for (;;) {
      if (this.phase === "cookie") {
        const c = this.take(COOKIE_SIZE);
        if (c === null) break;
        this.cookie = new TextDecoder().decode(c);
        this.phase = "params";
        this.sendState(PARAM_EXCHANGE);
      } else if (this.phase === "params") {
        const p = this.takeJson();
        if (p === undefined) break;
        const o = (typeof p === "object" && p !== null ? p : {}) as Record<string, unknown>;
        this.params = {
          parallel: typeof o.parallel === "number" ? o.parallel : 1,
          reverse: o.reverse === true || o.reverse === 1,
          len: typeof o.len === "number" ? o.len : 131072,
        };
        this.block = new Uint8Array(this.params.len).map((_, i) => i * 7);
        this.phase = "streams";
        this.sendState(CREATE_STREAMS);
      } else if (this.phase === "running" || this.phase === "streams") {
        const st = this.take(1);
        if (st === null) break;
        if (st[0] === TEST_END) this.endTest();
        else if (st[0] === CLIENT_TERMINATE) this.reset();
      } else if (this.phase === "client-results") {
        const r = this.takeJson();
        if (r === undefined) break;
        this.sendResults();
        this.sendState(DISPLAY_RESULTS);
        this.phase = "done-wait";
      } else if (this.phase === "done-wait") {
        const st = this.take(1);
        if (st === null) break;
        if (st[0] === IPERF_DONE || st[0] === CLIENT_TERMINATE) {
          this.reset(false);
          return;
        }
      }
    }
    if (s.peerClosed && this.ctrl === s) this.reset();
  }

  private startStream(s: TcpSocket): void {
    // iperf3 numbers streams 1, 3, 4, 5, ... (its list insertion quirk); results must use the same ids.
    const id = this.streams.length === 0 ? 1 : this.streams.length + 2;
    const st: Stream = { sock: s, id, bytes: 0, cookie: "" };
    this.streams.push(st);
    s.handler = {
      onReadable: (x) => {
        // First the cookie, then payload (normal mode) which we only count.
        let n = x.readableLength;
        if (st.cookie.length < COOKIE_SIZE) {
          const k = Math.min(n, COOKIE_SIZE - st.cookie.length);
          const c = new Uint8Array(k);
          x.recv(c, 0, k);
          st.cookie += new TextDecoder().decode(c);
          n -= k;
        }
        if (this.phase === "running" && !this.params.reverse) st.bytes += n;
        x.consume(n);
      },
      onWritable: () => this.pump(st),
      onError: () => {},
    };
    if (this.streams.length === this.params.parallel) {
      this.sendState(TEST_START);
      this.sendState(TEST_RUNNING);
      this.phase = "running";
      this.startedAt = performance.now();
      if (this.params.reverse) for (const x of this.streams) this.pump(x);
    }
  }

  private pump(st: Stream): void {
    if (this.phase !== "running" || !this.params.reverse) return;
    const s = st.sock;
    while (s.writableLength > 0) {
      const n = s.send(this.block, 0, Math.min(this.block.length, s.writableLength));
      if (n === 0) break;
      st.bytes += n;
    }
    this.stack.kick();
  }

  private endTest(): void {
    this.endedAt = performance.now();
    this.phase = "client-results";
    // Graceful close, like the reference server's close(): in reverse mode the client is still
    // reading the stream, and an RST would surface there as "Connection reset by peer".
    for (const st of this.streams) st.sock.close();
    this.results.push({
      reverse: this.params.reverse,
      streams: this.streams.length,
      bytes: this.streams.reduce((a, s) => a + s.bytes, 0),
      seconds: (this.endedAt - this.startedAt) / 1000,
    });
    this.sendState(EXCHANGE_RESULTS);
  }

  private sendResults(): void {
    const secs = (this.endedAt - this.startedAt) / 1000;
    this.sendJson({
      cpu_util_total: 0,
      cpu_util_user: 0,
      cpu_util_system: 0,
      sender_has_retransmits: 0,
      congestion_used: "cubic",
      streams: this.streams.map((s) => ({
        id: s.id,
        bytes: s.bytes,
        retransmits: 0,
        jitter: 0,
        errors: 0,
        packets: 0,
        start_time: 0,
        end_time: secs,
      })),
    });
  }

  /** Forget the test; streams not yet closed gracefully (an aborted test) are reset. */
  private reset(abortStreams = true): void {
    if (abortStreams) for (const st of this.streams) if (st.sock.stateName !== "CLOSED") st.sock.abort();
    this.streams = [];
    if (this.ctrl !== null) this.ctrl.close();
    this.ctrl = null;
    this.phase = "cookie";
    this.inbuf = new Uint8Array(0);
    this.stack.kick();
  }
}
