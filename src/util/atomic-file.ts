/**
 * Atomic and durable file replacement, used by the home directory (identity, tokens, local.conf,
 * networks.d, peers.d) and the controller's store: write a temp file in the same directory, fsync
 * it, give it its mode, rename it over the target, fsync the directory. After a crash or kill at any
 * instant the target holds either its old or its new contents, and once this returns the new
 * contents survive a power loss. Temp files are named `<name>.tmp-<pid>-<n>` (TMP_MARK), so a
 * loader can remove the ones a crash left behind.
 */

import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export const TMP_MARK = ".tmp-";
let tmpCounter = 0;

/** Replace `target` with `data` (file mode `mode`, never wider than that even while being written). */
export function writeFileAtomic(target: string, data: Uint8Array | string, mode: number): void {
  const dir = dirname(target);
  const tmp = join(dir, `${basename(target)}${TMP_MARK}${process.pid}-${tmpCounter++}`);
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  // O_EXCL: never write through a file (or link) that someone else put at the temp name.
  const fd = openSync(tmp, "wx", mode & 0o600);
  try {
    fchmodSync(fd, mode);
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkQuiet(tmp);
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, target);
  } catch (e) {
    unlinkQuiet(tmp);
    throw e;
  }
  fsyncDir(dir);
}

/** fsync a directory, so that a rename or unlink in it is on disk. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function unlinkQuiet(p: string): void {
  try {
    unlinkSync(p);
  } catch {
    // already gone
  }
}
