#!/usr/bin/env bun
/**
 * `npm run test:interop`: every claim of README's "Compatibility checked against real ZeroTier One
 * 1.14.1", run against the zerotier-one binary the user has (ZT_ONE=/path/to/zerotier-one, or
 * zerotier-one on PATH as ZeroTier's packages install it; nothing of ZeroTier One is part of this
 * project). Needs root and network namespaces; no real node ever gets a planet that names anything
 * outside the lab. Prints `ok`/`FAIL` per check and `N passed, N failed`; exits 1 on any failure,
 * 2 when it cannot run at all. `bun test/interop/run.ts vl1 controller` runs only those groups.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { netnsPossible } from "../e2e/netns-lab.ts";
import { controllerChecks } from "./controller.ts";
import { identitiesAndWorlds } from "./identities-worlds.ts";
import { netconChecks } from "./netcon-zerotier-one.ts";
import type { Interop } from "./support.ts";
import { vl1Checks } from "./vl1.ts";
import { vl2TapChecks } from "./vl2-tap.ts";

const GROUPS: [string, (t: Interop) => Promise<void>][] = [
  ["identities-worlds", identitiesAndWorlds],
  ["vl1", vl1Checks],
  ["controller", controllerChecks],
  ["vl2-tap", vl2TapChecks],
  ["netcon", netconChecks],
];

/** The binary to test against, with the reason when there is none usable. */
export function findZeroTierOne(): { zt: string; version: string } | string {
  const zt = process.env.ZT_ONE || Bun.which("zerotier-one");
  if (!zt) return "no zerotier-one binary: install ZeroTier One (its zerotier-one on PATH) or set ZT_ONE=/path/to/zerotier-one";
  try {
    const v = Bun.spawnSync([zt, "-v"], { stdout: "pipe", stderr: "pipe" });
    const version = v.stdout.toString().trim();
    if (v.exitCode !== 0 || !/^\d+\.\d+\.\d+$/.test(version)) return `${zt} does not run as zerotier-one (-v: exit ${v.exitCode}, printed ${JSON.stringify(version)})`;
    return { zt, version };
  } catch (e) {
    return `cannot run ${zt}: ${(e as Error).message}`;
  }
}

async function main(): Promise<number> {
  const found = findZeroTierOne();
  if (typeof found === "string") {
    console.error(`interop: cannot run: ${found}`);
    return 2;
  }
  if (!netnsPossible()) {
    console.error("interop: cannot run: needs root and network namespaces (ip netns)");
    return 2;
  }
  process.env.ZT_NC_FORBID_DEFAULT_PLANET = "1"; // our services too: a lab planet or nothing
  const only = process.argv.slice(2);
  const unknown = only.filter((g) => !GROUPS.some(([n]) => n === g));
  if (unknown.length > 0) {
    console.error(`interop: unknown group(s) ${unknown.join(", ")}; groups: ${GROUPS.map(([n]) => n).join(", ")}`);
    return 2;
  }
  console.log(`interop: against ${found.zt} (zerotier-one ${found.version})`);
  if (!found.version.startsWith("1.14.")) console.log(`interop: note: the README's claims are about 1.14.1; this binary is ${found.version}`);
  const runDir = mkdtempSync(join(tmpdir(), "ztnc-interop-"));
  let passed = 0;
  let failed = 0;
  for (const [name, group] of GROUPS) {
    if (only.length > 0 && !only.includes(name)) continue;
    console.log(`# ${name}`);
    const tmp = join(runDir, name);
    mkdirSync(tmp);
    const t: Interop = {
      zt: found.zt,
      tmp,
      async check(what, fn) {
        const t0 = performance.now();
        try {
          const detail = await fn();
          passed++;
          console.log(`ok ${what}${detail ? `: ${detail}` : ""} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
          return true;
        } catch (e) {
          failed++;
          console.log(`FAIL ${what}: ${(e as Error).message}`);
          return false;
        }
      },
    };
    const before = failed;
    try {
      await group(t);
    } catch (e) {
      // set-up that is not itself a claim (namespaces, starting nodes) failed: the group counts as one failure
      failed++;
      console.log(`FAIL ${name}: ${(e as Error).message}`);
    }
    if (failed === before) rmSync(tmp, { recursive: true, force: true });
    else console.log(`# ${name}: logs and homes kept in ${tmp}`);
  }
  if (failed === 0) rmSync(runDir, { recursive: true, force: true });
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

if (import.meta.main) process.exit(await main());
