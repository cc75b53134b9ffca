#!/usr/bin/env bun
/**
 * VL1 codec throughput: LZ4 block compress/decompress (compressible config-like text and incompressible
 * random bytes) and fragment split + reassembly. Each case also reports heap growth per operation
 * after a forced GC, as a rough check that the hot paths allocate nothing.
 */
import { FFIType, dlopen, ptr } from "bun:ffi";
import { ManualClock } from "../src/util/clock.ts";
import { SeededRng } from "../src/util/random.ts";
import { splitPacket } from "../src/vl1/fragment.ts";
import { Lz4Compressor, lz4CompressBound, lz4Decompress } from "../src/vl1/lz4.ts";
import { DEFAULT_PHYSMTU, Verb, setFragmented, writeHeader } from "../src/vl1/packet.ts";
import { ReassemblyQueue } from "../src/vl1/reassembly.ts";

const TARGET_MS = 700;

function measure(name: string, bytesPerOp: number, op: () => void): void {
  for (let i = 0; i < 200; i++) op(); // warm up the JIT
  Bun.gc(true);
  const heap0 = process.memoryUsage().heapUsed;
  let ops = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < TARGET_MS) {
    for (let i = 0; i < 100; i++) op();
    ops += 100;
    t = performance.now();
  }
  const heap1 = process.memoryUsage().heapUsed;
  const secs = (t - t0) / 1000;
  const mbps = bytesPerOp > 0 ? `${((ops * bytesPerOp) / secs / 1e6).toFixed(0).padStart(6)} MB/s  ` : "";
  const perOp = ((heap1 - heap0) / ops).toFixed(2);
  console.log(`${name.padEnd(44)} ${mbps}${(ops / secs).toFixed(0).padStart(9)} ops/s   heap +${perOp} B/op`);
}

/** The C reference library, if the system has it, for comparison only. */
function loadLiblz4() {
  try {
    return dlopen("liblz4.so.1", {
      LZ4_decompress_safe: { args: [FFIType.ptr, FFIType.ptr, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
      LZ4_compress_default: { args: [FFIType.ptr, FFIType.ptr, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    }).symbols;
  } catch {
    console.log("(liblz4.so.1 not found: no reference numbers)");
    return null;
  }
}
const liblz4 = loadLiblz4();

const rng = new SeededRng(1);
const lz4 = new Lz4Compressor();

// Config-dictionary-like text (what controllers send compressed) and random bytes (encrypted frames).
const text = new TextEncoder().encode(
  Array.from({ length: 120 }, (_, i) => `key${i % 17}=${(i * 2654435761) % 100000}\\nroute=172.28.${i % 8}.0/24\n`).join(""),
).subarray(0, 4000);
const random = new Uint8Array(1400);
rng.fill(random);
// A small MULTICAST_LIKE-sized payload: per-call fixed costs dominate here.
const small = new TextEncoder().encode(
  "nwid=3bc65e2b50b151d2 mac=ff:ff:ff:ff:ff:ff adi=0 nwid=3bc65e2b50b151d2 mac=33:33:00:00:00:01 adi=0 xx",
);

for (const [label, data] of [
  [`config text ${text.length} B`, text],
  [`random ${random.length} B`, random],
  [`small ${small.length} B`, small],
] as const) {
  const comp = new Uint8Array(lz4CompressBound(data.length));
  const n = lz4.compress(data, 0, data.length, comp, 0, comp.length);
  const out = new Uint8Array(10024);
  console.log(`lz4 ${label}: ${data.length} -> ${n} bytes`);
  measure(`lz4 compress   ${label}`, data.length, () => {
    lz4.compress(data, 0, data.length, comp, 0, comp.length);
  });
  measure(`lz4 decompress ${label}`, data.length, () => {
    lz4Decompress(comp, 0, n, out, 0, out.length);
  });
  if (liblz4) {
    const ref = liblz4;
    const pData = ptr(data);
    const pComp = ptr(comp);
    const pOut = ptr(out);
    measure(`  (liblz4 via ffi) compress`, data.length, () => {
      ref.LZ4_compress_default(pData, pComp, data.length, comp.length);
    });
    const m = ref.LZ4_compress_default(pData, pComp, data.length, comp.length);
    measure(`  (liblz4 via ffi) decompress`, data.length, () => {
      ref.LZ4_decompress_safe(pComp, pOut, m, out.length);
    });
  }
}

for (const len of [2800, 9000]) {
  const pkt = new Uint8Array(len);
  rng.fill(pkt);
  writeHeader(pkt, 0, 0x01020304, 0, 0x0102030405, 0x0a0b0c0d0e, Verb.FRAME);
  setFragmented(pkt, 0, true);
  const q = new ReassemblyQueue(new ManualClock());
  const scratch = new Uint8Array(DEFAULT_PHYSMTU);
  let id = 0;
  let delivered = 0;
  const sink = (b: Uint8Array, s: number, e: number): void => {
    const r = b[s + 13] === 0xff ? q.addFragment(b, s, e) : q.addHead(b, s, e);
    if (r > 0) delivered++;
  };
  measure(`fragment + reassemble ${len} B packets`, len, () => {
    // a fresh packet ID per packet, as on the wire (otherwise all but the first would be duplicates)
    pkt[4] = id >>> 24;
    pkt[5] = (id >>> 16) & 0xff;
    pkt[6] = (id >>> 8) & 0xff;
    pkt[7] = id & 0xff;
    id++;
    splitPacket(pkt, 0, len, DEFAULT_PHYSMTU, scratch, sink);
  });
  if (delivered !== id) throw new Error(`reassembly delivered ${delivered} of ${id}`);
}
