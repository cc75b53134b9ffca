#!/usr/bin/env bun
/**
 * The compatibility matrix: real programs inside network containers, each scenario writing
 * `_results/OK.<name>` or `_results/FAIL.<name>` with the raw logs of both sides, and a table.
 *
 *   npm run docker-test [filter]              real Docker containers (root; starts dockerd if needed)
 *   npm run docker-test -- --netns [filter]   network namespaces, no Docker (root)
 *
 * Both modes give the scenarios the same three roles: our root + controller, an ordinary member
 * with a kernel tap ("outside", where the peer programs run) and the network container ("inside":
 * the compiled daemon and the library, an unprivileged user). See labs/docker.ts and labs/netns.ts.
 * A full run (no filter) rewrites the matrix table in docker-test/README.md.
 */
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DockerMatrixLab } from "./labs/docker.ts";
import { NetnsMatrixLab } from "./labs/netns.ts";
import type { Lab } from "./scenario.ts";
import { SCENARIOS } from "./scenarios/index.ts";
import { versionCommand } from "./versions.ts";

let parsed;
try {
  parsed = parseArgs({ options: { netns: { type: "boolean", default: false }, keep: { type: "boolean", default: false } }, allowPositionals: true });
} catch (e) {
  console.error(`docker-test: ${(e as Error).message}\nusage: npm run docker-test -- [--netns] [--keep] [filter]`);
  process.exit(2);
}
const { values, positionals } = parsed;
if (positionals.length > 1) {
  console.error(`docker-test: one filter at most (got ${positionals.join(" ")})`);
  process.exit(2);
}
const filter = positionals[0] ?? "";
const chosen = SCENARIOS.filter((s) => s.name.includes(filter));
if (chosen.length === 0) {
  console.error(`docker-test: no scenario matches "${filter}"; scenarios: ${SCENARIOS.map((s) => s.name).join(", ")}`);
  process.exit(2);
}
const results = join(import.meta.dir, "_results");
mkdirSync(results, { recursive: true });
for (const f of readdirSync(results)) if (chosen.some((s) => f === `OK.${s.name}` || f === `FAIL.${s.name}`)) rmSync(join(results, f));

const dir = mkdtempSync(join(tmpdir(), "ztnc-dt-"));
let lab: Lab;
try {
  lab = values.netns ? await NetnsMatrixLab.start(dir) : await DockerMatrixLab.start(dir);
} catch (e) {
  console.error(`docker-test: could not set up the ${values.netns ? "namespaces" : "containers"}: ${(e as Error).message}`);
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
  else console.error(`kept ${dir}`);
  process.exit(1);
}
const work = join(dir, "work");

interface Row {
  name: string;
  version: string;
  ok: boolean;
  seconds: number;
  notes: string;
}
const rows: Row[] = [];

try {
  for (const s of chosen) {
    const logFile = join(dir, `${s.name}.log`);
    writeFileSync(logFile, `scenario ${s.name} (${lab.mode})\n`);
    const t0 = performance.now();
    let ok = false;
    let notes = "";
    const missing: string[] = [];
    for (const n of s.needs) if (!(await lab.hasCommand(n))) missing.push(n);
    if (missing.length > 0) notes = `not installed: ${missing.join(", ")}`;
    else {
      try {
        await lab.ensureService();
        notes = await s.run(lab.context(s, logFile));
        ok = true;
      } catch (e) {
        notes = (e as Error).message.split("\n")[0]!.slice(0, 200);
        appendFileSync(logFile, `FAILED: ${(e as Error).stack ?? e}\n`);
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    // raw logs of both sides: the scenario's own log, then every program log it left in work/
    let body = readFileSync(logFile, "utf8");
    for (const f of readdirSync(work).filter((f) => f.startsWith(`${s.name}-`) && f.endsWith(".log")).sort()) {
      body += `\n=== ${f}\n${readFileSync(join(work, f), "utf8").slice(-20_000)}`;
      const err = join(work, `${f}.err`);
      try {
        body += `\n=== ${f}.err\n${readFileSync(err, "utf8").slice(-20_000)}`;
      } catch {
        // no stderr file
      }
    }
    writeFileSync(join(results, `${ok ? "OK" : "FAIL"}.${s.name}`), body);
    const argv = versionCommand(s.name);
    const version = argv === undefined ? "" : await lab.programVersion(argv);
    rows.push({ name: s.name, version, ok, seconds, notes });
    console.log(`${ok ? "OK  " : "FAIL"} ${s.name.padEnd(18)} ${seconds.toFixed(1).padStart(6)} s  ${notes}`);
  }
} finally {
  await lab.close();
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
  else console.log(`kept ${dir}`);
}

const failed = rows.filter((r) => !r.ok).length;
const cell = (t: string): string => t.replaceAll("|", "/");
const table = [
  "| scenario | program version | result | seconds | notes |",
  "|---|---|---|---|---|",
  ...rows.map((r) => `| ${r.name} | ${cell(r.version)} | ${r.ok ? "OK" : "FAIL"} | ${r.seconds.toFixed(1)} | ${cell(r.notes)} |`),
  "| mongodb | — | not tried | — | not packaged in Debian bookworm (the original's table had it) |",
].join("\n");
console.log(`\n${table}`);
console.log(`\n${rows.length - failed} passed, ${failed} failed`);
// A full run refreshes this mode's table in docker-test/README.md (between its markers).
if (filter === "") {
  const readme = join(import.meta.dir, "README.md");
  const text = readFileSync(readme, "utf8");
  const start = text.indexOf(`<!-- matrix-${lab.mode}:start -->`);
  const end = text.indexOf(`<!-- matrix-${lab.mode}:end -->`);
  if (start >= 0 && end > start) {
    const when = new Date().toISOString().slice(0, 10);
    const command = lab.mode === "docker" ? "npm run docker-test" : "npm run docker-test -- --netns";
    const block = `<!-- matrix-${lab.mode}:start -->\nLast full run (\`${command}\`, ${when}): **${rows.length - failed} passed, ${failed} failed**.\n\n${table}\n`;
    writeFileSync(readme, text.slice(0, start) + block + text.slice(end));
    console.log(`docker-test/README.md: the ${lab.mode} matrix table updated`);
  } else console.log(`docker-test/README.md has no matrix-${lab.mode} markers; table not written there`);
}
process.exit(failed === 0 ? 0 : 1);
