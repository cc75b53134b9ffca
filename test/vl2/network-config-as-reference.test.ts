import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { Dictionary, NETWORK_CONFIG_DICT_CAPACITY } from "../../src/vl2/dictionary.ts";
import { type NetworkConfig, encodeNetworkConfig, networkConfigFromBytes } from "../../src/vl2/network-config.ts";
import { decodeRules, encodeRules } from "../../src/vl2/rules.ts";
import { EDITS } from "./netconf-edits.ts";

/**
 * How we read each kind of value 1.14.1's NetworkConfig::fromDictionary tolerates, one edit of a
 * real config at a time (netconf-edits.ts). `ref` is what 1.14 did with the same input, recorded
 * with test/vl2/reference/harness.cpp as for the differential corpus: "fail", or the first 16 hex
 * of SHA-256 of what it wrote back. Where 1.14 accepts we must write back exactly that; where we
 * refuse on purpose (see network-config-reference.test.ts) the reason is checked instead.
 */
type Check = (nc: NetworkConfig, written: Dictionary) => void;
type Expect = { readonly ref: string } & ({ readonly check: Check } | { readonly reject: string } | { readonly refuse: string });

const text = (d: Dictionary, key: string): string | undefined => d.getString(key);
const hexOf = (b: Uint8Array | undefined): string => (b === undefined ? "(absent)" : Buffer.from(b).toString("hex"));
const unchanged: Check = () => {};

