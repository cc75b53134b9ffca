#!/usr/bin/env bun
/**
 * The network runtime's own cost per frame, without VL1 or a kernel: a 1400-byte Ethernet frame
 * from the port to a FRAME in VL1's packet buffer (MAC checks, rules, credential bookkeeping, one
 * copy), and a received FRAME through the gate and rules to the port (Ethernet header written in
 * place), on a public and on a private network (COM agreement per frame). Heap growth after a
 * forced GC shows whether the path allocates.
 */
import { makeCom, signCom } from "../src/vl2/com.ts";
import { NO_CREDENTIALS } from "../src/vl2/credentials/network-credentials.ts";
import { splitNetworkId, writeFrameHeader } from "../src/vl2/frame-codec.ts";
import { writeMac } from "../src/vl2/mac.ts";
import { FRAME_HEADROOM } from "../src/stack/link.ts";
import { configFor, configure, makeFixture } from "../test/vl2/network-support.ts";

const MS = 700;

function measure(name: string, op: () => void): void {
  for (let i = 0; i < 2000; i++) op();
  Bun.gc(true);
  const heap0 = process.memoryUsage().heapUsed;
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < MS) {
    for (let i = 0; i < 200; i++) op();
    n += 200;
  }
  const dt = (performance.now() - t0) / 1000;
  Bun.gc(true);
  const grew = process.memoryUsage().heapUsed - heap0;
  console.log(`${name}: ${Math.round(n / dt).toLocaleString("en-US")} frames/s (${((n * 1400) / dt / 1e6).toFixed(0)} MB/s of payload), heap ${grew >= 0 ? "+" : ""}${Math.round(grew / n)} B/frame`);
}

for (const type of [1, 0] as const) {
  const f = makeFixture();
  // the bench's fake VL1 records nothing: only the network's own work is measured
  (f.env as { send: unknown }).send = () => true;
  (f.env as { sendTxTo: unknown }).sendTxTo = () => true;
  configure(f, configFor(f, f.me, { type }));
  f.network.addCredentials({ ...NO_CREDENTIALS, coms: [signCom(makeCom(1_700_000_000_000, 1_800_000, f.nwid, f.other), f.ctl)] });
  (f.port as { deliver: unknown }).deliver = { receiveFrame: () => {} };
  const label = type === 1 ? "public" : "private";

  const out = new Uint8Array(FRAME_HEADROOM + 14 + 1400);
  writeMac(out, FRAME_HEADROOM, f.network.macOf(f.other.address));
  writeMac(out, FRAME_HEADROOM + 6, f.network.mac);
  out[FRAME_HEADROOM + 12] = 0x08;
  measure(`port -> FRAME (${label})`, () => f.network.fromPort(out, FRAME_HEADROOM, out.length));

  const pkt = new Uint8Array(28 + 10 + 1400);
  const h = splitNetworkId(f.nwid);
  measure(`FRAME -> port (${label})`, () => {
    writeFrameHeader(pkt, 28, h, 0x0800);
    f.network.onFrame(f.other.address, pkt, 0, pkt.length);
  });
}
