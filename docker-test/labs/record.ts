/** How both labs log a command a scenario ran (its side, argv, exit code and the tail of its output). */
import type { ExecResult } from "../../test/e2e/netns-lab.ts";

export function recorder(log: (line: string) => void) {
  return (side: string, argv: string[], r: ExecResult, allowFail: boolean | undefined): ExecResult => {
    log(`--- ${side}: ${argv.join(" ")} → exit ${r.code}\n${r.out.slice(-4000)}${r.err ? `\n[stderr]\n${r.err.slice(-4000)}` : ""}`);
    if (r.code !== 0 && allowFail !== true) throw new Error(`${side}: ${argv[0]} exited ${r.code}: ${r.err.trim().slice(-300)}`);
    return r;
  };
}
