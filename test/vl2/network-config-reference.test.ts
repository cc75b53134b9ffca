import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { capabilitySigningMessage } from "../../src/vl2/credentials/capability.ts";
import { tagSigningMessage } from "../../src/vl2/credentials/tag.ts";
import { encodeNetworkConfig, networkConfigFromBytes } from "../../src/vl2/network-config.ts";
import { controllerIdentity, fixtureJson } from "./fixtures.ts";
import { CORPUS_PLAN, type CaseKind, corpusInput } from "./netconf-corpus.ts";

/**
 * Differential test against zerotier-one 1.14.1: for 2,220 inputs (stored configs, rich configs
 * using every key and rule type, and seeded mutations of both) the fixture records what 1.14's
 * NetworkConfig::fromDictionary + toDictionary did. For every input our decision must be 1.14's:
 * what 1.14 rejects we reject, and what 1.14 accepts we accept and re-serialize to exactly the
 * bytes 1.14 writes, with the same verdict on every tag and capability signature (verified with
 * the controller's key, as the harness does).
 *
 * The only exceptions are the classes below, where we reject on purpose what 1.14 accepts. Each
 * is recognised by our rejection reason and its count per corpus kind is exact, so a new
 * mismatch of any kind (or a class growing or shrinking) fails.
 */
const reference = (fixtureJson("reference-netconf-corpus.json") as { results: Record<string, string[]> }).results;

interface StricterClass {
  readonly name: string;
  readonly why: string;
  /** Matches our rejection reason. */
  readonly reason: RegExp;
  /** Inputs 1.14 accepts that we reject for this reason, per corpus kind (absent = 0). */
  readonly count: Partial<Record<CaseKind, number>>;
}

const DELIBERATELY_STRICTER: readonly StricterClass[] = [
  {
    name: "text that is not UTF-8 (name, DNS domain, SSO strings)",
    why:
      "names, domains and URLs are strings we show in the JSON API and zerotier-cli; 1.14 keeps the raw bytes, " +
      "and then its own JSON API fails on them (nlohmann::json refuses to dump invalid UTF-8)",
    reason: /: not valid UTF-8$/,
    count: { "stored-value": 10, "rich-text": 2, "rich-value": 19 },
  },
  {
    name: "integer beyond 2^53 (ts, ctmd, r, f, aexpt, credential timestamps)",
    why:
      "our NetworkConfig and credentials hold these as JS numbers, exact only up to 2^53, while 1.14 keeps any " +
      "64-bit value; controllers write millisecond times, small revisions and a few flag bits",
    reason: / is beyond 2\^53$/,
    count: { "stored-text": 1, "rich-text": 8, "rich-value": 3 },
  },
  {
    name: "IP rule prefix longer than the address",
    why:
      "1.14's matcher shifts by (32 or 128 minus the prefix), undefined behaviour for such a prefix, so what the " +
      "rule matches is not defined; 1.14's controller clamps prefixes and never writes one",
    reason: /: prefix \/\d+ longer than the address$/,
    count: { "rich-text": 4, "rich-value": 4 },
  },
  {
    name: "static IP without an address family (type 0, or reserved types 1..3)",
    why: "1.14 keeps an empty slot and hands it to its tap as an assigned address; our static IPs are IPv4/IPv6 addresses",
    reason: /: static IP without an address$/,
    count: { "rich-value": 2 },
  },
  {
    name: "more than 128 tags or capabilities",
    why: "1.14 has no bound on these lists and stores the 129th past the end of its 128-entry array",
    reason: /: more than 128 (tags|capabilities)$/,
    count: {},
  },
  {
    name: "CoO counting more than 16 things",
    why: "1.14 reads 16 things but keeps the count, and writes the extra entries back from memory past its arrays",
    reason: /: CoO has \d+ things, more than 16$/,
    count: {},
  },
];

describe("NetworkConfig against 1.14.1 (differential corpus)", () => {
  for (const [kind, n] of CORPUS_PLAN) {
    test(`${kind}: ${n} inputs, 1.14's decision for each`, () => {
      const tally = { same: 0, bothReject: 0 };
      const stricter = new Map<string, number>();
      const mismatches: string[] = [];
      expect(reference[kind]!.length).toBe(n);
      const controller = controllerIdentity();
      for (let seed = 0; seed < n; seed++) {
        const ref = reference[kind]![seed]!;
        const ours = networkConfigFromBytes(corpusInput(kind, seed));
        if (!ours.ok) {
          if (ref === "fail") {
            tally.bothReject++;
            continue;
          }
          const cls = DELIBERATELY_STRICTER.find((c) => c.reason.test(ours.error));
          if (cls === undefined) mismatches.push(`${kind}#${seed}: 1.14 accepts, we reject: ${ours.error}`);
          else stricter.set(cls.name, (stricter.get(cls.name) ?? 0) + 1);
          continue;
        }
        if (ref === "fail") {
          mismatches.push(`${kind}#${seed}: 1.14 rejects, we accept`);
          continue;
        }
        const e = encodeNetworkConfig(ours.value);
        if (!e.ok) {
          mismatches.push(`${kind}#${seed}: accepted but not re-encodable: ${e.error}`);
          continue;
        }
        // what the harness checks: each signature against the controller's key (not who claims to have signed)
        const zero = new Uint8Array(96);
        const tagsOk = ours.value.tags.every((t) => controller.verify(tagSigningMessage(t), t.signature ?? zero));
        const capsOk = ours.value.capabilities.every((c) => controller.verify(capabilitySigningMessage(c), c.custody[0]?.signature ?? zero));
        const verdict = (tagsOk ? "" : " tag-signature-invalid") + (capsOk ? "" : " capability-signature-invalid");
        const got = `${createHash("sha256").update(e.value).digest("hex").slice(0, 16)}${verdict}`;
        if (got !== ref) mismatches.push(`${kind}#${seed}: re-serialized ${got}, 1.14 ${ref}`);
        else tally.same++;
      }
      expect(mismatches).toEqual([]);
      const expected = new Map<string, number>();
      for (const c of DELIBERATELY_STRICTER) if ((c.count[kind] ?? 0) > 0) expected.set(c.name, c.count[kind]!);
      expect(Object.fromEntries(stricter)).toEqual(Object.fromEntries(expected));
      let stricterTotal = 0;
      for (const v of stricter.values()) stricterTotal += v;
      expect(tally.same + tally.bothReject + stricterTotal).toBe(n);
      if (kind === "stored" || kind === "rich") expect(tally.same).toBe(n);
    });
  }

  test("every deliberately stricter class says why", () => {
    for (const c of DELIBERATELY_STRICTER) expect(c.why.length).toBeGreaterThan(40);
  });
});
