#!/usr/bin/env bun
/**
 * `bun run bench`: runs every benchmark script in bench/ (each a standalone program that prints its own
 * result lines and stops by itself), one after another so they do not compete for the 2 cores.
 * Pass names to run a subset: `bun run bench -- crypto identity`.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";

const dir = import.meta.dir;
const wanted = new Set(process.argv.slice(2));
const scripts = readdirSync(dir)
  .filter((f) => f.endsWith(".ts") && f !== "run.ts" && !f.startsWith("_"))
  .sort()
  .filter((f) => wanted.size === 0 || wanted.has(f.replace(/\.ts$/, "")));

let failed = 0;
for (const file of scripts) {
  console.log(`\n=== ${file.replace(/\.ts$/, "")} ===`);
  const proc = Bun.spawnSync([process.execPath, join(dir, file)], { stdout: "inherit", stderr: "inherit" });
  if (proc.exitCode !== 0) {
    failed++;
    console.log(`!!! ${file} exited with ${proc.exitCode}`);
  }
}
if (scripts.length === 0) console.log("no benchmarks matched");
process.exit(failed === 0 ? 0 : 1);
