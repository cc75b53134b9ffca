import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { type Pointer, toArrayBuffer } from "bun:ffi";
import { libcSymbols } from "../../ffi/libc.ts";
import { backJitCodeWithHugePages, collapsePresentChunks, findJitRegion, transparentHugePageMode } from "../../ffi/jit-huge-pages.ts";

const MAPS = [
  "00400000-01a40000 r--p 00000000 08:01 123 /usr/bin/bun",
  "7f0000000000-7f0001000000 rwxp 00000000 00:00 0 ",
  "7f1000000000-7f1040000000 rwxp 00000000 00:00 0",
  "7f2000000000-7f2080000000 rwxp 00000000 08:01 99 /tmp/mapped-file",
  "7f3000000000-7f3010000000 rw-p 00000000 00:00 0",
  "garbage line",
  "",
].join("\n");

/** The smaps block of the mapping that holds `addr`. */
function smapsAt(addr: number): string {
  for (const block of readFileSync("/proc/self/smaps", "utf8").split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) /.exec(block);
    if (m !== null && parseInt(m[1]!, 16) <= addr && addr < parseInt(m[2]!, 16)) return block;
  }
  throw new Error(`no mapping holds ${addr.toString(16)}`);
}

const anonHuge = (smaps: string): number => Number(/AnonHugePages:\s+(\d+)/.exec(smaps)![1]);

describe("JIT code in huge pages", () => {
  test("the JIT region is the largest anonymous rwx mapping of at least 64 MiB", () => {
    const r = findJitRegion(MAPS);
    expect(r?.text).toBe("7f1000000000-7f1040000000");
    expect(r!.end - r!.start).toBe(1024 * 1024 * 1024);
    // a 16 MiB rwx mapping and a file-backed one are not it
    expect(findJitRegion(MAPS.replace("7f1000000000-7f1040000000 rwxp", "7f1000000000-7f1040000000 rw-p"))).toBeNull();
  });

  test("the THP mode is the bracketed word", () => {
    expect(transparentHugePageMode("always [madvise] never\n")).toBe("madvise");
    expect(transparentHugePageMode("always madvise [never]")).toBe("never");
    expect(transparentHugePageMode("nonsense")).toBeNull();
  });

  test("this process's JIT region gets huge pages where THP is on", () => {
    const mode = transparentHugePageMode();
    const h = backJitCodeWithHugePages();
    if (mode === null || mode === "never") {
      // nothing may be advised then, and the service says why
      expect(h.advised).toBe(false);
      expect(h.reason).toContain(mode === null ? "no transparent huge pages" : "never");
      return;
    }
    expect(h.reason).toBeNull();
    expect(h.advised).toBe(true);
    const smaps = smapsAt(parseInt(h.region!.split("-")[0]!, 16));
    // JSC maps it "nh" (no huge pages); advised, the kernel shows "hg"
    expect(smaps).toMatch(/VmFlags:.* hg/);
    expect(smaps).not.toMatch(/VmFlags:.* nh/);
    expect(h.failed).toBe(0);
  });

  test("chunks with pages present are collapsed into huge pages, untouched ones are left alone", () => {
    if (transparentHugePageMode() === "never") return expect(transparentHugePageMode()).toBe("never");
    // a fresh anonymous mapping: nothing in it is present until written
    const len = 8 << 20;
    const start = Number(libcSymbols().mmap(null, len, 3 /* read|write */, 0x22 /* private|anonymous */, -1, 0));
    expect(start).toBeGreaterThan(0);
    try {
      const buf = new Uint8Array(toArrayBuffer(start, 0, len));
      const first = Math.ceil(start / (2 << 20)) * (2 << 20);
      // two whole chunks: the first written (present), the second never touched
      for (let i = first - start; i < first - start + (2 << 20); i += 4096) buf[i] = 1;
      const counts = { collapsed: 0, failed: 0 };
      collapsePresentChunks(first, first + (4 << 20), counts);
      expect(counts).toEqual({ collapsed: 1, failed: 0 });
      expect(anonHuge(smapsAt(first))).toBeGreaterThanOrEqual(2048);
      // the bytes are the same after the collapse
      expect(buf[first - start]).toBe(1);
      expect(buf[first - start + 4096 * 100]).toBe(1);
      expect(buf[first - start + 1]).toBe(0);
    } finally {
      libcSymbols().munmap(start as Pointer, len);
    }
  });
});
