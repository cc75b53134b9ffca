/**
 * The one atomic-write helper of the home directory and the controller store: contents and mode
 * exactly as asked, no temp file left (also when the write fails), and the directory fsynced after
 * the rename (without that, a power loss can undo a rename that already returned).
 */
import { afterAll, describe, expect, spyOn, test } from "bun:test";
import * as fs from "node:fs";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFileAtomic } from "../../src/util/atomic-file.ts";
import { HomeDir } from "../../src/service/home.ts";

const tmp = mkdtempSync(join(tmpdir(), "ztnc-atomic-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("writeFileAtomic", () => {
  test("contents and exact mode, replacing the old file, no temp file left", () => {
    const p = join(tmp, "secret");
    writeFileAtomic(p, "one", 0o600);
    writeFileAtomic(p, new TextEncoder().encode("two"), 0o640);
    expect(readFileSync(p, "utf8")).toBe("two");
    expect(statSync(p).mode & 0o777).toBe(0o640);
    expect(readdirSync(tmp).filter((n) => n.startsWith("secret"))).toEqual(["secret"]);
  });

  test("a failed rename removes the temp file and keeps the old contents", () => {
    const dir = join(tmp, "d");
    fs.mkdirSync(join(dir, "target"), { recursive: true }); // a directory: rename over it fails
    expect(() => writeFileAtomic(join(dir, "target"), "x", 0o644)).toThrow();
    expect(readdirSync(dir)).toEqual(["target"]);
  });

  test("the home directory's writes fsync the file and then its directory", () => {
    const home = new HomeDir(join(tmp, "home"));
    home.ensure();
    // What each fsync'd fd was opened as, in order (fd numbers are reused after close).
    const realOpen = fs.openSync;
    const realFsync = fs.fsyncSync;
    const names = new Map<number, string>();
    const synced: string[] = [];
    const open = spyOn(fs, "openSync").mockImplementation((path: fs.PathLike, flags?: fs.OpenMode, mode?: fs.Mode | null) => {
      const fd = realOpen(path, flags ?? "r", mode);
      names.set(fd, String(path));
      return fd;
    });
    const fsync = spyOn(fs, "fsyncSync").mockImplementation((fd: number) => {
      synced.push(names.get(fd) ?? "?");
      realFsync(fd);
    });
    try {
      home.write("identity.secret", "x", 0o600);
    } finally {
      open.mockRestore();
      fsync.mockRestore();
    }
    expect(synced.length).toBe(2);
    expect(synced[0]).toContain("identity.secret.tmp-");
    expect(synced[1]).toBe(home.root);
  });
});
