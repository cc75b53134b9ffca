#!/usr/bin/env bun
/**
 * The compatibility matrix: real programs inside network containers, each scenario writing
 * `_results/OK.<name>` or `_results/FAIL.<name>` with the raw logs of both sides, and a table.
 *
 *   npm run docker-test -- --netns [filter]     network namespaces, no Docker (root)
 *
 * In --netns mode the container is a netcon service run as an unprivileged user with the compiled
 * daemon and the library (test/support/container-lab.ts); its peer is an ordinary member with a
 * kernel tap in another namespace; our root + controller in a third. Docker mode (images built
 * from Debian packages, --cap-drop ALL) is not built yet and is refused with a message.
 */
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ContainerLab, CONTAINER_USER } from "../test/support/container-lab.ts";
import { waitFor } from "../test/e2e/helpers.ts";
import { netnsPossible, sh } from "../test/e2e/netns-lab.ts";
import type { Scenario, ScenarioContext } from "./scenario.ts";
import { SCENARIOS } from "./scenarios/index.ts";
import { programVersion } from "./versions.ts";

const { values, positionals } = parseArgs({ options: { netns: { type: "boolean", default: false }, keep: { type: "boolean", default: false } }, allowPositionals: true });
if (!values.netns) {
  console.error("docker-test: Docker mode is not built yet; run with --netns (network namespaces, root)");
  process.exit(2);
}
if (!netnsPossible()) {
  console.error("docker-test --netns needs root and ip netns");
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
console.log("docker-test --netns: starting root + controller, an outside member with a tap, a network container …");
const cl = await ContainerLab.start({ dir, containers: ["inside"], prefix: "zd", subnet: "10.237.3" });
const work = join(dir, "work");
mkdirSync(work, { mode: 0o777 });
await sh(["chown", `${CONTAINER_USER}:${CONTAINER_USER}`, work]);

interface Row {
  name: string;
  ok: boolean;
  seconds: number;
  notes: string;
}
const rows: Row[] = [];

function context(s: Scenario, logFile: string): ScenarioContext {
  const inNs = cl.ns("inside");
  const outNs = cl.ns("outside");
  const log = (line: string): void => appendFileSync(logFile, `${line}\n`);
  const record = (side: string, argv: string[], r: { code: number; out: string; err: string }): void =>
    log(`--- ${side}: ${argv.join(" ")} → exit ${r.code}\n${r.out.slice(-4000)}${r.err ? `\n[stderr]\n${r.err.slice(-4000)}` : ""}`);
  return {
    insideIp: cl.ip.inside!,
    outsideIp: cl.ip.outside!,
    dir: work,
    inside: async (argv, o) => {
      const r = await cl.lab.exec(inNs, cl.contained("inside", argv), { timeoutMs: o?.timeoutMs ?? 60_000, allowFail: true });
      record("inside", argv, r);
      if (r.code !== 0 && !o?.allowFail) throw new Error(`inside: ${argv[0]} exited ${r.code}: ${r.err.trim().slice(-300)}`);
      return r;
    },
    spawnInside: (name, argv) => cl.lab.spawn(inNs, cl.contained("inside", argv), join(work, `${s.name}-${name}.log`)),
    outside: async (argv, o) => {
      const r = await cl.lab.exec(outNs, argv, { timeoutMs: o?.timeoutMs ?? 60_000, allowFail: true });
      record("outside", argv, r);
      if (r.code !== 0 && !o?.allowFail) throw new Error(`outside: ${argv[0]} exited ${r.code}: ${r.err.trim().slice(-300)}`);
      return r;
    },
    spawnOutside: (name, argv) => cl.lab.spawn(outNs, argv, join(work, `${s.name}-${name}.log`)),
    waitFor: (what, check, ms) => waitFor(what, check, ms ?? 20_000),
    killService: () => cl.procs.inside?.kill("SIGKILL"),
    metrics: () => cl.metrics("inside"),
    log,
  };
}

/** Bring the container's service back after a scenario killed it, and wait until it is OK again. */
async function ensureService(): Promise<void> {
  if (cl.procs.inside?.exitCode === null) return;
  cl.startContainerService("inside");
  await waitFor("the container's service back", async () => {
    const r = await cl.api("inside", "GET", `/network/${cl.nwid}`);
    const j = r.json as { status?: string } | null;
    return r.status === 200 && j?.status === "OK" ? true : null;
  }, 60_000);
}

try {
  for (const s of chosen) {
    const logFile = join(dir, `${s.name}.log`);
    writeFileSync(logFile, `scenario ${s.name}\n`);
    const t0 = performance.now();
    let ok = false;
    let notes = "";
    const missing: string[] = [];
    for (const n of s.needs) if (Bun.which(n) === null && !n.startsWith("/")) missing.push(n);
    if (missing.length > 0) notes = `not installed: ${missing.join(", ")}`;
    else {
      try {
        await ensureService();
        notes = await s.run(context(s, logFile));
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
    rows.push({ name: s.name, ok, seconds, notes });
    console.log(`${ok ? "OK  " : "FAIL"} ${s.name.padEnd(18)} ${seconds.toFixed(1).padStart(6)} s  ${notes}`);
  }
} finally {
  await cl.close();
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
  else console.log(`kept ${dir}`);
}

const failed = rows.filter((r) => !r.ok).length;
const table = [
  "| scenario | program version | result | seconds | notes |",
  "|---|---|---|---|---|",
  ...rows.map((r) => `| ${r.name} | ${programVersion(r.name, CONTAINER_USER).replaceAll("|", "/")} | ${r.ok ? "OK" : "FAIL"} | ${r.seconds.toFixed(1)} | ${r.notes.replaceAll("|", "/")} |`),
].join("\n");
console.log(`\n${table}`);
console.log(`\n${rows.length - failed} passed, ${failed} failed`);
// A full run refreshes the table in docker-test/README.md (between its matrix markers).
if (filter === "") {
  const readme = join(import.meta.dir, "README.md");
  const text = readFileSync(readme, "utf8");
  const start = text.indexOf("<!-- matrix:start -->");
  const end = text.indexOf("<!-- matrix:end -->");
  if (start >= 0 && end > start) {
    const when = new Date().toISOString().slice(0, 10);
    const block = `<!-- matrix:start -->\nLast full run (\`npm run docker-test -- --netns\`, ${when}): **${rows.length - failed} passed, ${failed} failed**.\n\n${table}\n`;
    writeFileSync(readme, text.slice(0, start) + block + text.slice(end));
    console.log("docker-test/README.md: matrix table updated");
  }
}
process.exit(failed === 0 ? 0 : 1);
