import { describe, expect, test } from "bun:test";
import { SeededRng } from "../../src/util/random.ts";
import { inetAddressToString } from "../../src/vl1/inet-address.ts";
import { addressInManagedIpv6, rfc4193Address, sixPlaneAddress } from "../../src/vl2/managed-ipv6.ts";
import { addressFromMac, isBroadcastMac, isMulticastMac, macFirstOctet, macFromAddress, macFromString, macToString, readMac, writeMac } from "../../src/vl2/mac.ts";
import {
  BROADCAST_GROUP,
  addressResolutionGroup,
  arpGroupForIpv4,
  compareMulticastGroups,
  multicastGroupKey,
  readMulticastGroup,
  writeMulticastGroup,
} from "../../src/vl2/multicast-group.ts";
import { controllerOf, isAdHocNetworkId, makeNetworkId, networkIdFromString, networkIdToString, networkNumberOf, readNetworkId, writeNetworkId } from "../../src/vl2/network-id.ts";
import { CAPTURES, fixtureIdentity, fixtureJson, wirePackets } from "./fixtures.ts";

const NWID = 0x3bc65e2b50b151d2n;

interface ApiNetwork {
  id: string;
  mac: string;
  assignedAddresses: string[];
  multicastSubscriptions: { adi: number; mac: string }[];
}

describe("network IDs", () => {
  test("controller = top 40 bits, text form, binary form", () => {
    expect(controllerOf(NWID)).toBe(0x3bc65e2b50);
    expect(networkNumberOf(NWID)).toBe(0xb151d2);
    expect(makeNetworkId(0x3bc65e2b50, 0xb151d2)).toBe(NWID);
    expect(networkIdToString(NWID)).toBe("3bc65e2b50b151d2");
    expect(networkIdToString(1n)).toBe("0000000000000001");
    expect(networkIdFromString("3BC65E2B50B151D2")).toBe(NWID);
    for (const bad of ["", "3bc65e2b50b151d", "3bc65e2b50b151d2f", "0000000000000000", "3bc65e2b50b151dx"]) expect(networkIdFromString(bad)).toBeNull();
    const b = new Uint8Array(8);
    writeNetworkId(b, 0, NWID);
    expect(Buffer.from(b).toString("hex")).toBe("3bc65e2b50b151d2");
    expect(readNetworkId(b, 0)).toBe(NWID);
    expect(isAdHocNetworkId(0xff00112233000000n)).toBe(true);
    expect(isAdHocNetworkId(NWID)).toBe(false);
  });
});

describe("MAC derivation (spec 6.2)", () => {
  test("spec worked example, including the 0x52 → 0x32 substitution", () => {
    expect(macToString(macFromAddress(0x89e92ceee5, 0x8056c2e21c000001n))).toBe("02:89:e9:30:0c:27");
    expect(macToString(macFromAddress(0x89e92ceee5, 0x8056c2e21c000053n))).toBe("32:89:e9:30:0c:27");
    expect(macFirstOctet(0x8056c2e21c000053n)).toBe(0x32);
  });

  const cases: [string, string, string][] = [
    ["netconf member", "netconf/member.identity.public", "netconf/member-local-api-network.json"],
    ...CAPTURES.map((c): [string, string, string] => [c, `${c}/ztcap.identity.public`, `${c}/ztcap-local-api-network.json`]),
  ];
  for (const [label, idFile, apiFile] of cases) {
    test(`${label}: MAC matches the local API, and maps back to the address`, () => {
      const id = fixtureIdentity(...idFile.split("/"));
      const api = fixtureJson(...apiFile.split("/")) as ApiNetwork;
      const nwid = networkIdFromString(api.id)!;
      const mac = macFromAddress(id.address, nwid);
      expect(macToString(mac)).toBe(api.mac);
      expect(addressFromMac(mac, nwid)).toBe(id.address);
    });
  }

  test("reverse mapping refuses MACs of other first octets; random round trips", () => {
    expect(addressFromMac(0x0200000000ff, NWID)).toBeNull();
    const rng = new SeededRng(8);
    for (let i = 0; i < 500; i++) {
      const a = (rng.u32() % 0xff) * 0x100000000 + rng.u32();
      const n = (BigInt(rng.u32()) << 32n) | BigInt(rng.u32());
      const m = macFromAddress(a, n);
      expect(isMulticastMac(m)).toBe(false);
      expect(addressFromMac(m, n)).toBe(a);
    }
  });

  test("MAC text and binary forms, multicast/broadcast bits", () => {
    expect(macFromString("d2:8c:00:26:15:9f")).toBe(0xd28c0026159f);
    expect(macFromString("d2:8c:00:26:15")).toBeNull();
    const b = new Uint8Array(6);
    writeMac(b, 0, 0xd28c0026159f);
    expect(readMac(b, 0)).toBe(0xd28c0026159f);
    expect(isMulticastMac(0x01005e000001)).toBe(true);
    expect(isBroadcastMac(0xffffffffffff)).toBe(true);
    expect(isBroadcastMac(0x01005e000001)).toBe(false);
  });
});

