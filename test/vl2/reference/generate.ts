#!/usr/bin/env bun
/**
 * Regenerates fixtures/vl2/reference-netconf-corpus.json: builds harness.cpp against a ZeroTierOne
 * 1.14.1 source tree and feeds it every input of netconf-corpus.ts.
 *
 *   bun test/vl2/reference/generate.ts /path/to/ZeroTierOne-1.14.1
 *
 * Needs g++. Only the results (hashes) are committed, never the ZeroTierOne sources.
 */
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CORPUS_PLAN, corpusInput } from "../netconf-corpus.ts";

const zt = process.argv[2];
if (zt === undefined) throw new Error("usage: generate.ts <ZeroTierOne-1.14.1 source dir>");
const exe = join(import.meta.dir, "harness.out");
const sources = ["NetworkConfig", "InetAddress", "Utils", "C25519", "SHA512", "Salsa20", "Identity"].map((f) => join(zt, "node", `${f}.cpp`));
const cc = Bun.spawnSync(["g++", "-O1", "-std=c++17", "-w", `-I${zt}`, `-I${join(zt, "node")}`, "-o", exe, join(import.meta.dir, "harness.cpp"), ...sources], { stderr: "inherit" });
if (cc.exitCode !== 0) throw new Error("harness build failed");

const index: string[] = [];
const inputs: Uint8Array[] = [];
for (const [kind, n] of CORPUS_PLAN)
  for (let s = 0; s < n; s++) {
    index.push(kind);
    inputs.push(corpusInput(kind, s));
  }
const batch = new Uint8Array(inputs.reduce((a, b) => a + 4 + b.length, 0));
let p = 0;
for (const b of inputs) {
  new DataView(batch.buffer).setUint32(p, b.length);
  batch.set(b, p + 4);
  p += 4 + b.length;
}
const out = Bun.spawnSync([exe], { stdin: batch }).stdout;
const results: Record<string, string[]> = {};
let q = 0;
for (const kind of index) {
  const ok = out[q] === 1;
  const len = new DataView(out.buffer, out.byteOffset).getUint32(q + 1);
  const bytes = out.subarray(q + 5, q + 5 + len);
  q += 5 + len;
  (results[kind] ??= []).push(ok ? createHash("sha256").update(bytes).digest("hex").slice(0, 16) : "fail");
}
if (q !== out.length) throw new Error("harness output out of step with inputs");
writeFileSync(
  join(import.meta.dir, "..", "..", "fixtures", "vl2", "reference-netconf-corpus.json"),
  `${JSON.stringify({
    description:
      "Results of zerotier-one 1.14.1's NetworkConfig::fromDictionary followed by toDictionary (test/vl2/reference/harness.cpp compiled against the 1.14.1 sources, which are not part of this repository) for every input of test/vl2/netconf-corpus.ts, in CORPUS_PLAN order: 'fail' if 1.14 rejects the input, else the first 16 hex digits of SHA-256 of the dictionary 1.14 writes back.",
    results,
  })}\n`,
);
console.log(Object.entries(results).map(([k, v]) => `${k}: ${v.length} (${v.filter((x) => x === "fail").length} rejected by 1.14)`).join("\n"));
