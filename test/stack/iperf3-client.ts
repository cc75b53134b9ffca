/**
 * An iperf3-protocol client (TCP, one test) on a NetStack, to run against the kernel's `iperf3 -s`:
 * cookie, parameters, data streams for `seconds`, TEST_END, results exchange, IPERF_DONE. The
 * counterpart of iperf3-server.ts; only what an iperf3 3.x server needs.
 */
import type { NetStack } from "../../src/stack/stack.ts";
import type { TcpSocket } from "../../src/stack/tcp/index.ts";

const TEST_START = 1;
const TEST_RUNNING = 2;
const TEST_END = 4;
const PARAM_EXCHANGE = 9;
const CREATE_STREAMS = 10;
const EXCHANGE_RESULTS = 13;
const DISPLAY_RESULTS = 14;
const IPERF_DONE = 16;

export interface Iperf3ClientResult {
  /** Bytes we sent (normal) or received (reverse). */
  ourBytes: number;
  /** Bytes the server reports for its side of the stream. */
  serverBytes: number;
  seconds: number;
}

export function runIperf3Client(
  stack: NetStack,
  server: number,
  opts: { port?: number; seconds?: number; reverse?: boolean; len?: number } = {},
): Promise<Iperf3ClientResult> {
  const port = opts.port ?? 5201;
  const seconds = opts.seconds ?? 2;
  const reverse = opts.reverse ?? false;
  const len = opts.len ?? 131072;
  const cookie = new Uint8Array(37);
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  for (let i = 0; i < 36; i++) cookie[i] = alphabet.charCodeAt(Math.floor(Math.random() * 32));
  const block = new Uint8Array(len).map((_, i) => i * 13);
  const enc = new TextEncoder();

  return new Promise((resolve, reject) => {
    let inbuf = new Uint8Array(0);
    let stream: TcpSocket | null = null;
    let ourBytes = 0;
    let running = false;
    let t0 = 0;
    let t1 = 0;
    let step: "state" | "server-results" = "state";
    let resultPending: Iperf3ClientResult | null = null;
    const fail = (e: string) => reject(new Error(`iperf3 client: ${e}`));

    const sendJson = (s: TcpSocket, obj: unknown) => {
      const body = enc.encode(JSON.stringify(obj));
      const msg = new Uint8Array(4 + body.length);
      new DataView(msg.buffer).setUint32(0, body.length);
      msg.set(body, 4);
      s.send(msg, 0, msg.length);
      stack.kick();
    };
    const pump = () => {
      if (!running || reverse || stream === null) return;
      while (stream.writableLength > 0) {
        const n = stream.send(block, 0, Math.min(block.length, stream.writableLength));
        if (n === 0) break;
        ourBytes += n;
      }
      stack.kick();
    };
    const openStream = () => {
      stream = stack.connect(server, port, {
        recvBufferSize: 4 << 20,
        sendBufferSize: 4 << 20,
        handler: {
          onConnect: (s) => {
            s.send(cookie, 0, cookie.length);
            stack.kick();
          },
          onReadable: (s) => {
            const n = s.readableLength;
            if (running && reverse) ourBytes += n;
            s.consume(n);
          },
          onWritable: pump,
          onError: (_s, e) => {
            if (running) fail(`stream ${e}`);
          },
        },
      });
    };

    stack.connect(server, port, {
      handler: {
        onConnect: (s) => {
          s.send(cookie, 0, cookie.length);
          stack.kick();
        },
        onError: (_s, e) => fail(`control ${e}`),
        onReadable: (s) => {
          const n = s.readableLength;
          const b = new Uint8Array(inbuf.length + n);
          b.set(inbuf);
          s.recv(b, inbuf.length, b.length);
          inbuf = b;
          for (;;) {
            if (step === "server-results") {
              if (inbuf.length < 4) return;
              const jl = new DataView(inbuf.buffer, inbuf.byteOffset).getUint32(0);
              if (inbuf.length < 4 + jl) return;
              const j = JSON.parse(new TextDecoder().decode(inbuf.subarray(4, 4 + jl))) as { streams?: { bytes?: number }[] };
              inbuf = inbuf.slice(4 + jl);
              step = "state";
              const serverBytes = (j.streams ?? []).reduce((a, x) => a + (x.bytes ?? 0), 0);
              resultPending = { ourBytes, serverBytes, seconds: (t1 - t0) / 1000 };
              continue;
            }
            if (inbuf.length < 1) return;
            const st = inbuf[0]!;
            inbuf = inbuf.slice(1);
            if (st === PARAM_EXCHANGE) {
              sendJson(s, { tcp: true, omit: 0, time: seconds, num: 0, blockcount: 0, parallel: 1, len, pacing_timer: 1000, client_version: "3.12", ...(reverse ? { reverse: true } : {}) });
            } else if (st === CREATE_STREAMS) {
              openStream();
            } else if (st === TEST_START) {
              // nothing: wait for TEST_RUNNING
            } else if (st === TEST_RUNNING) {
              running = true;
              t0 = performance.now();
              pump();
              setTimeout(() => {
                running = false;
                t1 = performance.now();
                s.send(Uint8Array.of(TEST_END), 0, 1);
                stack.kick();
              }, seconds * 1000);
            } else if (st === EXCHANGE_RESULTS) {
              sendJson(s, {
                cpu_util_total: 0,
                cpu_util_user: 0,
                cpu_util_system: 0,
                sender_has_retransmits: 0,
                streams: [{ id: 1, bytes: ourBytes, retransmits: 0, jitter: 0, errors: 0, packets: 0, start_time: 0, end_time: (t1 - t0) / 1000 }],
              });
              step = "server-results";
            } else if (st === DISPLAY_RESULTS) {
              s.send(Uint8Array.of(IPERF_DONE), 0, 1);
              s.close();
              stream?.close();
              stack.kick();
              if (resultPending === null) fail("no results from the server");
              else resolve(resultPending);
              return;
            } else {
              fail(`unexpected state ${st}`);
              return;
            }
          }
        },
      },
    });
  });
}
