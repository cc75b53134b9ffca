#!/usr/bin/env bun
/**
 * Identity proof of work: generate time (median and mean of 11 runs, seeded so the run is repeatable;
 * the number of tries is geometric with p = 17/256, so single runs vary 10x) and
 * locallyValidate time (median of 20, after one warm-up). Target (issue 2): validate < 100 ms.
 */
import { SeededRng } from "../src/util/random.ts";
import { Identity } from "../src/vl1/identity.ts";

const KNOWN_GOOD =
  "8e4df28b72:0:ac3d46abe0c21f3cfe7a6c8d6a85cfcffcb82fbd55af6a4d6350657c68200843fa2e16f9418bbd9702cae365f2af5fb4c420908b803a681d4daef6114d78a2d7";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const id = Identity.fromString(KNOWN_GOOD);
if (id === null || !id.locallyValidate()) throw new Error("known-good identity does not validate");

const validateMs: number[] = [];
for (let i = 0; i < 20; i++) {
  const t0 = performance.now();
  if (!id.locallyValidate()) throw new Error("validation failed");
  validateMs.push(performance.now() - t0);
}

const generateMs: number[] = [];
for (let i = 0; i < 11; i++) {
  const t0 = performance.now();
  const g = Identity.generate(new SeededRng(1000 + i));
  generateMs.push(performance.now() - t0);
  if (!g.locallyValidate()) throw new Error("generated identity does not validate");
}

const v = median(validateMs);
console.log(`identity validate (median of 20)     ${v.toFixed(1).padStart(8)} ms   min ${Math.min(...validateMs).toFixed(1)} ms   target < 100 ms ${v < 100 ? "OK" : "MISSED"}`);
const mean = generateMs.reduce((a, b) => a + b, 0) / generateMs.length;
console.log(
  `identity generate (median of 11)     ${median(generateMs).toFixed(0).padStart(8)} ms   mean ${mean.toFixed(0)} ms   min ${Math.min(...generateMs).toFixed(0)} ms   max ${Math.max(...generateMs).toFixed(0)} ms` +
    `   (expected mean ~ 15 x validate)`,
);
