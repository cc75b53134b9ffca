import { describe, expect, test } from "bun:test";
import { toHex } from "../../src/util/hex.ts";
import { SeededRng } from "../../src/util/random.ts";
import { inetAddressToString } from "../../src/vl1/inet-address.ts";
import { authInfoToDictionary, parseAuthInfo } from "../../src/vl2/auth-info.ts";
import { defaultRequestMetadata, encodeConfigRequest, parseConfigRequest, parseRequestMetadata, requestMetadataToDictionary } from "../../src/vl2/config-request.ts";
import { DEFAULT_LOCAL_SETTINGS, encodeLocalConf, parseLocalConf } from "../../src/vl2/local-conf.ts";
import { CAPTURES, fixtureBytes, wirePackets } from "./fixtures.ts";

const NWID = 0x3bc65e2b50b151d2n;
const enc = new TextEncoder();

describe("NETWORK_CONFIG_REQUEST", () => {
  for (const cap of CAPTURES) {
    test(`${cap}: our request payload is byte-identical to the one 1.14.1 sent; the controller side parses it`, () => {
      const real = wirePackets(cap).find((p) => p.verb === "NETWORK_CONFIG_REQUEST")!;
      // the salsa and mixed labs ran nodes patched to announce protocol 11
      const md = { ...defaultRequestMetadata("linux/x86_64"), protocolVersion: cap === "aes-gmac-siv" ? 12 : 11 };
      const ours = encodeConfigRequest(NWID, md);
      if (!ours.ok) throw new Error(ours.error);
      expect(toHex(ours.value)).toBe(real.payload);
      const parsed = parseConfigRequest(new Uint8Array(Buffer.from(real.payload, "hex")));
      if (!parsed.ok) throw new Error(parsed.error);
      expect(parsed.value.networkId).toBe(NWID);
      expect(parsed.value.metadata).toEqual(md);
      expect([parsed.value.haveRevision, parsed.value.haveTimestamp]).toEqual([0n, 0n]);
    });
  }

  test("held revision/timestamp, auth token, older members without the trailer", () => {
    const md = { ...defaultRequestMetadata("linux/aarch64"), auth: "token:abc" };
    const e = encodeConfigRequest(NWID, md, 5n, 1795900262521n);
    if (!e.ok) throw new Error(e.error);
    const p = parseConfigRequest(e.value);
    expect(p.ok && p.value).toEqual({ networkId: NWID, metadata: md, haveRevision: 5n, haveTimestamp: 1795900262521n });
    const short = parseConfigRequest(e.value, 0, e.value.length - 16);
    expect(short.ok && short.value.haveRevision).toBe(0n);
  });

  test("missing keys take 1.14's defaults (0), e.g. revr absent → single accept rule on the controller", () => {
    const p = parseRequestMetadata(enc.encode("v=6\no=x"));
    expect(p.ok && [p.value.configVersion, p.value.rulesEngineRevision, p.value.osArch, p.value.auth]).toEqual([6, 0, "x", null]);
  });

  test("malformed requests are refused with a reason", () => {
    const good = encodeConfigRequest(NWID, defaultRequestMetadata("linux/x86_64"));
    if (!good.ok) throw new Error(good.error);
    const g = good.value;
    expect(parseConfigRequest(g, 0, 9).ok).toBe(false);
    const longLen = g.slice();
    longLen[8] = 0xff;
    expect(!parseConfigRequest(longLen).ok).toBe(true);
    const badHex = g.slice();
    badHex[10 + 2] = 0x7a; // "v=z..."
    const r = parseConfigRequest(badHex);
    expect(!r.ok && r.error).toContain("non-hex");
    expect(parseRequestMetadata(new Uint8Array(1024).fill(0x61)).ok).toBe(false);
    const huge = { ...defaultRequestMetadata(), osArch: "x".repeat(1100) };
    expect(encodeConfigRequest(NWID, huge).ok).toBe(false);
    const rng = new SeededRng(5);
    for (let i = 0; i < 2000; i++) {
      const b = g.slice(0, rng.u32() % (g.length + 1));
      if (b.length > 0) b[rng.u32() % b.length] = rng.u32() & 0xff;
      const x = parseConfigRequest(b);
      if (!x.ok) expect(x.error.length).toBeGreaterThan(5);
    }
  });

  test("the dictionary keeps 1.14's key order", () => {
    const keys = requestMetadataToDictionary(defaultRequestMetadata()).entries.map((e) => e.key);
    expect(keys).toEqual(["v", "vend", "pv", "majv", "minv", "revv", "mr", "mc", "mcr", "mt", "f", "revr", "o"]);
  });
});

describe("networks.d/<nwid>.local.conf", () => {
  test("the real file parses and our encoding reproduces it byte for byte", () => {
    const real = fixtureBytes("netconf", "member.local.conf");
    const p = parseLocalConf(real);
    if (!p.ok) throw new Error(p.error);
    expect(p.value).toEqual(DEFAULT_LOCAL_SETTINGS);
    expect(encodeLocalConf(p.value)).toEqual(real);
  });

  test("booleans by first character, defaults for missing or empty keys, IP whitelist form", () => {
    const p = parseLocalConf(enc.encode("allowManaged=\nallowGlobal=true\nallowDNS=T"));
    expect(p.ok && [p.value.allowManaged, p.value.allowGlobal, p.value.allowDefault, p.value.allowDNS]).toEqual([true, true, false, true]);
    const off = parseLocalConf(enc.encode("allowManaged=0"));
    expect(off.ok && off.value.allowManaged).toBe(false);
    const wl = parseLocalConf(enc.encode("allowManaged=10.0.0.1,10.0.0.2/24"));
    expect(wl.ok && wl.value.allowManagedWhitelist.map(inetAddressToString)).toEqual(["10.0.0.1/0", "10.0.0.2/24"]);
    expect(wl.ok && wl.value.allowManaged).toBe(true);
    const bad = parseLocalConf(enc.encode("allowManaged=10.0.0.1,nonsense"));
    expect(!bad.ok && bad.error).toContain("nonsense");
    expect(parseLocalConf(enc.encode("garbage")).ok).toBe(false);
  });
});

describe("auth info (ERROR NETWORK_AUTHENTICATION_REQUIRED)", () => {
  test("version 0 and 1 in the controller's key order; round trip; unknown version refused", () => {
    const v0 = { version: 0 as const, authenticationUrl: "https://sso.example/a?b=c" };
    const b0 = authInfoToDictionary(v0).toBytes();
    expect(new TextDecoder().decode(b0)).toBe("aV=0000000000000000\naU=https://sso.example/a?b\\ec");
    expect(parseAuthInfo(b0)).toEqual({ ok: true, value: v0 });
    const v1 = { version: 1 as const, issuerUrl: "https://i", centralAuthUrl: "https://c", nonce: "n", state: "s", clientId: "id", provider: "default" };
    const d1 = authInfoToDictionary(v1);
    expect(d1.entries.map((e) => e.key)).toEqual(["aV", "iU", "aCU", "aN", "aS", "aCID"]);
    expect(parseAuthInfo(d1.toBytes())).toEqual({ ok: true, value: v1 });
    expect(parseAuthInfo(enc.encode("aV=2")).ok).toBe(false);
  });
});
