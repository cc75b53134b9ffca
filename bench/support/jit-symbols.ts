#!/usr/bin/env bun
/**
 * Names the JavaScript functions behind a perf profile's "[JIT] tid N" samples, from the JIT dump
 * JavaScriptCore writes when a Bun process runs with
 *   BUN_JSC_useJITDump=true BUN_JSC_jitDumpDirectory=<dir>
 * (one file per process, `<dir>/jit-<tid>-<pid>.dump`). `perf inject --jit` needs the dump's
 * mapping recorded in perf.data, which a `perf record -p` attached later lacks; this reads the
 * dump's code-load records directly. Usage:
 *
 *   perf report -i perf.data --no-children --sort dso,sym | grep 'JIT\]' \
 *     | bun bench/support/jit-symbols.ts <dir>/jit-<tid>-<pid>.dump
 *
 * prints the share of all samples per function and tier ("JSC-FTL: processAck#…"), largest first.
 * (The jitdump format is perf's: tools/perf/Documentation/jitdump-specification.txt.)
 */
import { readFileSync } from "node:fs";

const JITDUMP_MAGIC = 0x4a695444; // "JiTD", written in the producer's byte order
const JIT_CODE_LOAD = 0;
/** Record header (id, total_size, timestamp) then pid, tid, vma, code_addr, code_size, code_index. */
const LOAD_NAME_OFFSET = 56;

export interface CodeRange {
  start: bigint;
  end: bigint;
  name: string;
}

/** The code-load records of a little-endian jitdump image, in file order (later ones win). */
export function parseJitDump(image: Uint8Array): CodeRange[] {
  const v = new DataView(image.buffer, image.byteOffset, image.byteLength);
  if (image.length < 40 || v.getUint32(0, true) !== JITDUMP_MAGIC) throw new Error("not a little-endian jitdump file");
  const headerSize = v.getUint32(8, true);
  const out: CodeRange[] = [];
  for (let o = headerSize; o + 16 <= image.length; ) {
    const id = v.getUint32(o, true);
    const size = v.getUint32(o + 4, true);
    if (size < 16 || o + size > image.length) break; // a truncated last record (the process still writing)
    if (id === JIT_CODE_LOAD && size > LOAD_NAME_OFFSET) {
      const start = v.getBigUint64(o + 32, true);
      const codeSize = v.getBigUint64(o + 40, true);
      let e = o + LOAD_NAME_OFFSET;
      while (e < o + size && image[e] !== 0) e++;
      out.push({ start, end: start + codeSize, name: new TextDecoder().decode(image.subarray(o + LOAD_NAME_OFFSET, e)) });
    }
    o += size;
  }
  return out;
}

/** The function whose code held `addr` when it was sampled: the latest load covering it. */
export function nameAt(ranges: CodeRange[], addr: bigint): string {
  for (let i = ranges.length - 1; i >= 0; i--) {
    const r = ranges[i]!;
    if (addr >= r.start && addr < r.end) return r.name;
  }
  return "(unknown JIT code)";
}

/** Sums `perf report` lines ("  1.23%  [JIT] tid 42  [.] 0x7f…") by function. */
export function sharesByFunction(ranges: CodeRange[], report: string): [string, number][] {
  const acc = new Map<string, number>();
  for (const line of report.split("\n")) {
    const m = /([\d.]+)%.*\[JIT\].*0x([0-9a-f]+)\s*$/.exec(line);
    if (m === null) continue;
    const name = nameAt(ranges, BigInt(`0x${m[2]}`));
    acc.set(name, (acc.get(name) ?? 0) + Number(m[1]));
  }
  return [...acc].sort((a, b) => b[1] - a[1]);
}

if (import.meta.main) {
  const file = process.argv[2];
  if (file === undefined) {
    console.error("usage: perf report … --sort dso,sym | bun bench/support/jit-symbols.ts <jit-…dump>");
    process.exit(2);
  }
  const ranges = parseJitDump(readFileSync(file));
  for (const [name, pct] of sharesByFunction(ranges, await Bun.stdin.text()).slice(0, 60)) {
    console.log(`${pct.toFixed(2).padStart(6)}%  ${name}`);
  }
}
