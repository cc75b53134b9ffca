/**
 * Deterministic network-config inputs for the differential test against zerotier-one 1.14.1: the
 * stored configs, rich configs we build (every key, rule type and credential kind), and seeded
 * text- and value-level mutations of both. The same generator produced the reference results in
 * fixtures/vl2/reference-netconf-corpus.json (by feeding these inputs to 1.14's
 * NetworkConfig::fromDictionary + toDictionary), so any input can be rebuilt from (kind, seed).
 */
import { SeededRng } from "../../src/util/random.ts";
import { inetAddressFromString } from "../../src/vl1/inet-address.ts";
import { attachCredentials } from "../../src/vl2/config-issue.ts";
import { Dictionary, NETWORK_CONFIG_DICT_CAPACITY } from "../../src/vl2/dictionary.ts";
import { encodeNetworkConfig, makeNetworkConfig } from "../../src/vl2/network-config.ts";
import type { Rule } from "../../src/vl2/rules.ts";
import { STORED_CONFIGS, controllerSecret, fixtureBytes, quickIdentity } from "./fixtures.ts";

/** Applies 1..4 random edits: flip, overwrite, delete, insert, truncate. */
export function mutate(src: Uint8Array, rng: SeededRng): Uint8Array {
  let b = src.slice();
  const edits = 1 + (rng.u32() % 4);
  for (let e = 0; e < edits && b.length > 0; e++) {
    const at = rng.u32() % b.length;
    switch (rng.u32() % 5) {
      case 0:
        b[at]! ^= 1 << (rng.u32() % 8);
        break;
      case 1:
        b[at] = rng.u32() & 0xff;
        break;
      case 2:
        b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + 1 + (rng.u32() % 8))]);
        break;
      case 3:
        b = Uint8Array.from([...b.subarray(0, at), rng.u32() & 0xff, ...b.subarray(at)]);
        break;
      default:
        b = b.slice(0, at);
    }
  }
  return b;
}

const F = { not: false, or: false };

function everyRule(rng: SeededRng): Rule[] {
  const r = () => rng.u32();
  const ip4 = () => Uint8Array.of(r() & 0xff, r() & 0xff, r() & 0xff, r() & 0xff);
  const ip6 = () => {
    const b = new Uint8Array(16);
    rng.fill(b);
    return b;
  };
  const flags = () => ({ not: (r() & 1) === 1, or: (r() & 3) === 1 });
  const rules: Rule[] = [
    { type: 2, ...flags(), address: r() % 0xffffffff, flags: r(), length: r() & 0xffff },
    { type: 3, ...flags(), address: r() % 0xffffffff, flags: r(), length: r() & 0xffff },
    { type: 4, ...flags(), address: r() % 0xffffffff, flags: r(), length: 0 },
    { type: 24, ...flags(), address: r() % 0xffffffff },
    { type: 25, ...flags(), address: r() % 0xffffffff },
    { type: 26, ...flags(), vlanId: r() & 0xffff },
    { type: 27, ...flags(), value: r() & 0xff },
    { type: 28, ...flags(), value: r() & 0xff },
    { type: 29, ...flags(), mac: (r() & 0xffff) * 0x100000000 + r() },
    { type: 30, ...flags(), mac: (r() & 0xffff) * 0x100000000 + r() },
    { type: 31, ...flags(), ip: ip4(), prefixBits: r() % 33 },
    { type: 32, ...flags(), ip: ip4(), prefixBits: r() % 33 },
    { type: 33, ...flags(), ip: ip6(), prefixBits: r() % 129 },
    { type: 34, ...flags(), ip: ip6(), prefixBits: r() % 129 },
    { type: 35, ...flags(), mask: r() & 0xff, low: r() & 0xff, high: r() & 0xff },
    { type: 36, ...flags(), protocol: r() & 0xff },
    { type: 37, ...flags(), etherType: r() & 0xffff },
    { type: 38, ...flags(), icmpType: r() & 0xff, icmpCode: r() & 0xff, icmpFlags: r() & 1 },
    { type: 39, ...flags(), low: r() & 0xffff, high: r() & 0xffff },
    { type: 40, ...flags(), low: r() & 0xffff, high: r() & 0xffff },
    { type: 41, ...flags(), characteristics: (BigInt(r()) << 32n) | BigInt(r()) },
    { type: 42, ...flags(), low: r() & 0xffff, high: r() & 0xffff },
    { type: 43, ...flags(), probability: r() },
    ...([44, 45, 46, 47, 48, 49, 50] as const).map((t): Rule => ({ type: t, ...flags(), tagId: r(), tagValue: r() })),
    { type: 51, ...flags(), start: BigInt(r()), end: BigInt(r()) + 0x100000000n, index: r() & 0xffff, format: r() & 0xbf },
    { type: 5, ...F },
    { type: 0, ...F },
    { type: 1, ...F },
  ];
  return rules.map((x) => (x.type === 51 ? { ...x, end: x.start + (x.end & 0xffffffffn) } : x));
}

