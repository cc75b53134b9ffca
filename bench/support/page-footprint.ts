/**
 * How many distinct pages a process touches in a time window: /proc/<pid>/clear_refs (1)
 * clears the referenced bits of every page of the process, and the "Referenced:" lines of
 * /proc/<pid>/smaps then count the pages touched since. Needs root (or the process's owner).
 * A 2 MiB page (transparent huge page: our JIT code, see ffi/jit-huge-pages.ts) is one TLB entry
 * but smaps counts it as 2048 kB referenced: in a mapping with AnonHugePages, the referenced kB up
 * to that amount count as 2 MiB pages, the rest as 4 KiB pages (exact when each 2 MiB page of the
 * mapping was touched, which the code region's one or two are in any window with JavaScript in it).
 *
 * Why: this machine (a PVM guest with page-table isolation and no PCID) flushes the user TLB at
 * every system call and makes a cold page cost up to ≈1 µs on a busy host, so the pages a packet's
 * path touches between system calls decide how much a busy host slows it. Page counts do not
 * depend on how busy the host is, so they compare two implementations in any hour.
 */
import { readFileSync, writeFileSync } from "node:fs";

export interface Footprint {
  /** Pages of executable mappings (program text, libraries, JIT code). */
  code: number;
  /** Every other mapping's pages (heaps, stacks, data). */
  data: number;
}

const VMA = /^[0-9a-f]+-[0-9a-f]+ (\S{4}) /;

/** Pages referenced since the last clear, split into code and data. */
export function referencedPages(pid: number): Footprint {
  return referencedPagesOf(readFileSync(`/proc/${pid}/smaps`, "utf8"), `smaps of ${pid}`);
}

/** referencedPages from an smaps text (`what` names it in errors). */
export function referencedPagesOf(smaps: string, what: string): Footprint {
  const out: Footprint = { code: 0, data: 0 };
  let exec = false;
  let referenced = 0;
  let huge = 0;
  const add = (): void => {
    const inHuge = Math.min(referenced, huge);
    const pages = inHuge / 2048 + (referenced - inHuge) / 4;
    if (exec) out.code += pages;
    else out.data += pages;
  };
  const kib = (line: string, at: number): number => {
    const n = Number(line.slice(at).trim().split(" ")[0]);
    if (!Number.isFinite(n)) throw new Error(`${what}: unreadable line ${line}`);
    return n;
  };
  for (const line of smaps.split("\n")) {
    const m = VMA.exec(line);
    if (m !== null) {
      add();
      exec = m[1]![2] === "x";
      referenced = 0;
      huge = 0;
    } else if (line.startsWith("Referenced:")) referenced = kib(line, 11);
    else if (line.startsWith("AnonHugePages:")) huge = kib(line, 14);
  }
  add();
  return out;
}

export function clearReferenced(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, "1");
}

/** Mean pages each process touches per window of `windowMs`, over `windows` windows. */
export async function pagesPerWindow(pids: number[], windows: number, windowMs: number): Promise<Footprint[]> {
  const sums = pids.map((): Footprint => ({ code: 0, data: 0 }));
  for (let w = 0; w < windows; w++) {
    for (const pid of pids) clearReferenced(pid);
    await Bun.sleep(windowMs); // the window itself: what is measured is what happens inside it
    pids.forEach((pid, i) => {
      const f = referencedPages(pid);
      sums[i]!.code += f.code;
      sums[i]!.data += f.data;
    });
  }
  return sums.map((s) => ({ code: s.code / windows, data: s.data / windows }));
}
