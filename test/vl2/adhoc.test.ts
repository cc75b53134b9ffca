import { describe, expect, test } from "bun:test";
import { inetAddressToString } from "../../src/vl1/inet-address.ts";
import { adHocNetworkConfig } from "../../src/vl2/adhoc.ts";
import { encodeNetworkConfig, networkConfigFromBytes } from "../../src/vl2/network-config.ts";
import { ETHERTYPE_ARP, ETHERTYPE_IPV6 } from "../../src/vl2/rules-engine.ts";
import { FilterDecision, filterFrame } from "../../src/vl2/rules-filter.ts";
import { arpRequest, context, frameInfo, ipv6, tcp, udp, v6 } from "./rule-frames.ts";

const SELF = 0x89e92ceee5;

describe("ad-hoc networks", () => {
  test("ffSSSSEEEE000000: IPv6-only, ports SSSS..EEEE, 14 rules, as 1.14 builds it", () => {
    const r = adHocNetworkConfig(0xff00160050000000n, SELF, 1000);
    if (r.kind !== "config") throw new Error(r.kind);
    const nc = r.config;
    expect(nc.name).toBe("adhoc-0016-0050");
    expect(nc.rules.length).toBe(14);
    expect([nc.multicastLimit, nc.type, nc.flags, nc.mtu]).toEqual([0, 1, 4, 2800]);
    expect(nc.staticIps.map(inetAddressToString)).toEqual(["fcaf:16:89:e92c:eee5::1/40"]);
    const e = encodeNetworkConfig(nc);
    expect(e.ok && networkConfigFromBytes(e.value)).toEqual({ ok: true, value: { ...nc, rules: nc.rules } });

    const d = new FilterDecision();
    const src = v6("fd00::1");
    const dst = v6("fd00::2");
    const verdict = (payload: Uint8Array, et: number) => filterFrame(nc.rules, [], frameInfo(payload, et), context(), d).accept;
    expect(verdict(ipv6(6, src, dst, tcp(40000, 0x20, 0x002)), ETHERTYPE_IPV6)).toBe(1);
    expect(verdict(ipv6(6, src, dst, tcp(40000, 0x51, 0x002)), ETHERTYPE_IPV6)).toBe(0);
    expect(verdict(ipv6(6, src, dst, tcp(0x51, 40000, 0x012)), ETHERTYPE_IPV6)).toBe(1);
    expect(verdict(ipv6(6, src, dst, tcp(0x51, 40000, 0x010)), ETHERTYPE_IPV6)).toBe(1);
    expect(verdict(ipv6(17, src, dst, udp(5, 0x16)), ETHERTYPE_IPV6)).toBe(1);
    expect(verdict(ipv6(58, src, dst, [128, 0, 0, 0]), ETHERTYPE_IPV6)).toBe(1);
    expect(verdict(arpRequest([10, 0, 0, 1], [10, 0, 0, 2]), ETHERTYPE_ARP)).toBe(0);
  });

  test("ffAAhhhhhhhhhh01: IPv4 AA.x.y.z/8 from our address, accept-all, hub as bare specialist", () => {
    const r = adHocNetworkConfig(0xff0a112233445501n, SELF, 1000);
    if (r.kind !== "config") throw new Error(r.kind);
    expect(r.config.name).toBe("adhoc-10.0.0.0");
    expect(r.config.staticIps.map(inetAddressToString)).toEqual([expect.stringMatching(/^fc[0-9a-f:]+\/40$/), "10.44.238.229/8"]);
    expect(r.config.specialists).toEqual([0x1122334455n]);
    expect(r.config.multicastLimit).toBe(1024);
    const noHub = adHocNetworkConfig(0xff0a000000000001n, SELF, 1000);
    expect(noHub.kind === "config" && noHub.config.specialists).toEqual([]);
  });

  test("end before start → not found; other 0xff forms → nothing; normal IDs are not ad-hoc", () => {
    expect(adHocNetworkConfig(0xff00500016000000n, SELF, 0).kind).toBe("not-found");
    expect(adHocNetworkConfig(0xff00000000000002n, SELF, 0).kind).toBe("none");
    expect(adHocNetworkConfig(0x3bc65e2b50b151d2n, SELF, 0).kind).toBe("not-ad-hoc");
  });
});
