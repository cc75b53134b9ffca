import { expect, test } from "bun:test";
import { join } from "node:path";

// Bun runs TypeScript without checking types; strictness is only real if CI checks it.
test("the whole project type-checks under strict settings (tsc --noEmit)", () => {
  const root = join(import.meta.dir, "..");
  const r = Bun.spawnSync([join(root, "node_modules/.bin/tsc"), "--noEmit", "-p", root], { stdout: "pipe", stderr: "pipe" });
  const out = r.stdout.toString() + r.stderr.toString();
  expect(out).toBe("");
  expect(r.exitCode).toBe(0);
}, 120_000);