const CASES: Record<string, Expect> = {
  // ---- dictionary text: 1.14's lookups skip what they cannot match ----
  "NUL ends the text": {
    ref: "6d9aac0993734829",
    check: (nc) => {
      // keys from ml on are gone: defaults (private, no name, default MTU, no COM)
      expect([nc.multicastLimit, nc.type, nc.name, nc.mtu, nc.com, nc.staticIps.length]).toEqual([0, 0, "", 2800, null, 0]);
    },
  },
  "line without '='": { ref: "9ffb7ac4a522e85b", check: unchanged },
  "line with an empty key": { ref: "9ffb7ac4a522e85b", check: unchanged },
  "line whose key is not printable ASCII": { ref: "9ffb7ac4a522e85b", check: (nc) => expect(nc.name).toBe("ztlab") },
  "backslash at the end of a line": { ref: "c11f1f948108ce92", check: (nc) => expect(nc.name).toBe("zt=") },
  // ---- integers: strtoull's reading, cut to the field's width ----
  "integer with spaces and 0x": { ref: "2d1577751602d519", check: (nc, w) => expect([nc.timestamp, text(w, "ts")]).toEqual([0x1f, "000000000000001f"]) },
  "integer followed by junk": { ref: "605dfcfd83a44517", check: (nc) => expect(nc.timestamp).toBe(0x12) },
  "integer without digits": { ref: "7aeceab6f09b6659", check: (nc) => expect(nc.revision).toBe(0) },
  "integer, empty value": { ref: "9ffb7ac4a522e85b", check: (nc) => expect(nc.mtu).toBe(2800) },
  "integer, escaped NUL value": { ref: "112ae7f6580dc7ab", check: (nc) => expect(nc.mtu).toBe(1280) },
  "integer past 64 bits saturates": {
    ref: "8e76effd8b497dce",
    // 2^64 − 1 as int64 is −1, and 1.14 writes a negative int64 without its sign
    check: (nc, w) => expect([nc.timestamp, text(w, "ts")]).toEqual([-1, "0000000000000001"]),
  },
  "negative timestamp": { ref: "bd0cfd5c74c7b3c1", check: (nc, w) => expect([nc.timestamp, text(w, "ts")]).toEqual([-5, "0000000000000005"]) },
  "32-bit fields cut to 32 bits": {
    ref: "909cfe5a3c789a8c",
    check: (nc) => expect([nc.multicastLimit, nc.remoteTraceLevel, nc.type, nc.mtu]).toEqual([0xffffffff, 0x23456789, 0xfffffffe, 10000]),
  },
  "unknown network type": { ref: "60c2bf71a12415ce", check: (nc, w) => expect([nc.type, text(w, "t")]).toEqual([5, "0000000000000005"]) },
  "issued-to wider than 40 bits": { ref: "9ffb7ac4a522e85b", check: (nc) => expect(nc.issuedTo).toBe(0xddb1763ec1) },
  "issued-to with zero low 40 bits": { ref: "fail", reject: "missing or invalid id" },
  "version with junk after it": { ref: "9ffb7ac4a522e85b", check: unchanged },
  "revision beyond 2^53": { ref: "074dae1c40405acf", refuse: "r: 9007199254740993 is beyond 2^53" },
  // ---- texts: cut to 1.14's buffers and at a NUL ----
  "name longer than 127 bytes": { ref: "14e1797268f97c3b", check: (nc) => expect(nc.name).toBe("x".repeat(127)) },
  "name with an escaped NUL": { ref: "b854af9d975cbd1c", check: (nc) => expect(nc.name).toBe("zt") },
  "name not UTF-8": { ref: "741aa0e86a515339", refuse: "n: not valid UTF-8" },
  // ---- SSO ----
  "SSO v0 with a negative expiry": {
    ref: "0873751f36317e58",
    // read as int64 into 1.14's uint64 field, written back unsigned
    check: (nc, w) => expect([nc.sso.authenticationExpiryTime, text(w, "aexpt"), text(w, "aurl")]).toEqual([-1, "ffffffffffffffff", "https://a"]),
  },
  "SSO v0 with an expiry past int64": { ref: "8110111fd3fc49c3", refuse: "aexpt: 9223372036854775807 is beyond 2^53" },
  "SSO of an unknown version": {
    ref: "deb8c76875dbd525",
    check: (nc, w) => {
      expect([nc.sso.version, nc.sso.enabled]).toEqual([2, true]);
      expect(w.entries.map((e) => e.key).filter((k) => k.startsWith("sso") || k === "aurl")).toEqual([]);
    },
  },
  "SSO v1 with an empty-looking provider": { ref: "34280667ebfe3c72", check: (nc, w) => expect([nc.sso.provider, text(w, "ssop"), text(w, "iurl")]).toEqual(["", "", "https://i"]) },
  "SSO v1 without a provider": { ref: "ea0025fe64183146", check: (nc) => expect(nc.sso.provider).toBe("default") },
  // ---- COM, CoO ----
  "COM with bytes after it": { ref: "9ffb7ac4a522e85b", check: (nc) => expect(nc.com?.qualifiers.length).toBe(7) },
  "COM present but empty": { ref: "fail", reject: "COM format" },
  "COM without qualifiers": { ref: "a0f60149eeedc2b2", check: (nc, w) => expect([nc.com, w.has("C")]).toEqual([null, false]) },
  "five CoOs": { ref: "5e23bbc41847eb90", check: (nc) => expect(nc.certificatesOfOwnership.length).toBe(4) },
  "CoO that fails to deserialize": { ref: "fail", reject: "truncated" },
  "CoO counting more than 16 things": { ref: "1cd390a307027839", refuse: "CoO has 17 things, more than 16" },
  // ---- specialists, routes, static IPs ----
  "specialists with a partial entry": { ref: "b78724e1d3b0e3eb", check: (nc) => expect(nc.specialists).toEqual([0x0000020000112233n]) },
  "route with reserved address types": {
    ref: "128574c449a3d5fb",
    check: (nc, w) => {
      expect(nc.routes).toEqual([{ target: null, via: null, flags: 1, metric: 2 }]);
      expect(hexOf(w.get("RT"))).toBe("000000010002");
    },
  },
  "129 routes": { ref: "46f91a9a64841696", check: (nc) => expect(nc.routes.length).toBe(128) },
  "33 static IPs": { ref: "0f16898b5a8be081", check: (nc) => expect(nc.staticIps.length).toBe(32) },
  "static IP without an address": { ref: "8e364081c0485d18", refuse: "static IP 1: static IP without an address" },
  // ---- DNS: 1.14 writes back the whole domain field and every slot in place ----
  "DNS with bytes after the domain's NUL": {
    ref: "83df0461d4c2a6cc",
    check: (nc, w) => {
      expect(nc.dns.domain).toBe("corp");
      expect(nc.dns.servers.length).toBe(1);
      expect(hexOf(w.get("DNS")?.subarray(0, 9))).toBe(Buffer.from("corp\0junk").toString("hex"));
    },
  },
  "DNS with an empty slot before a server": {
    ref: "173f21384bda9460",
    check: (nc, w) => {
      expect(nc.dns.servers.length).toBe(1);
      expect(hexOf(w.get("DNS")?.subarray(128))).toBe("00" + "040a0000350000" + "00" + "00");
    },
  },
  "DNS with a reserved address type and trailing bytes": {
    ref: "1760358a72a1cb0a",
    check: (nc, w) => {
      expect(nc.dns.servers.length).toBe(1);
      expect(hexOf(w.get("DNS")?.subarray(128))).toBe("00" + "040a0000350000" + "00" + "00");
    },
  },
  "DNS whose domain fills the field": { ref: "6ba4af1e68fcfaf9", check: (nc) => expect(nc.dns.domain).toBe("a".repeat(127)) },
  "DNS too short for its servers": { ref: "fail", reject: "DNS server 1" },
  // ---- rules ----
  "rule field shorter than its type reads the next bytes": {
    ref: "ba6fb66c28a4c850",
    check: (nc, w) => {
      expect(nc.rules).toEqual([{ type: 37, not: false, or: false, etherType: 0x0100 }, { type: 1, not: false, or: false }]);
      expect(hexOf(w.get("R"))).toBe("250201000100");
    },
  },
  "rule field length past the end": { ref: "9ffb7ac4a522e85b", check: (nc) => expect(nc.rules).toEqual([{ type: 1, not: false, or: false }]) },
  "rule field past the end": { ref: "fail", reject: "rule type 37 field" },
  "1025 rules": { ref: "a32294ce98a1e3f6", check: (nc) => expect(nc.rules.length).toBe(1024) },
  "TEE target wider than 40 bits": {
    ref: "b781d4f5e542704d",
    check: (nc, w) => {
      // 1.14 acts on the low 40 bits and writes all 64 back
      expect(nc.rules[0]).toEqual({ type: 2, not: false, or: false, address: 0x1122334455, addressHighBits: 0xffff00, flags: 1, length: 128 });
      expect(hexOf(w.get("R"))).toBe("020effff001122334455000000010080" + "0100");
    },
  },
  "IPv4 rule prefix longer than the address": { ref: "9b73635dd6fd4d00", refuse: "prefix /33 longer than the address" },
  // ---- tags and capabilities: the list is cut where one fails, the rest kept ----
  "tag list with a partial tag after it": { ref: "53ffbbd65f18ab96", check: (nc) => expect(nc.tags.map((t) => t.id)).toEqual([0, 7]) },
  "tag list whose second tag is cut": { ref: "2b10d8aeade47b0a", check: (nc) => expect(nc.tags.map((t) => t.id)).toEqual([0]) },
  "capability list whose only capability is cut": { ref: "d6bf52c574977ac1", check: (nc, w) => expect([nc.capabilities.length, w.has("CAP")]).toEqual([0, false]) },
  "129 tags": { ref: "b2a433499ff7a7df tag-signature-invalid", refuse: "more than 128 tags" },
};

