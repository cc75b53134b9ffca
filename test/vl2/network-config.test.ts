import { describe, expect, test } from "bun:test";
import { inetAddressToString, ipToString } from "../../src/vl1/inet-address.ts";
import { comIssuedTo, comNetworkId, comTimestamp, verifyCom } from "../../src/vl2/com.ts";
import { ThingType, cooOwns, verifyCoo } from "../../src/vl2/credentials/certificate-of-ownership.ts";
import { Dictionary, NETWORK_CONFIG_DICT_CAPACITY } from "../../src/vl2/dictionary.ts";
import { macFromAddress, macToString } from "../../src/vl2/mac.ts";
import {
  type NetworkConfig,
  broadcastEnabled,
  encodeNetworkConfig,
  isPrivateNetwork,
  networkConfigFromBytes,
  networkConfigToDictionary,
  parseNetworkConfig,
} from "../../src/vl2/network-config.ts";
import { networkIdToString } from "../../src/vl2/network-id.ts";
import { STORED_CONFIGS, controllerIdentity, decodedEntries, fixtureBytes, fixtureIdentity, fixtureJson } from "./fixtures.ts";

function load(dir: string, conf: string): NetworkConfig {
  const r = networkConfigFromBytes(fixtureBytes(dir, conf));
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

interface LocalApiNetwork {
  id: string;
  mac: string;
  mtu: number;
  name: string;
  type: string;
  broadcastEnabled: boolean;
  netconfRevision: number;
  assignedAddresses: string[];
  routes: { target: string; via: string | null; flags: number; metric: number }[];
  dns: { domain: string; servers: string[] };
}

const apiFile = (dir: string) => (dir === "netconf" ? "member-local-api-network.json" : "ztcap-local-api-network.json");

describe("NetworkConfig from the stored configs", () => {
  for (const [label, dir, conf, decoded, identityFile] of STORED_CONFIGS) {
    describe(label, () => {
      const nc = load(dir, conf);
      const entries = decodedEntries(dir, decoded);
      const entry = (k: string) => entries.find((e) => e.key === k)!;

      test("scalar keys have the values decoded.json lists", () => {
        expect(nc.networkId).toBe(BigInt(`0x${entry("nwid").value_text}`));
        expect(nc.timestamp).toBe(entry("ts").value_int!);
        expect(nc.credentialTimeMaxDelta).toBe(entry("ctmd").value_int!);
        expect(nc.revision).toBe(entry("r").value_int!);
        expect(nc.issuedTo.toString(16).padStart(10, "0")).toBe(entry("id").value_text!);
        expect(nc.remoteTraceTarget).toBe(entry("tt").value_int!);
        expect(nc.remoteTraceLevel).toBe(entry("tl").value_int!);
        expect(nc.flags).toBe(entry("f").value_int!);
        expect(nc.multicastLimit).toBe(entry("ml").value_int!);
        expect(nc.type).toBe(entry("t").value_int!);
        expect(nc.name).toBe(entry("n").value_text!);
        expect(nc.mtu).toBe(entry("mtu").value_int!);
        expect(nc.sso.version).toBe(entry("ssov").value_int!);
        expect(nc.sso.enabled).toBe(entry("ssoe").value_int === 1);
      });

      test("binary keys: rules, routes, static IP, DNS as the local API reported them", () => {
        const api = fixtureJson(dir, apiFile(dir)) as LocalApiNetwork;
        expect(networkIdToString(nc.networkId)).toBe(api.id);
        expect(nc.rules).toEqual([{ type: 1, not: false, or: false }]);
        expect(nc.staticIps.map(inetAddressToString)).toEqual(api.assignedAddresses);
        expect(nc.routes.map((r) => ({ target: inetAddressToString(r.target!), via: r.via === null ? null : ipToString(r.via), flags: r.flags, metric: r.metric }))).toEqual(api.routes);
        expect(nc.dns).toEqual({ domain: api.dns.domain, servers: [] });
        expect(nc.mtu).toBe(api.mtu);
        expect(nc.name).toBe(api.name);
        expect(nc.revision).toBe(api.netconfRevision);
        expect(broadcastEnabled(nc)).toBe(api.broadcastEnabled);
        expect(isPrivateNetwork(nc) ? "PRIVATE" : "PUBLIC").toBe(api.type);
        expect(macToString(macFromAddress(nc.issuedTo, nc.networkId))).toBe(api.mac);
      });

      test("the COM is the member's, verifies against the controller and carries its identity hash", () => {
        const com = nc.com!;
        expect(com.qualifiers.length).toBe(7);
        expect(comTimestamp(com)).toBe(nc.timestamp);
        expect(comNetworkId(com)).toBe(nc.networkId);
        expect(comIssuedTo(com)).toBe(nc.issuedTo);
        expect(com.qualifiers[0]!.maxDelta).toBe(BigInt(nc.credentialTimeMaxDelta));
        expect(verifyCom(com, controllerIdentity())).toBeNull();
        const member = fixtureIdentity(dir, identityFile);
        expect(member.address).toBe(nc.issuedTo);
        const h = member.publicKeyHash();
        expect(com.qualifiers[3]!.value).toBe(BigInt(`0x${Buffer.from(h.subarray(0, 8)).toString("hex")}`));
        expect(com.qualifiers[6]!.value).toBe(BigInt(`0x${Buffer.from(h.subarray(24, 32)).toString("hex")}`));
      });

      test("one certificate of ownership (ID 1) for the static IP, signed by the controller", () => {
        expect(nc.certificatesOfOwnership.length).toBe(1);
        const coo = nc.certificatesOfOwnership[0]!;
        expect(coo.id).toBe(1);
        expect(coo.issuedTo).toBe(nc.issuedTo);
        expect(coo.timestamp).toBe(nc.timestamp);
        expect(cooOwns(coo, ThingType.IPV4, nc.staticIps[0]!.ip)).toBe(true);
        expect(cooOwns(coo, ThingType.IPV4, Uint8Array.of(172, 28, 0, 1))).toBe(false);
        expect(verifyCoo(coo, controllerIdentity())).toBeNull();
      });

      test("re-serializes byte for byte (1.14 key order and number forms)", () => {
        const bytes = fixtureBytes(dir, conf);
        const out = encodeNetworkConfig(nc);
        if (!out.ok) throw new Error(out.error);
        expect(Buffer.from(out.value).toString("latin1")).toBe(Buffer.from(bytes).toString("latin1"));
      });
    });
  }
});

describe("NetworkConfig rejections", () => {
  const base = fixtureBytes("netconf", "member.conf");
  const baseDict = (): Dictionary => {
    const d = Dictionary.parse(base, NETWORK_CONFIG_DICT_CAPACITY);
    if (!d.ok) throw new Error(d.error);
    return d.value;
  };
  /** The stored config with one key replaced (or removed with null, or appended if absent). */
  const withEntry = (key: string, replace: Uint8Array | string | null): Uint8Array => {
    const d = baseDict();
    const out = new Dictionary();
    for (const e of d.entries) {
      if (e.key !== key) out.add(e.key, e.value);
      else if (replace !== null) out.add(key, replace);
    }
    if (!d.has(key) && replace !== null) out.add(key, replace);
    return out.toBytes();
  };
  /** The real CoO with its signature block's length field (after 1 thing, 2 addresses, type byte) changed. */
  const cooWithSignatureLength = (len: number): Uint8Array => {
    const raw = baseDict().get("COO")!.slice();
    const at = 8 + 8 + 8 + 4 + 2 + 17 + 5 + 5 + 1;
    expect(raw[at - 1]).toBe(1);
    raw[at] = len >> 8;
    raw[at + 1] = len & 0xff;
    return raw;
  };
  const cases: [string, Uint8Array, string][] = [
    ["missing nwid", withEntry("nwid", null), "nwid"],
    ["missing id", withEntry("id", null), "id"],
    ["legacy version", withEntry("v", "5"), "legacy"],
    ["nwid without hex digits (reads as 0)", withEntry("nwid", "zz"), "missing nwid"],
    ["truncated COM", withEntry("C", Uint8Array.of(1, 0, 7, 0, 0)), "truncated"],
    ["COM bad format byte", withEntry("C", Uint8Array.of(2, 0, 0, 0, 0, 0, 0, 0)), "format"],
    ["COM with 9 qualifiers", withEntry("C", Uint8Array.of(1, 0, 9)), "qualifiers"],
    ["truncated route", withEntry("RT", Uint8Array.of(4, 172, 28, 0, 0, 0, 16, 0, 0)), "truncated"],
    ["bad InetAddress type in I", withEntry("I", Uint8Array.of(9, 1, 2, 3)), "invalid InetAddress"],
    ["null static IP (refused on purpose)", withEntry("I", Uint8Array.of(0)), "static IP without an address"],
    ["rule field truncated", withEntry("R", Uint8Array.of(37, 2, 8)), "truncated"],
    ["rule field too short for its type, nothing after it", withEntry("R", Uint8Array.of(37, 1, 8)), "needs 2"],
    ["short DNS", withEntry("DNS", new Uint8Array(100)), "truncated"],
    ["CoO with a bad signature length", withEntry("COO", cooWithSignatureLength(0x50)), "signature length"],
  ];
  for (const [name, bytes, reason] of cases) {
    test(`${name} → rejected with a reason`, () => {
      const r = networkConfigFromBytes(bytes);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.toLowerCase()).toContain(reason.toLowerCase());
    });
  }

  test("encoding refuses what a 1.14 member could not hold", () => {
    const nc = networkConfigFromBytes(base);
    if (!nc.ok) throw new Error(nc.error);
    const many = encodeNetworkConfig({ ...nc.value, staticIps: Array(33).fill(nc.value.staticIps[0]!) });
    expect(!many.ok && many.error).toContain("33 static IPs, at most 32");
    const rules = encodeNetworkConfig({ ...nc.value, rules: Array(1025).fill(nc.value.rules[0]!) });
    expect(!rules.ok && rules.error).toContain("1025 rules");
    const dns = encodeNetworkConfig({ ...nc.value, dns: { domain: "x", servers: Array(5).fill(nc.value.staticIps[0]!) } });
    expect(!dns.ok && dns.error).toContain("DNS servers");
  });

  test("mtu is clamped into [1280, 10000] as 1.14 does", () => {
    const low = networkConfigFromBytes(withEntry("mtu", "100"));
    const high = networkConfigFromBytes(withEntry("mtu", "ffff"));
    expect(low.ok && low.value.mtu).toBe(1280);
    expect(high.ok && high.value.mtu).toBe(10000);
  });

  test("the dictionary form is what the controller signs: toDictionary then parse is the identity", () => {
    const nc = networkConfigFromBytes(base);
    if (!nc.ok) throw new Error(nc.error);
    const again = parseNetworkConfig(networkConfigToDictionary(nc.value));
    expect(again.ok && again.value).toEqual(nc.value);
  });
});
