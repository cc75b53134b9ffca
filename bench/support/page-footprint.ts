/**
 * How many distinct 4 KiB pages a process touches in a time window: /proc/<pid>/clear_refs (1)
 * clears the referenced bits of every page of the process, and the "Referenced:" lines of
 * /proc/<pid>/smaps then count the pages touched since. Needs root (or the process's owner).
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
  const out: Footprint = { code: 0, data: 0 };
  let exec = false;
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const m = VMA.exec(line);
    if (m !== null) {
      exec = m[1]![2] === "x";
      continue;
    }
    if (!line.startsWith("Referenced:")) continue;
    const kib = Number(line.slice(11).trim().split(" ")[0]);
    if (!Number.isFinite(kib)) throw new Error(`smaps of ${pid}: unreadable line ${line}`);
    if (exec) out.code += kib / 4;
    else out.data += kib / 4;
  }
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
