import { describe, expect, test } from "bun:test";
import { hexToBytes, toHex } from "../../src/util/hex.ts";
import {
  type InetAddress,
  compareInetAddressLikeReference,
  decodeInetAddress,
  encodeInetAddress,
  inetAddressEquals,
  inetAddressFromString,
  inetAddressToString,
  ipv4,
  serializeInetAddress,
} from "../../src/vl1/inet-address.ts";

function parse(s: string): InetAddress {
  const a = inetAddressFromString(s);
  if (a === null) throw new Error(`did not parse: ${s}`);
  return a;
}

describe("binary form (spec 4.1)", () => {
  test("IPv4 and IPv6 encode as type, address, big-endian port", () => {
    expect(toHex(serializeInetAddress(parse("10.1.2.3/24")))).toBe("040a0102030018");
    expect(toHex(serializeInetAddress(parse("104.194.8.134/9993")))).toBe("0468c208862709");
    expect(toHex(serializeInetAddress(parse("2a02:6ea0:d405::9993/9993")))).toBe("062a026ea0d405000000000000000099932709");
    expect(toHex(serializeInetAddress(null))).toBe("00");
  });
  test("decode round trip at an offset", () => {
    const buf = new Uint8Array(40);
    const a = parse("2001:db8::1/443");
    const n = encodeInetAddress(a, buf, 5);
    expect(n).toBe(19);
    const r = decodeInetAddress(buf, 5, 5 + n);
    expect(r.ok && r.length === 19 && r.addr !== null && inetAddressEquals(r.addr, a)).toBe(true);
  });
  test("reserved types are skipped with the right length; unknown types and truncation are errors", () => {
    expect(decodeInetAddress(hexToBytes("00"), 0)).toEqual({ ok: true, addr: null, length: 1 });
    expect(decodeInetAddress(hexToBytes("01aabbccddeeff"), 0)).toEqual({ ok: true, addr: null, length: 7 });
    expect(decodeInetAddress(hexToBytes("02aabbccddeeff"), 0)).toEqual({ ok: true, addr: null, length: 7 });
    expect(decodeInetAddress(hexToBytes("030002abcd"), 0)).toEqual({ ok: true, addr: null, length: 5 });
    for (const bad of ["", "01aabb", "030005abcd", "03", "040a0102", "06" + "00".repeat(17), "05", "ff"]) {
      const r = decodeInetAddress(hexToBytes(bad), 0);
      expect({ bad, ok: r.ok }).toEqual({ bad, ok: false });
    }
    // the end bound is honoured even when the buffer is longer
    expect(decodeInetAddress(hexToBytes("0468c208862709"), 0, 6).ok).toBe(false);
  });
});

describe("text form ip/port", () => {
  const roundTrips = [
    "104.194.8.134/9993",
    "0.0.0.0/0",
    "255.255.255.255/65535",
    "2605:9880:200:1200:30:571:e34:51/9993",
    "2a02:6ea0:d405::9993/9993",
    "2001:49f0:d0db:2::2/9993",
    "::/0",
    "::1/1",
    "fe80::/2",
    "1:0:1:0:1:0:1:0/3",
    "::ffff:1.2.3.4/80",
  ];
  for (const s of roundTrips) test(`round trip ${s}`, () => expect(inetAddressToString(parse(s))).toBe(s));

  test("normalises like inet_ntop", () => {
    expect(inetAddressToString(parse("2001:0DB8:0000:0000:0000:0000:0000:0001/1"))).toBe("2001:db8::1/1");
    expect(inetAddressToString(parse("1:0:0:2:0:0:0:3/1"))).toBe("1:0:0:2::3/1");
    expect(inetAddressToString(parse("1:2:3:4:5:6:0:8/1"))).toBe("1:2:3:4:5:6:0:8/1");
    expect(inetAddressToString(parse("10.0.0.1"))).toBe("10.0.0.1/0");
  });

  const bad = [
    "",
    "/9993",
    "1.2.3/1",
    "1.2.3.4.5/1",
    "256.1.1.1/1",
    "01.2.3.4/1",
    "1.2.3.4/65536",
    "1.2.3.4/-1",
    "1.2.3.4/x",
    "1.2.3.4/",
    "host.example/9993",
    "1::2::3/1",
    "1:2:3:4:5:6:7:8:9/1",
    "1:2:3:4:5:6:7/1",
    "12345::/1",
    ":1:2:3:4:5:6:7/1",
    "g::1/1",
    "1.2.3.4::/1",
  ];
  for (const s of bad) test(`rejects "${s}"`, () => expect(inetAddressFromString(s)).toBeNull());
});

describe("reference sort order (genmoon)", () => {
  test("IPv4 before IPv6; then by byte-swapped port; IPv4 by address read little-endian", () => {
    const list = ["fd00::1/1", "10.0.0.2/9993", "10.0.0.1/9993", "9.0.0.3/9993", "10.0.0.1/1"].map(parse);
    list.sort(compareInetAddressLikeReference);
    // port 1 -> 0x0100 (256) sorts before 9993 (0x2709) -> 0x0927 (2343); 9.0.0.3 after 10.0.0.2 (last byte first)
    expect(list.map(inetAddressToString)).toEqual(["10.0.0.1/1", "10.0.0.1/9993", "10.0.0.2/9993", "9.0.0.3/9993", "fd00::1/1"]);
    expect(compareInetAddressLikeReference(ipv4(1, 2, 3, 4, 5), ipv4(1, 2, 3, 4, 5))).toBe(0);
  });
});
