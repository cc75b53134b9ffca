import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { verifyCapability } from "../../src/vl2/credentials/capability.ts";
import { verifyTag } from "../../src/vl2/credentials/tag.ts";
import { encodeNetworkConfig, networkConfigFromBytes } from "../../src/vl2/network-config.ts";
import { controllerIdentity, fixtureJson } from "./fixtures.ts";
import { CORPUS_PLAN, corpusInput } from "./netconf-corpus.ts";

/**
 * Differential test against zerotier-one 1.14.1: for 2,220 inputs (stored configs, rich configs
 * using every key and rule type, and seeded mutations of both) the fixture records what 1.14's
 * NetworkConfig::fromDictionary + toDictionary did. We must never accept what 1.14 rejects, and
 * whatever we accept must re-serialize to exactly the bytes 1.14 writes, and our verdict on every
 * tag and capability signature must be 1.14's. We may be stricter.
 */
const reference = (fixtureJson("reference-netconf-corpus.json") as { results: Record<string, string[]> }).results;

describe("NetworkConfig against 1.14.1 (differential corpus)", () => {
  for (const [kind, n] of CORPUS_PLAN) {
    test(`${kind}: ${n} inputs`, () => {
      const tally = { same: 0, stricter: 0, bothReject: 0 };
      expect(reference[kind]!.length).toBe(n);
      for (let seed = 0; seed < n; seed++) {
        const ref = reference[kind]![seed]!;
        const ours = networkConfigFromBytes(corpusInput(kind, seed));
        if (!ours.ok) {
          if (ref === "fail") tally.bothReject++;
          else tally.stricter++;
          continue;
        }
        // never more lenient than 1.14
        expect(`${kind}#${seed} ${ref}`).not.toBe(`${kind}#${seed} fail`);
        const e = encodeNetworkConfig(ours.value);
        if (!e.ok) throw new Error(`${kind}#${seed}: ${e.error}`);
        const controller = controllerIdentity();
        const tagsOk = ours.value.tags.every((t) => verifyTag(t, controller) === null);
        const capsOk = ours.value.capabilities.every((c) => verifyCapability(c, (a) => (a === controller.address ? controller : null)).ok);
        const verdict = (tagsOk ? "" : " tag-signature-invalid") + (capsOk ? "" : " capability-signature-invalid");
        expect(`${kind}#${seed} ${createHash("sha256").update(e.value).digest("hex").slice(0, 16)}${verdict}`).toBe(`${kind}#${seed} ${ref}`);
        tally.same++;
      }
      if (kind === "stored" || kind === "rich") expect(tally.same).toBe(n);
      // enough accepted inputs that the byte comparison means something
      else expect(tally.same).toBeGreaterThan(n / 20);
    });
  }
});
