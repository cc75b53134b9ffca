/** A bidirectional transfer between two TcpLayers over SimNet, used by the simulation tests and the bench. */
import { createHash } from "node:crypto";
import { SimNet, type Faults } from "./sim-link.ts";
import type { TcpSocket, TcpStats } from "../../../src/stack/tcp/index.ts";

const A = 0x0a000001;
const B = 0x0a000002;

function payload(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    b[i] = x & 255;
  }
  return b;
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

interface TransferResult {
  ok: boolean;
  receivedHash: string;
  sentHash: string;
  received: number;
  simMs: number;
  clientState: string;
  serverState: string;
  backHash?: string;
  backSentHash?: string;
  /** The sending (connecting) side's counters. */
  senderStats: TcpStats;
  /** Datagrams the link dropped (loss and full queues, both ways). */
  dropped: number;
}

/** A sends `size` bytes to B, B sends `back` bytes to A; both half-close; checks ordering + integrity. */
/**
 * `eagerClose`: the server shuts its write side as soon as its data is queued instead of waiting
 * for the client's FIN, so both FINs cross (simultaneous close, CLOSING, FIN_WAIT_2 with data).
 */
export function transfer(
  seed: number,
  faults: Faults,
  size: number,
  back = 0,
  cfg: Record<string, unknown> = {},
  eagerClose = false,
): TransferResult {
  const net = new SimNet(seed, faults);
  const a = net.addNode(A, cfg);
  const b = net.addNode(B, cfg);
  const data = payload(size, seed);
  const backData = payload(back, seed + 1);
  const got = new Uint8Array(size);
  const gotBack = new Uint8Array(back);
  let recvd = 0;
  let recvdBack = 0;
  let server: TcpSocket | null = null;
  let serverEof = false;
  let clientEof = false;
  let sentA = 0;
  let sentB = 0;
  const start = net.clock.now();
  const pumpB = () => {
    if (server === null) return;
    while (sentB < back && server.writableLength > 0) sentB += server.send(backData, sentB, back);
    const st = server.stateName;
    if (sentB === back && server.connected && (st === "CLOSE_WAIT" || (eagerClose && st === "ESTABLISHED"))) server.shutdown("write");
  };
  b.listen(80, {
    handler: {
      onAcceptable: (l) => {
        server = l.accept();
        if (server === null) return;
        server.handler = {
          onReadable: (s) => {
            recvd += s.recv(got, recvd, size);
            if (s.peerClosed && s.readableLength === 0) serverEof = true;
            pumpB();
          },
          onWritable: () => pumpB(),
        };
        recvd += server.recv(got, recvd, size);
        pumpB();
      },
    },
  });
  const pumpA = (s: TcpSocket) => {
    while (sentA < size && s.writableLength > 0) sentA += s.send(data, sentA, size);
    if (sentA === size && (s.stateName === "ESTABLISHED" || s.stateName === "CLOSE_WAIT")) s.shutdown("write");
  };
  const client = a.connect(B, 80, {
    handler: {
      onConnect: (s) => pumpA(s),
      onWritable: (s) => pumpA(s),
      onReadable: (s) => {
        recvdBack += s.recv(gotBack, recvdBack, back);
        if (s.peerClosed && s.readableLength === 0) clientEof = true;
        pumpA(s);
      },
    },
  });
  const ok = net.run(() => serverEof && clientEof && recvd === size && recvdBack === back, 3_600_000);
  return {
    ok,
    receivedHash: sha(got.subarray(0, recvd)),
    sentHash: sha(data),
    received: recvd,
    simMs: net.clock.now() - start,
    clientState: client.stateName,
    serverState: server === null ? "none" : (server as TcpSocket).stateName,
    backHash: sha(gotBack.subarray(0, recvdBack)),
    backSentHash: sha(backData),
    senderStats: { ...a.stats },
    dropped: net.dropped,
  };
}

