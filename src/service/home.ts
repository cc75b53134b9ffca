import { accessSync, chmodSync, constants, existsSync, mkdirSync, readFileSync, statSync, unlinkSync } from "node:fs";
import { join, resolve } from "node:path";
import { writeFileAtomic } from "../util/atomic-file.ts";

/** A problem with the home directory that should stop the service with a clear message. */
export class HomeDirError extends Error {}

/**
 * The service's home directory (zerotier-one's layout: identity.secret, authtoken.secret, planet,
 * moons.d, peers.d, networks.d, local.conf …). All writes are atomic and durable (temp file, fsync,
 * rename, fsync of the directory: util/atomic-file.ts) so a crash never leaves a half-written
 * identity or config behind.
 */
export class HomeDir {
  readonly root: string;

  constructor(path: string) {
    this.root = resolve(path);
  }

  /** Create the directory (mode 0700) if needed and check that we can write into it. */
  ensure(): void {
    if (existsSync(this.root)) {
      const st = statSync(this.root);
      if (!st.isDirectory()) throw new HomeDirError(`home directory ${this.root} exists and is not a directory`);
    } else {
      try {
        mkdirSync(this.root, { recursive: true, mode: 0o700 });
      } catch (e) {
        throw new HomeDirError(`cannot create home directory ${this.root}: ${(e as Error).message}`);
      }
    }
    try {
      accessSync(this.root, constants.R_OK | constants.W_OK | constants.X_OK);
    } catch {
      throw new HomeDirError(`home directory ${this.root} is not readable and writable by this user`);
    }
  }

  path(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  /** Make a subdirectory (e.g. "peers.d") if missing. */
  subdir(name: string): string {
    const p = this.path(name);
    if (!existsSync(p)) mkdirSync(p, { recursive: true, mode: 0o700 });
    return p;
  }

  /** File contents, or null if the file does not exist. Other errors propagate. */
  read(name: string): Uint8Array | null {
    try {
      return new Uint8Array(readFileSync(this.path(name)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw e;
    }
  }

  readText(name: string): string | null {
    const b = this.read(name);
    return b === null ? null : new TextDecoder().decode(b);
  }

  /** Atomically replace `name` with `data`, with the given file mode. */
  write(name: string, data: Uint8Array | string, mode = 0o644): void {
    writeFileAtomic(this.path(name), data, mode);
  }

  /**
   * Make a secret file (identity.secret, authtoken.secret) owner-only, as ssh insists for keys and
   * zerotier-one does at start: a group or other permission bit is removed, and the caller told so
   * (it warns: the secret may already have been read). A file we cannot fix stops the service.
   * Returns the old mode when it was changed, else null.
   */
  lockDown(name: string): number | null {
    const p = this.path(name);
    let mode: number;
    try {
      mode = statSync(p).mode & 0o777;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw e;
    }
    if ((mode & 0o077) === 0) return null;
    try {
      chmodSync(p, mode & 0o700);
    } catch (e) {
      throw new HomeDirError(`${p} is readable by others (mode ${mode.toString(8)}) and cannot be made private: ${(e as Error).message}`);
    }
    return mode;
  }

  remove(name: string): boolean {
    try {
      unlinkSync(this.path(name));
      return true;
    } catch {
      return false;
    }
  }
}
