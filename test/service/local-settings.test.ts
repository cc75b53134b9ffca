/**
 * local.conf settings: the zerotier-one settings this service does not implement are named in one
 * warning each when set to something we do not do (never when left "off"); interfacePrefixBlacklist
 * and the other rules that choose the local interface addresses advertised to peers.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { consola, type LogObject } from "consola";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { NetworkInterfaceInfo } from "node:os";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalConfError, parseLocalConf, unsupportedSettings } from "../../src/service/local-conf.ts";
import { type InterfaceTable, localInterfaceAddresses } from "../../src/service/local-interfaces.ts";
import { Service } from "../../src/service/service.ts";
import { cidrFromString, inetAddressToString } from "../../src/vl1/inet-address.ts";
import { writeLoopbackPlanet } from "../support/loopback-planet.ts";

function info(address: string, internal = false): NetworkInterfaceInfo {
  const v6 = address.includes(":");
  const base = { address, netmask: v6 ? "ffff:ffff:ffff:ffff::" : "255.255.255.0", mac: "02:00:00:00:00:01", internal, cidr: null };
  return v6 ? { ...base, family: "IPv6", scopeid: 0 } : { ...base, family: "IPv4" };
}

const TABLE: InterfaceTable = {
  lo: [info("127.0.0.1", true), info("::1", true)],
  eth0: [info("192.168.7.2"), info("fd00::2"), info("fe80::1")],
  docker0: [info("172.17.0.1")],
  ztabcdef12: [info("10.147.20.5")],
  tun0: [info("10.8.0.2")],
  wlan0: [info("10.20.0.9"), info("10.99.0.4")],
};

describe("unsupported settings", () => {
  test("values that mean off (as tests and zerotier-one configs write them) give no warning", () => {
    const raw = {
      settings: {
        portMappingEnabled: false,
        allowTcpFallbackRelay: false,
        allowSecondaryPort: false,
        forceTcpRelay: false,
        lowBandwidthMode: false,
        allowManagementFrom: [],
        softwareUpdate: "disable",
        primaryPort: 9993,
        allowLoopbackPaths: true,
        bind: ["127.0.0.1"],
        interfacePrefixBlacklist: ["docker"],
        homeDir: "/var/lib/zerotier-one",
      },
    };
    expect(unsupportedSettings(raw)).toEqual([]);
    expect(unsupportedSettings({})).toEqual([]);
  });

  test("each setting asking for something we do not do is named once", () => {
    const raw = {
      settings: {
        portMappingEnabled: true,
        allowTcpFallbackRelay: true,
        forceTcpRelay: true,
        lowBandwidthMode: true,
        allowManagementFrom: ["10.0.0.0/8"],
        secondaryPort: 29993,
        someFutureKey: 1,
      },
      virtual: { "1122334455": { try: ["203.0.113.1/9993"] } },
    };
    const w = unsupportedSettings(raw);
    expect(w).toEqual([
      "setting portMappingEnabled=true is not supported by this service; ignored",
      "setting allowTcpFallbackRelay=true is not supported by this service; ignored",
      "setting forceTcpRelay=true is not supported by this service; ignored",
      "setting lowBandwidthMode=true is not supported by this service; ignored",
      'setting allowManagementFrom=["10.0.0.0/8"] is not supported by this service; ignored',
      "setting secondaryPort=29993 is not supported by this service; ignored",
      "setting someFutureKey is not known to this service; ignored",
      "setting virtual.1122334455.try is not supported by this service; ignored",
    ]);
    expect(unsupportedSettings(raw, ["lowBandwidthMode", "primaryPort"])).toEqual([w[3]!]);
  });

  test("unsupported settings are still type-checked; bind and allowManagementFrom must be addresses", () => {
    for (const settings of [
      { portMappingEnabled: "yes" },
      { lowBandwidthMode: 1 },
      { secondaryPort: "x" },
      { bind: ["localhost"] },
      { bind: ["10.0.0.1/8"] },
      { allowManagementFrom: ["everyone"] },
    ]) {
      expect(() => parseLocalConf(JSON.stringify({ settings }))).toThrow(LocalConfError);
    }
  });
});

describe("local interface addresses", () => {
  const rules = { port: 9993, v4: "any", v6: "any", interfacePrefixBlacklist: [], blacklist: [], ownAddresses: [] };
  const text = (t: InterfaceTable, r: Parameters<typeof localInterfaceAddresses>[1]) =>
    localInterfaceAddresses(t, r).map(inetAddressToString);

  test("loopback, zt*, tun*, tap* and link-local never; the rest with our port", () => {
    expect(text(TABLE, rules)).toEqual(["192.168.7.2/9993", "172.17.0.1/9993", "10.20.0.9/9993", "10.99.0.4/9993", "fd00::2/9993"]);
  });

  test("interfacePrefixBlacklist, physical blacklists and our own networks' addresses are left out", () => {
    const r = {
      ...rules,
      interfacePrefixBlacklist: ["docker", "wl"],
      blacklist: [cidrFromString("fd00::/8")!],
      ownAddresses: [cidrFromString("192.168.7.2/24")!],
    };
    expect(text(TABLE, r)).toEqual([]);
    const v4Only = text(TABLE, { ...rules, interfacePrefixBlacklist: ["docker"], v6: null });
    expect(v4Only).toEqual(["192.168.7.2/9993", "10.20.0.9/9993", "10.99.0.4/9993"]);
  });

  test("with settings.bind only the bound addresses count", () => {
    expect(text(TABLE, { ...rules, v4: "10.20.0.9", v6: null })).toEqual(["10.20.0.9/9993"]);
    expect(text(TABLE, { ...rules, v4: "127.0.0.1", v6: null })).toEqual([]);
  });
});

describe("the service applies them", () => {
  const tmp = mkdtempSync(join(tmpdir(), "ztnc-settings-"));
  const home = join(tmp, "home");
  let svc: Service;
  const warnings: string[] = [];
  const reporter = { log: (o: LogObject) => void (o.type === "warn" && warnings.push(o.args.map(String).join(" "))) };
  consola.addReporter(reporter);

  beforeAll(async () => {
    writeLoopbackPlanet(home);
    writeFileSync(
      join(home, "local.conf"),
      JSON.stringify({
        physical: { "10.99.0.0/16": { blacklist: true } },
        settings: { portMappingEnabled: true, allowTcpFallbackRelay: false, interfacePrefixBlacklist: ["docker"] },
      }),
    );
    svc = await Service.start({ home, port: 0, networkInterfaces: () => TABLE });
  });
  afterAll(async () => {
    await svc.stop();
    consola.removeReporter(reporter);
    rmSync(tmp, { recursive: true, force: true });
  });

  test("one warning per unsupported setting at start, none for settings left off", () => {
    const ours = warnings.filter((w) => w.startsWith("local.conf:"));
    expect(ours).toEqual(["local.conf: setting portMappingEnabled=true is not supported by this service; ignored"]);
  });

  test("the node advertises the interface addresses the rules allow", () => {
    const port = svc.port;
    const advertised = svc.node.node.localInterfaceAddresses.map(inetAddressToString);
    expect(advertised).toEqual([`192.168.7.2/${port}`, `10.20.0.9/${port}`, `fd00::2/${port}`]);
  });

  test("a settings update that asks for something unsupported is warned about", async () => {
    const token = readFileSync(join(home, "authtoken.secret"), "utf8");
    const r = await fetch(`http://127.0.0.1:${svc.port}/config/settings`, {
      method: "POST",
      headers: { "X-ZT1-Auth": token },
      body: JSON.stringify({ lowBandwidthMode: true }),
    });
    expect(r.status).toBe(200);
    expect(warnings).toContain("local.conf: setting lowBandwidthMode=true is not supported by this service; ignored");
  });
});
