#!/usr/bin/env bun
/**
 * Which JavaScript function made the runtime work: attributes a perf profile's samples that land
 * in native code (bun.exe: JavaScriptCore's runtime and Bun's event loop; libc) to the nearest
 * JIT-compiled caller on the sample's call chain, named from the JIT dump as in jit-symbols.ts.
 * Samples with no JavaScript caller found are Bun's own work (the event loop, socket reads,
 * timers) or calls through bun:ffi, whose trampolines break the frame-pointer chain.
 *
 *   perf record -g -e cpu-clock -F 10000 -p <pid> -o perf.data      # frame-pointer call chains
 *   perf script -i perf.data -F comm,tid,ip,sym,dso \
 *     | bun bench/support/jit-callers.ts <dir>/jit-<tid>-<pid>.dump [<tid>]
 *
 * prints each (native library ← JavaScript caller) pair's share of all samples of the thread
 * (`tid`: the main thread's, default all), largest first. JIT frames appear in perf script as
 * addresses in `/tmp/perf-<pid>.map` or `[unknown]`.
 */
import { readFileSync } from "node:fs";
import { type CodeRange, nameAt, parseJitDump } from "./jit-symbols.ts";

/** Also where an ffi call's chain breaks (its trampoline keeps no frame pointer): libcrypto's samples. */
export const NO_JS_CALLER = "(no JavaScript caller found: Bun's event loop and runtime, or behind an ffi trampoline)";

interface Frame {
  ip: bigint;
  dso: string;
}

/** The native part a sample's leaf frame belongs to, or null for JIT code and the kernel. */
function nativeKind(dso: string): string | null {
  if (/\/bun(\.exe)?$/.test(dso)) return "bun.exe";
  if (/\/libc\.so[.\d]*$/.test(dso)) return "libc";
  if (/\/libcrypto\.so[.\d]*$/.test(dso)) return "libcrypto";
  return null;
}

function isJitFrame(dso: string): boolean {
  return dso === "[unknown]" || dso.startsWith("[JIT") || /\/perf-\d+\.map$/.test(dso);
}

/**
 * Shares (percent of the thread's samples) per "native ← JavaScript caller", from `perf script
 * -F comm,tid,ip,sym,dso` output (one block per sample, frames leaf first).
 */
export function callerShares(ranges: CodeRange[], script: string, tid?: number): [string, number][] {
  const acc = new Map<string, number>();
  let total = 0;
  for (const block of script.split(/\n\s*\n/)) {
    const lines = block.split("\n").filter((l) => l.trim() !== "");
    if (lines.length < 2) continue;
    const head = /^\S+\s+(\d+)/.exec(lines[0]!.trim());
    if (head === null || (tid !== undefined && Number(head[1]) !== tid)) continue;
    total++;
    const frames: Frame[] = [];
    for (const l of lines.slice(1)) {
      const m = /^\s*([0-9a-f]+)\s+.*\((.*)\)\s*$/.exec(l);
      if (m !== null) frames.push({ ip: BigInt(`0x${m[1]}`), dso: m[2]! });
    }
    const leaf = frames[0];
    const kind = leaf === undefined ? null : nativeKind(leaf.dso);
    if (kind === null) continue;
    let caller = NO_JS_CALLER;
    for (const f of frames) {
      if (!isJitFrame(f.dso)) continue;
      const name = nameAt(ranges, f.ip);
      if (name !== "(unknown JIT code)") {
        caller = name;
        break;
      }
    }
    const key = `${kind} ← ${caller}`;
    acc.set(key, (acc.get(key) ?? 0) + 1);
  }
  if (total === 0) return [];
  return [...acc].map(([k, n]): [string, number] => [k, (100 * n) / total]).sort((a, b) => b[1] - a[1]);
}

if (import.meta.main) {
  const file = process.argv[2];
  const tidText = process.argv[3];
  const tid = tidText === undefined ? undefined : Number(tidText);
  if (file === undefined || (tid !== undefined && !(Number.isInteger(tid) && tid > 0))) {
    console.error("usage: perf script -F comm,tid,ip,sym,dso … | bun bench/support/jit-callers.ts <jit-…dump> [tid]");
    process.exit(2);
  }
  const ranges = parseJitDump(readFileSync(file));
  for (const [key, pct] of callerShares(ranges, await Bun.stdin.text(), tid).slice(0, 60)) {
    console.log(`${pct.toFixed(2).padStart(6)}%  ${key}`);
  }
}