describe("NetworkConfig: what 1.14.1 tolerates, one edit at a time", () => {
  test("every edit has an expectation", () => {
    expect(Object.keys(CASES).sort()).toEqual(Object.keys(EDITS).sort());
  });

  for (const [name, exp] of Object.entries(CASES)) {
    test(`${name}: ${"check" in exp ? "read as 1.14 reads it" : "reject" in exp ? "rejected, as by 1.14" : "refused on purpose (1.14 accepts)"}`, () => {
      const r = networkConfigFromBytes(EDITS[name]!());
      if ("reject" in exp || "refuse" in exp) {
        expect(exp.ref === "fail").toBe("reject" in exp);
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.error).toContain("reject" in exp ? exp.reject : exp.refuse);
        return;
      }
      if (!r.ok) throw new Error(r.error);
      const e = encodeNetworkConfig(r.value);
      if (!e.ok) throw new Error(e.error);
      expect(createHash("sha256").update(e.value).digest("hex").slice(0, 16)).toBe(exp.ref);
      const written = Dictionary.parse(e.value, NETWORK_CONFIG_DICT_CAPACITY);
      if (!written.ok) throw new Error(written.error);
      exp.check(r.value, written.value);
    });
  }
});

describe("rules as 1.14 reads them (field bounded by the buffer, not its length byte)", () => {
  test("a field shorter than its type reads on into the next rule's bytes; its length byte still moves on", () => {
    const d = decodeRules(Uint8Array.of(0x25, 0x00, 0x01, 0x00));
    expect(d.ok && d.value).toEqual([
      { type: 37, not: false, or: false, etherType: 0x0100 },
      { type: 1, not: false, or: false },
    ]);
    expect(d.ok && Buffer.from(encodeRules(d.value)).toString("hex")).toBe("250201000100");
  });

  test("a length byte pointing past the end ends the table; a field past the end is an error", () => {
    const past = decodeRules(Uint8Array.of(0x01, 0x05));
    expect(past.ok && past.value).toEqual([{ type: 1, not: false, or: false }]);
    const cut = decodeRules(Uint8Array.of(0x25, 0x02, 0x08));
    expect(!cut.ok && cut.error).toContain("truncated");
  });
});
