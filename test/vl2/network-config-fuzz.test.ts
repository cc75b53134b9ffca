import { describe, expect, test } from "bun:test";
import { SeededRng } from "../../src/util/random.ts";
import { Dictionary, NETWORK_CONFIG_DICT_CAPACITY } from "../../src/vl2/dictionary.ts";
import { encodeNetworkConfig, networkConfigFromBytes } from "../../src/vl2/network-config.ts";
import { STORED_CONFIGS, fixtureBytes } from "./fixtures.ts";
import { mutate } from "./netconf-corpus.ts";

function check(bytes: Uint8Array): "ok" | "rejected" {
  const r = networkConfigFromBytes(bytes);
  if (!r.ok) {
    expect(r.error.length).toBeGreaterThan(10);
    return "rejected";
  }
  // whatever we accept must be stable under our own serialization
  const again = encodeNetworkConfig(r.value);
  if (!again.ok) throw new Error(again.error);
  const back = networkConfigFromBytes(again.value);
  expect(back.ok && back.value).toEqual(r.value);
  return "ok";
}

describe("random mutations of the real stored configs", () => {
  for (const [label, dir, conf] of STORED_CONFIGS) {
    test(`${label}: 1500 text-level mutations → parsed consistently or rejected with a reason, never thrown`, () => {
      const base = fixtureBytes(dir, conf);
      const rng = new SeededRng(label.length * 7919);
      const tally = { ok: 0, rejected: 0 };
      for (let i = 0; i < 1500; i++) tally[check(mutate(base, rng))]++;
      expect(tally.rejected).toBeGreaterThan(100);
      expect(tally.ok + tally.rejected).toBe(1500);
    });
  }

  test("value-level mutations of every binary key (re-escaped, so the dictionary stays valid) exercise the binary parsers", () => {
    const base = Dictionary.parse(fixtureBytes("netconf", "member.conf"), NETWORK_CONFIG_DICT_CAPACITY);
    if (!base.ok) throw new Error(base.error);
    const rng = new SeededRng(1234);
    const tally = { ok: 0, rejected: 0 };
    for (const key of ["C", "COO", "RT", "I", "R", "DNS"]) {
      for (let i = 0; i < 400; i++) {
        const d = new Dictionary();
        for (const e of base.value.entries) d.add(e.key, e.key === key ? mutate(e.value, rng) : e.value);
        tally[check(d.toBytes())]++;
      }
    }
    expect(tally.rejected).toBeGreaterThan(500);
    expect(tally.ok).toBeGreaterThan(100);
  });
});
