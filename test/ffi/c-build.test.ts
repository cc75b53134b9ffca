import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dlopen, FFIType } from "bun:ffi";
import { buildSharedLibrary, CBuildError } from "../../ffi/c-build.ts";

const dir = mkdtempSync(join(tmpdir(), "ztnc-cbuild-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const flags = ["-O2", "-fPIC", "-shared", "-Wall", "-Wextra", "-Werror"];

test("builds once, rebuilds only when a source is newer, and the library loads", () => {
  const src = join(dir, "answer.c");
  const out = join(dir, "out", "libanswer.so");
  writeFileSync(src, "int answer(void) { return 42; }\n");
  expect(buildSharedLibrary({ out, sources: [src], flags })).toBe(out);
  const built = statSync(out).mtimeMs;
  const old = new Date(Date.now() - 60_000);
  utimesSync(src, old, old);
  buildSharedLibrary({ out, sources: [src], flags });
  expect(statSync(out).mtimeMs).toBe(built); // up to date: not compiled again
  expect(dlopen(out, { answer: { args: [], returns: FFIType.i32 } }).symbols.answer()).toBe(42);
  writeFileSync(src, "int answer(void) { return 43; }\n");
  const later = new Date(Date.now() + 60_000);
  utimesSync(src, later, later);
  buildSharedLibrary({ out, sources: [src], flags });
  expect(statSync(out).mtimeMs).toBeGreaterThan(built);
});

test("a compile error is a CBuildError with the compiler's words, and leaves no library behind", () => {
  const src = join(dir, "broken.c");
  const out = join(dir, "libbroken.so");
  writeFileSync(src, "int broken(void) { return undeclared; }\n");
  let err: unknown;
  try {
    buildSharedLibrary({ out, sources: [src], flags });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(CBuildError);
  expect((err as Error).message).toContain("undeclared");
  expect(() => statSync(out)).toThrow();
});

test("a missing compiler is a CBuildError, not a crash", () => {
  const src = join(dir, "answer.c");
  expect(() => buildSharedLibrary({ out: join(dir, "libx.so"), sources: [src], flags, cc: join(dir, "no-such-cc"), force: true })).toThrow(CBuildError);
});
