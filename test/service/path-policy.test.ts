/**
 * Physical path policy through the service: local.conf physical.<network>.blacklist and
 * virtual.<address>.blacklist, and no path inside a network we joined (ZeroTier over ZeroTier),
 * checked on the node the service runs; local.conf parsing of those sections.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalConfError, parseLocalConf } from "../../src/service/local-conf.ts";
import { pathRefusal } from "../../src/service/path-policy.ts";
import { Service } from "../../src/service/service.ts";
import { cidrFromString, type InetAddress, ipv4 } from "../../src/vl1/inet-address.ts";
import { writeLoopbackPlanet } from "../support/loopback-planet.ts";

const PEER = 0x1122334455;
const OTHER = 0x5544332211;

describe("local.conf physical and virtual sections", () => {
  test("networks, blacklists and trusted path IDs are parsed", () => {
    const c = parseLocalConf(
      JSON.stringify({
        physical: {
          "10.99.0.0/16": { blacklist: true },
          "fd00::/8": { trustedPathId: "18446744073709551615", mtu: 1400 },
          "10.7.0.0/16": { trustedPathId: 0 },
        },
        virtual: { "1122334455": { blacklist: ["10.98.0.0/16", "192.168.1.7"], try: ["203.0.113.9/9993"] } },
      }),
    ).settings;
    expect(c.physical.get("10.99.0.0/16")!.blacklist).toBe(true);
    expect(c.physical.get("fd00::/8")!.trustedPathId).toBe(0xffffffffffffffffn);
    expect(c.physical.get("10.7.0.0/16")!.trustedPathId).toBeNull(); // 0 means none
    const v = c.virtual.get(PEER)!;
    expect(v.blacklist.map((n) => `${n.ip.join(".")}/${n.port}`)).toEqual(["10.98.0.0/16", "192.168.1.7/32"]);
    expect(v.try.length).toBe(1);
  });

  test("a key or value that is not what it should be is an error naming it", () => {
    const bad: [unknown, string][] = [
      [{ physical: { "10.0.0.0/40": {} } }, "10.0.0.0/40"],
      [{ physical: { eth0: { blacklist: true } } }, "eth0"],
      [{ physical: { "10.0.0.0/8": { trustedPathId: -1 } } }, "trustedPathId"],
      [{ physical: { "10.0.0.0/8": { trustedPathId: "18446744073709551616" } } }, "trustedPathId"],
      [{ virtual: { "12345": {} } }, "12345"],
      [{ virtual: { "1122334455": { blacklist: ["nope"] } } }, "blacklist"],
      [{ virtual: { "1122334455": { try: ["10.0.0.1"] } } }, "try"],
      [{ virtual: { "1122334455": [] } }, "1122334455"],
    ];
    for (const [conf, word] of bad) {
      expect(() => parseLocalConf(JSON.stringify(conf))).toThrow(LocalConfError);
      expect(() => parseLocalConf(JSON.stringify(conf))).toThrow(word);
    }
  });

  test("pathRefusal: joined ranges, global blacklist, per-peer blacklist", () => {
    const settings = parseLocalConf(
      JSON.stringify({
        physical: { "10.99.0.0/16": { blacklist: true }, "10.5.0.0/16": { mtu: 1400 } },
        virtual: { "1122334455": { blacklist: ["10.98.0.0/16"] } },
      }),
    ).settings;
    const ranges: InetAddress[] = [cidrFromString("10.240.0.15/24")!];
    const src = { settings: () => settings, networkRanges: () => ranges };
    expect(pathRefusal(src, PEER, ipv4(10, 240, 0, 99, 9993))).toBe("inside a joined network");
    expect(pathRefusal(src, OTHER, ipv4(10, 99, 3, 4, 9993))).toBe("physical blacklist");
    expect(pathRefusal(src, PEER, ipv4(10, 98, 3, 4, 9993))).toBe("peer blacklist");
    expect(pathRefusal(src, OTHER, ipv4(10, 98, 3, 4, 9993))).toBeNull();
    expect(pathRefusal(src, PEER, ipv4(10, 5, 0, 1, 9993))).toBeNull(); // mtu only, not a blacklist
    expect(pathRefusal(src, PEER, ipv4(10, 241, 0, 1, 9993))).toBeNull();
  });
});

describe("the service wires the policy into its node", () => {
  const tmp = mkdtempSync(join(tmpdir(), "ztnc-pathpolicy-"));
  const home = join(tmp, "home");
  let svc: Service;
  let base: string;
  let token: string;
  const api = async (method: string, path: string, body?: unknown) => {
    const init = { method, headers: { "X-ZT1-Auth": token }, body: body === undefined ? undefined : JSON.stringify(body) };
    const r = await fetch(`${base}${path}`, init);
    return (await r.json()) as Record<string, unknown>;
  };

  beforeAll(async () => {
    writeLoopbackPlanet(home);
    writeFileSync(
      join(home, "local.conf"),
      JSON.stringify({
        physical: { "10.99.0.0/16": { blacklist: true }, "10.77.0.0/16": { trustedPathId: 42 } },
        virtual: { "1122334455": { blacklist: ["10.98.0.0/16"] } },
        settings: { portMappingEnabled: false, allowTcpFallbackRelay: false },
      }),
    );
    svc = await Service.start({ home, port: 0 });
    base = `http://127.0.0.1:${svc.port}`;
    token = readFileSync(join(home, "authtoken.secret"), "utf8");
  });
  afterAll(async () => {
    await svc.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  test("local.conf blacklists veto paths; trusted paths reach the node", () => {
    const node = svc.node.node;
    expect(node.shouldUsePath(OTHER, ipv4(10, 99, 1, 2, 9993))).toBe(false);
    expect(node.shouldUsePath(PEER, ipv4(10, 98, 1, 2, 9993))).toBe(false);
    expect(node.shouldUsePath(OTHER, ipv4(10, 98, 1, 2, 9993))).toBe(true);
    expect(node.shouldUsePath(OTHER, ipv4(10, 97, 1, 2, 9993))).toBe(true);
    expect(node.trustedPathIds.size).toBe(1);
    expect(node.trustedPathIds.idOf(node.trustedPathIds.outbound(ipv4(10, 77, 0, 1, 9993)))).toBe(42n);
  });

  test("no path inside the managed range of a joined network (no ZeroTier over ZeroTier)", async () => {
    const node = svc.node.node;
    const inside = ipv4(10, 240, 0, 50, 9993);
    expect(node.shouldUsePath(OTHER, inside)).toBe(true);
    const addr = svc.identity.addressString;
    const created = await api("POST", `/controller/network/${addr}______`, {
      name: "pathcheck",
      private: false,
      ipAssignmentPools: [{ ipRangeStart: "10.240.0.10", ipRangeEnd: "10.240.0.20" }],
      routes: [{ target: "10.240.0.0/24", via: null }],
      v4AssignMode: { zt: true },
    });
    const nwid = created.id as string;
    await api("POST", `/network/${nwid}`);
    let status = "";
    for (let i = 0; i < 250 && status !== "OK"; i++) {
      status = (await api("GET", `/network/${nwid}`)).status as string;
      if (status !== "OK") await Bun.sleep(20);
    }
    expect(status).toBe("OK");
    expect(node.shouldUsePath(OTHER, inside)).toBe(false);
    expect(node.shouldUsePath(OTHER, ipv4(10, 241, 0, 50, 9993))).toBe(true);
    await api("DELETE", `/network/${nwid}`);
    expect(node.shouldUsePath(OTHER, inside)).toBe(true);
  }, 20_000);
});
