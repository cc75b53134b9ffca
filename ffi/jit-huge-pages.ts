/**
 * The JIT's machine code in 2 MiB pages (transparent huge pages).
 *
 * Why: this machine flushes the TLB at every system call (a guest with page-table isolation and no
 * PCID), and at a few packets per second one ping through a `--tap` node ran FTL code spread over
 * 60-140 distinct 4 KiB pages of JavaScriptCore's executable region (/proc/<pid>/smaps Referenced,
 * one ping per 200 ms window): a TLB miss each, a nested page walk on a virtual machine. The real
 * zerotier-one runs from ≈56 pages of text. JSC maps that region MADV_NOHUGEPAGE; advising
 * MADV_HUGEPAGE instead puts code written later into 2 MiB pages (THP "madvise" or "always"), and
 * MADV_COLLAPSE (Linux 6.1+) turns the chunks already written into 2 MiB pages now. The region's
 * start is not 2 MiB-aligned (it moves with ASLR), so the code before its first 2 MiB boundary
 * stays in 4 KiB pages. `bench -- rtt`, six runs each, interleaved: ping at 5/s 0.91 of the real
 * pair's (median; 0.85-0.95) against 1.00 (0.97-1.05) without. Cost: idle RSS +0-2 MB.
 * Measured and not taken: the JS heap's regions in 2 MiB pages as well (1% more, 50 MB more RSS
 * per node) and Bun's own text copied into 2 MiB pages (5/s 1%, 100/s 9%, 78 MB more RSS).
 *
 * No native memory is read or written here: madvise over our own mappings, and /proc reads.
 */
import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { libcSymbols } from "./libc.ts";

const MADV_HUGEPAGE = 14;
const MADV_COLLAPSE = 25;
const HUGE = 2 * 1024 * 1024;
const PAGE = 4096;
/** JSC reserves its executable region up front (1 GiB on x86-64 Linux); anything smaller is not it. */
const MIN_JIT_REGION = 64 * 1024 * 1024;

export interface JitHugePages {
  /** The executable region found ("start-end" as in /proc/self/maps), or null. */
  region: string | null;
  /** Whether MADV_HUGEPAGE was accepted for it. */
  advised: boolean;
  /** 2 MiB chunks already holding code that were collapsed into huge pages, and those that failed. */
  collapsed: number;
  failed: number;
  /** Why nothing was done, when nothing was. */
  reason: string | null;
}

/** The THP mode from sysfs ("always", "madvise", "never"), or null where there is no THP. */
export function transparentHugePageMode(text?: string): string | null {
  let t = text;
  if (t === undefined) {
    try {
      t = readFileSync("/sys/kernel/mm/transparent_hugepage/enabled", "utf8");
    } catch {
      return null;
    }
  }
  const m = /\[(\w+)\]/.exec(t);
  return m === null ? null : m[1]!;
}

/** The largest anonymous read-write-execute mapping in a /proc/<pid>/maps text: JSC's JIT region. */
export function findJitRegion(maps: string): { start: number; end: number; text: string } | null {
  let best: { start: number; end: number; text: string } | null = null;
  for (const line of maps.split("\n")) {
    const f = line.trim().split(/\s+/);
    // anonymous: no path (fields: range perms offset dev inode)
    if (f.length !== 5 || f[1] !== "rwxp") continue;
    const range = /^([0-9a-f]+)-([0-9a-f]+)$/.exec(f[0]!);
    if (range === null) continue;
    const start = parseInt(range[1]!, 16);
    const end = parseInt(range[2]!, 16);
    if (!(end - start >= MIN_JIT_REGION) || (best !== null && end - start <= best.end - best.start)) continue;
    best = { start, end, text: f[0]! };
  }
  return best;
}

/**
 * Advises huge pages for this process's JIT region and collapses the chunks already written.
 * Never throws: what could not be done is in `reason` (the service logs it at debug level).
 */
export function backJitCodeWithHugePages(): JitHugePages {
  const out: JitHugePages = { region: null, advised: false, collapsed: 0, failed: 0, reason: null };
  const mode = transparentHugePageMode();
  if (mode === null || mode === "never") {
    out.reason = mode === null ? "no transparent huge pages on this kernel" : "transparent huge pages are off (never)";
    return out;
  }
  let maps: string;
  let madvise: (addr: number, len: number, advice: number) => number;
  try {
    maps = readFileSync("/proc/self/maps", "utf8");
    madvise = libcSymbols().madvise;
  } catch (e) {
    out.reason = (e as Error).message;
    return out;
  }
  const r = findJitRegion(maps);
  if (r === null) {
    out.reason = "no JIT region (no anonymous rwx mapping of 64 MiB or more)";
    return out;
  }
  out.region = r.text;
  out.advised = madvise(r.start, r.end - r.start, MADV_HUGEPAGE) === 0;
  if (!out.advised) {
    out.reason = "madvise(MADV_HUGEPAGE) refused";
    return out;
  }
  try {
    collapsePresentChunks(r.start, r.end, out);
  } catch (e) {
    // advised all the same: code written from now on lands in huge pages
    out.reason = `collapsing the code already written: ${(e as Error).message}`;
  }
  return out;
}

/**
 * MADV_COLLAPSE for each whole 2 MiB chunk of [start, end) that has a page present (untouched
 * chunks stay unpopulated). Counts go to `out`.
 */
export function collapsePresentChunks(start: number, end: number, out: { collapsed: number; failed: number }): void {
  const madvise = libcSymbols().madvise;
  let fd = -1;
  try {
    fd = openSync("/proc/self/pagemap", "r");
  } catch {
    return; // no pagemap: code written from now on still lands in huge pages
  }
  const entries = new BigUint64Array(HUGE / PAGE);
  const bytes = new Uint8Array(entries.buffer);
  try {
    for (let c = Math.ceil(start / HUGE) * HUGE; c + HUGE <= end; c += HUGE) {
      // pagemap: one 64-bit entry per page, bit 63 = present
      if (readSync(fd, bytes, 0, bytes.length, (c / PAGE) * 8) !== bytes.length) break;
      let present = false;
      for (let i = 0; i < entries.length && !present; i++) present = entries[i]! >> 63n === 1n;
      if (!present) continue;
      if (madvise(c, HUGE, MADV_COLLAPSE) === 0) out.collapsed++;
      else out.failed++;
    }
  } finally {
    closeSync(fd);
  }
}
