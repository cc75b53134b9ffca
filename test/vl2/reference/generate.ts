#!/usr/bin/env bun
/**
 * Regenerates fixtures/vl2/reference-{netconf,rules,filter}-corpus.json: builds harness.cpp,
 * rules-harness.cpp and filter-harness.cpp against a ZeroTierOne 1.14.1 source tree (with its
 * ext/nlohmann, ext/prometheus-cpp-lite-1.0 and osdep directories) and feeds them every input of
 * netconf-corpus.ts, rules-corpus.ts and filter-corpus.ts.
 *
 *   bun test/vl2/reference/generate.ts /path/to/ZeroTierOne-1.14.1
 *
 * Needs g++. Only the results are committed, never the ZeroTierOne sources or the binaries.
 */
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ByteWriter } from "../../../src/util/bytes.ts";
import { CORPUS_PLAN, corpusInput } from "../netconf-corpus.ts";
import { FILTER_CASES, encodeFilterCase, filterCase } from "../filter-corpus.ts";
import { CASES, encodeRuleCase, ruleCase } from "../rules-corpus.ts";

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
  const flags = out[q]!;
  const ok = flags !== 0;
  const len = new DataView(out.buffer, out.byteOffset).getUint32(q + 1);
  const bytes = out.subarray(q + 5, q + 5 + len);
  q += 5 + len;
  const sigs = (flags & 2 ? "" : " tag-signature-invalid") + (flags & 4 ? "" : " capability-signature-invalid");
  (results[kind] ??= []).push(ok ? createHash("sha256").update(bytes).digest("hex").slice(0, 16) + sigs : "fail");
}
if (q !== out.length) throw new Error("harness output out of step with inputs");
writeFileSync(
  join(import.meta.dir, "..", "..", "fixtures", "vl2", "reference-netconf-corpus.json"),
  `${JSON.stringify({
    description:
      "Results of zerotier-one 1.14.1's NetworkConfig::fromDictionary followed by toDictionary (test/vl2/reference/harness.cpp compiled against the 1.14.1 sources, which are not part of this repository) for every input of test/vl2/netconf-corpus.ts, in CORPUS_PLAN order: 'fail' if 1.14 rejects the input, else the first 16 hex digits of SHA-256 of the dictionary 1.14 writes back, followed by ' tag-signature-invalid' / ' capability-signature-invalid' if 1.14 did not verify every tag / capability signature with the controller's key.",
    results,
  })}\n`,
);
console.log(Object.entries(results).map(([k, v]) => `${k}: ${v.length} (${v.filter((x) => x === "fail").length} rejected by 1.14)`).join("\n"));

// ---- rules engine: 1.14's _doZtFilter on every rules-corpus case ----
const rulesExe = join(import.meta.dir, "rules-harness.out");
const prom = join(zt, "ext", "prometheus-cpp-lite-1.0");
const rcc = Bun.spawnSync(
  [
    "g++", "-O1", "-std=c++17", "-w", "-no-pie", `-I${zt}`, `-I${join(zt, "node")}`, `-I${join(zt, "ext")}`,
    `-I${join(prom, "core", "include")}`, `-I${join(prom, "simpleapi", "include")}`, `-I${join(prom, "3rdpatry", "http-client-lite", "include")}`,
    "-o", rulesExe, join(import.meta.dir, "rules-harness.cpp"), ...sources, join(zt, "node", "Membership.cpp"), join(zt, "node", "CertificateOfOwnership.cpp"),
    // the rest of Network.cpp (switch, topology, metrics…) is never called by _doZtFilter
    "-Wl,--unresolved-symbols=ignore-all",
  ],
  { stderr: "inherit" },
);
if (rcc.exitCode !== 0) throw new Error("rules harness build failed");
const w = new ByteWriter(1 << 20);
for (let s = 0; s < CASES; s++) encodeRuleCase(ruleCase(s), w);
const ro = Bun.spawnSync([rulesExe], { stdin: w.finish() }).stdout;
if (ro.length !== CASES * 15) throw new Error(`rules harness wrote ${ro.length} bytes for ${CASES} cases`);
const outcomes: string[] = [];
for (let i = 0; i < CASES; i++) outcomes.push(Buffer.from(ro.subarray(i * 15, i * 15 + 15)).toString("hex"));
writeFileSync(
  join(import.meta.dir, "..", "..", "fixtures", "vl2", "reference-rules-corpus.json"),
  `${JSON.stringify({
    description:
      "Outcomes of zerotier-one 1.14.1's _doZtFilter (test/vl2/reference/rules-harness.cpp compiled against the 1.14.1 sources, not part of this repository) for rules-corpus.ts cases 0..N-1, each as hex: result(1) ztDest(5) teeTarget(5) teeLength(2) watch(1) qosBucket(1).",
    outcomes,
  })}\n`,
);
console.log(`rules: ${CASES} outcomes`);

// ---- frame filtering: 1.14's Network::filterOutgoingPacket / filterIncomingPacket ----
const filterExe = join(import.meta.dir, "filter-harness.out");
const fcc = Bun.spawnSync(
  [
    "g++", "-O1", "-std=c++17", "-w", "-no-pie", `-I${zt}`, `-I${join(zt, "node")}`, `-I${join(zt, "ext")}`,
    `-I${join(prom, "core", "include")}`, `-I${join(prom, "simpleapi", "include")}`, `-I${join(prom, "3rdpatry", "http-client-lite", "include")}`,
    "-o", filterExe, join(import.meta.dir, "filter-harness.cpp"), ...sources,
    ...["Membership", "CertificateOfOwnership", "Packet", "Metrics"].map((f) => join(zt, "node", `${f}.cpp`)),
    "-Wl,--unresolved-symbols=ignore-all",
  ],
  { stderr: "inherit" },
);
if (fcc.exitCode !== 0) throw new Error("filter harness build failed");
const fw = new ByteWriter(1 << 20);
for (let s = 0; s < FILTER_CASES; s++) encodeFilterCase(filterCase(s), fw);
const fo = Bun.spawnSync([filterExe], { stdin: fw.finish() }).stdout;
const decisions: string[] = [];
for (let p2 = 0; p2 < fo.length; ) {
  let d = `${fo[p2]}`;
  const n = fo[p2 + 1]!;
  p2 += 2;
  for (let i = 0; i < n; i++, p2 += 8) d += ` ${Buffer.from(fo.subarray(p2, p2 + 5)).toString("hex")}:${fo[p2 + 5]!.toString(16)}:${(fo[p2 + 6]! << 8) | fo[p2 + 7]!}`;
  decisions.push(d);
}
if (decisions.length !== FILTER_CASES) throw new Error(`filter harness answered ${decisions.length} of ${FILTER_CASES} cases`);
writeFileSync(
  join(import.meta.dir, "..", "..", "fixtures", "vl2", "reference-filter-corpus.json"),
  `${JSON.stringify({
    description:
      "Decisions of zerotier-one 1.14.1's Network::filterOutgoingPacket / filterIncomingPacket (test/vl2/reference/filter-harness.cpp compiled against the 1.14.1 sources, not part of this repository) for filter-corpus.ts cases 0..N-1: the returned value, then each EXT_FRAME copy it sent as destination:flags:dataLength, in sending order.",
    decisions,
  })}\n`,
);
console.log(`filter: ${FILTER_CASES} decisions`);
