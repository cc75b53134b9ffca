import { describe, expect, test } from "bun:test";
import {
  emitEthernet,
  ETH_BROADCAST,
  ethDst,
  ethSrc,
  ethType,
  isMulticastMac,
  macToString,
  parseMac,
  readMac,
  writeMac,
} from "../../../src/stack/wire/ethernet.ts";

describe("ethernet", () => {
  test("MAC round-trips through bytes and strings", () => {
    const mac = parseMac("02:1a:2b:3c:4d:5e")!;
    expect(mac).toBe(0x021a2b3c4d5e);
    const b = new Uint8Array(8);
    writeMac(b, 1, mac);
    expect([...b]).toEqual([0, 0x02, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0]);
    expect(readMac(b, 1)).toBe(mac);
    expect(macToString(mac)).toBe("02:1a:2b:3c:4d:5e");
    expect(macToString(ETH_BROADCAST)).toBe("ff:ff:ff:ff:ff:ff");
  });

  test("parseMac rejects malformed text", () => {
    expect(parseMac("02:1a:2b:3c:4d")).toBeNull();
    expect(parseMac("02:1a:2b:3c:4d:5g")).toBeNull();
    expect(parseMac("021a2b3c4d5e")).toBeNull();
  });

  test("group bit marks multicast and broadcast only", () => {
    expect(isMulticastMac(ETH_BROADCAST)).toBe(true);
    expect(isMulticastMac(parseMac("01:00:5e:00:00:01")!)).toBe(true);
    expect(isMulticastMac(parseMac("33:33:00:00:00:01")!)).toBe(true);
    expect(isMulticastMac(parseMac("02:00:00:00:00:01")!)).toBe(false);
    expect(isMulticastMac(parseMac("fe:ff:ff:ff:ff:ff")!)).toBe(false);
  });

  test("emit writes dst, src, type in order", () => {
    const b = new Uint8Array(20);
    emitEthernet(b, 3, ETH_BROADCAST, 0x020000000001, 0x0806);
    expect(ethDst(b, 3)).toBe(ETH_BROADCAST);
    expect(ethSrc(b, 3)).toBe(0x020000000001);
    expect(ethType(b, 3)).toBe(0x0806);
    expect([...b.subarray(3, 17)]).toEqual([255, 255, 255, 255, 255, 255, 2, 0, 0, 0, 0, 1, 8, 6]);
  });
});
