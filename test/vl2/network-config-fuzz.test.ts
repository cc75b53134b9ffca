import { describe, expect, test } from "bun:test";
import { SeededRng } from "../../src/util/random.ts";
import { Dictionary, NETWORK_CONFIG_DICT_CAPACITY } from "../../src/vl2/dictionary.ts";
import { type NetworkConfig, encodeNetworkConfig, networkConfigFromBytes } from "../../src/vl2/network-config.ts";
import { STORED_CONFIGS, fixtureBytes } from "./fixtures.ts";
import { mutate } from "./netconf-corpus.ts";

function check(bytes: Uint8Array): "ok" | "rejected" {
  const r = networkConfigFromBytes(bytes);
  if (!r.ok) {
    expect(r.error.length).toBeGreaterThan(10);
    return "rejected";
  }
  // whatever we accept must be stable under our own serialization. Like 1.14's, writing loses an
  // SSO block of an unknown version (read back as version 0) and the sign of a negative ts or ctmd
  // (written as the magnitude), so those settle a round later.
  const round = (nc: NetworkConfig): [Uint8Array, NetworkConfig] => {
    const e = encodeNetworkConfig(nc);
    if (!e.ok) throw new Error(e.error);
    const back = networkConfigFromBytes(e.value);
    if (!back.ok) throw new Error(back.error);
    return [e.value, back.value];
  };
  const [b1, c1] = round(r.value);
  const [b2, c2] = round(c1);
  const lossy = r.value.sso.version > 1 || r.value.timestamp < 0 || r.value.credentialTimeMaxDelta < 0;
  if (!lossy) {
    expect(c1).toEqual(r.value);
    expect(b2).toEqual(b1);
  }
  const [b3, c3] = round(c2);
  expect(b3).toEqual(b2);
  expect(c3).toEqual(c2);
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