const richCache = new Map<number, Uint8Array>();

/** A config using every key: rules of every type, tags, capabilities, CoO, specialists, routes with gateways, IPv6, DNS, SSO. */
export function richConfig(seed: number): Uint8Array {
  const cached = richCache.get(seed);
  if (cached !== undefined) return cached;
  const rng = new SeededRng(seed);
  const member = quickIdentity(1000 + seed);
  const ssoVersion = seed % 3;
  const base = makeNetworkConfig({
    networkId: 0x3bc65e2b50b151d2n,
    issuedTo: member.address,
    timestamp: 1795900000000 + seed,
    credentialTimeMaxDelta: 1800000,
    revision: seed,
    remoteTraceTarget: seed % 2 === 0 ? 0 : 0x1122334455,
    remoteTraceLevel: seed % 3,
    flags: 0x2 | (seed % 2 === 0 ? 0x4 : 0x8),
    multicastLimit: 32 + seed,
    type: seed % 2,
    name: `net-${seed}=\\\n\r`,
    mtu: 1280 + seed * 7,
    specialists: [0x0000020000000000n | 0x1122334455n, 0x0000040000000000n | 0x2233445566n],
    routes: [
      { target: inetAddressFromString("10.0.0.0/8")!, via: null, flags: 0, metric: 0 },
      { target: inetAddressFromString("0.0.0.0/0")!, via: inetAddressFromString("10.0.0.1/0")!, flags: 1, metric: 100 },
      { target: inetAddressFromString("fd00::/8")!, via: null, flags: 0, metric: 5 },
    ],
    staticIps: [inetAddressFromString(`10.0.0.${seed % 250}/8`)!, inetAddressFromString("fd00::1234/88")!],
    rules: everyRule(rng),
    dns: { domain: `corp${seed}.example`, servers: [inetAddressFromString("10.0.0.53/0")!, inetAddressFromString("fd00::53/0")!] },
    sso:
      ssoVersion === 0
        ? { version: 0, enabled: seed % 2 === 0, authenticationUrl: seed % 2 === 0 ? "https://auth.example/?a=b" : "", authenticationExpiryTime: seed % 2 === 0 ? 1795900000000 : 0, issuerUrl: "", centralAuthUrl: "", nonce: "", state: "", clientId: "", provider: "" }
        : ssoVersion === 1
          ? { version: 1, enabled: true, authenticationUrl: "", authenticationExpiryTime: 0, issuerUrl: "https://issuer", centralAuthUrl: "https://central", nonce: "n0", state: "s0", clientId: "cid", provider: "default" }
          : { version: 0, enabled: false, authenticationUrl: "", authenticationExpiryTime: 0, issuerUrl: "", centralAuthUrl: "", nonce: "", state: "", clientId: "", provider: "" },
  });
  const nc = attachCredentials(base, member, controllerSecret(), {
    tags: [
      [seed, rng.u32()],
      [7, 1],
    ],
    capabilities: [{ id: 3, rules: everyRule(rng).slice(0, 20) }],
  });
  const e = encodeNetworkConfig(nc);
  if (!e.ok) throw new Error(e.error);
  richCache.set(seed, e.value);
  return e.value;
}

/** Replaces one key's value with a mutation of it (re-escaped, so the text stays a dictionary). */
export function mutateValue(src: Uint8Array, rng: SeededRng): Uint8Array {
  const d = Dictionary.parse(src, NETWORK_CONFIG_DICT_CAPACITY);
  if (!d.ok) throw new Error(d.error);
  const entries = d.value.entries;
  const victim = entries[rng.u32() % entries.length]!.key;
  const out = new Dictionary();
  for (const e of entries) out.add(e.key, e.key === victim ? mutate(e.value, rng) : e.value);
  return out.toBytes();
}

export type CaseKind = "stored" | "rich" | "stored-text" | "stored-value" | "rich-text" | "rich-value";

/** Rebuilds one corpus input from its kind and seed. */
export function corpusInput(kind: CaseKind, seed: number): Uint8Array {
  const stored = () => fixtureBytes(STORED_CONFIGS[seed % STORED_CONFIGS.length]![1], STORED_CONFIGS[seed % STORED_CONFIGS.length]![2]);
  const rng = new SeededRng(seed * 2654435761);
  switch (kind) {
    case "stored":
      return stored();
    case "rich":
      return richConfig(seed);
    case "stored-text":
      return mutate(stored(), rng);
    case "stored-value":
      return mutateValue(stored(), rng);
    case "rich-text":
      return mutate(richConfig(seed % 16), rng);
    case "rich-value":
      return mutateValue(richConfig(seed % 16), rng);
  }
}

export const CORPUS_PLAN: readonly (readonly [CaseKind, number])[] = [
  ["stored", 4],
  ["rich", 16],
  ["stored-text", 600],
  ["stored-value", 600],
  ["rich-text", 400],
  ["rich-value", 600],
];