describe("multicast groups", () => {
  for (const cap of CAPTURES) {
    test(`${cap}: the groups ztcap announced in MULTICAST_LIKE are its local API subscriptions plus ARP/broadcast groups`, () => {
      const api = fixtureJson(cap, "ztcap-local-api-network.json") as ApiNetwork;
      const likes = wirePackets(cap).filter((p) => p.verb === "MULTICAST_LIKE" && p.src === "ztcap");
      const seen = new Set<string>();
      for (const p of likes) {
        const b = new Uint8Array(Buffer.from(p.payload, "hex"));
        expect(b.length % 18).toBe(0);
        for (let o = 0; o < b.length; o += 18) {
          expect(readNetworkId(b, o)).toBe(NWID);
          seen.add(multicastGroupKey(readMulticastGroup(b, o + 8)));
        }
      }
      for (const s of api.multicastSubscriptions) expect(seen.has(multicastGroupKey({ mac: macFromString(s.mac)!, adi: s.adi }))).toBe(true);
      const ip = api.assignedAddresses[0]!.split("/")[0]!.split(".").map(Number);
      expect(seen.has(multicastGroupKey(arpGroupForIpv4(Uint8Array.from(ip))))).toBe(true);
      expect(seen.has(multicastGroupKey(BROADCAST_GROUP))).toBe(true);
      expect(seen.size).toBe(api.multicastSubscriptions.length + 2);
    });
  }

  test("address-resolution groups, ordering, binary form", () => {
    expect(arpGroupForIpv4(Uint8Array.of(172, 28, 0, 124))).toEqual({ mac: 0xffffffffffff, adi: 0xac1c007c });
    const v6 = new Uint8Array(16);
    v6.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x26, 0x15, 0x9f]);
    expect(addressResolutionGroup(v6)).toEqual({ mac: 0x3333ff26159f, adi: 0 });
    expect(addressResolutionGroup(new Uint8Array(5))).toBeNull();
    expect(compareMulticastGroups({ mac: 1, adi: 5 }, { mac: 2, adi: 0 })).toBeLessThan(0);
    expect(compareMulticastGroups({ mac: 2, adi: 5 }, { mac: 2, adi: 1 })).toBeGreaterThan(0);
    const b = new Uint8Array(10);
    writeMulticastGroup(b, 0, { mac: 0xffffffffffff, adi: 0xac1c007c });
    expect(Buffer.from(b).toString("hex")).toBe("ffffffffffffac1c007c");
    expect(readMulticastGroup(b, 0)).toEqual({ mac: 0xffffffffffff, adi: 0xac1c007c });
  });
});

describe("managed IPv6 (spec 6.14)", () => {
  test("worked example: rfc4193 and 6plane for nwid 8056c2e21c000001, address 89e92ceee5", () => {
    const r = rfc4193Address(0x8056c2e21c000001n, 0x89e92ceee5);
    const s = sixPlaneAddress(0x8056c2e21c000001n, 0x89e92ceee5);
    expect(inetAddressToString(r)).toBe("fd80:56c2:e21c:0:199:9389:e92c:eee5/88");
    expect(inetAddressToString(s)).toBe("fc9c:56c2:e389:e92c:eee5::1/40");
    expect(addressInManagedIpv6(r.ip, 0, 11)).toBe(0x89e92ceee5);
    expect(addressInManagedIpv6(s.ip, 0, 5)).toBe(0x89e92ceee5);
  });
});
