/**
 * execve(2) of this same program with extra environment variables: the process keeps its pid and
 * its open non-close-on-exec descriptors (stdin, stdout, stderr), and starts over with Bun reading
 * the new environment. For runtime settings Bun takes only from the environment at start-up.
 *
 * Every string is copied into one NUL-terminated buffer of its own, and the pointer arrays end
 * with a null pointer, so execve never reads past what we built.
 */
import { ptr } from "bun:ffi";
import { errno, libcSymbols, strerror } from "./libc.ts";

/** A C string array: the buffers (kept alive by the caller) and the NULL-terminated pointer table. */
function cStrings(items: string[]): { keep: Uint8Array[]; table: BigUint64Array } {
  const keep = items.map((s) => {
    if (s.includes("\0")) throw new Error("execve: an argument or variable holds a NUL byte");
    return new TextEncoder().encode(`${s}\0`);
  });
  const table = new BigUint64Array(keep.length + 1);
  keep.forEach((b, i) => {
    table[i] = BigInt(ptr(b));
  });
  table[keep.length] = 0n;
  return { keep, table };
}

/**
 * Replace this process with `path argv…` and `env`. Returns only on failure, with the reason.
 * (argv[0] is the program's name as it will see it.)
 */
export function execSelf(path: string, argv: string[], env: Record<string, string>): string {
  const file = cStrings([path]);
  const args = cStrings(argv);
  const vars = cStrings(Object.entries(env).map(([k, v]) => `${k}=${v}`));
  libcSymbols().execve(ptr(file.keep[0]!), ptr(args.table), ptr(vars.table));
  return `execve ${path}: ${strerror(errno())}`;
}
