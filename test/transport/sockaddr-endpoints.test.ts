import { describe, expect, test } from "bun:test";
import { SockaddrEndpoints } from "../../src/transport/sockaddr-endpoints.ts";

function sin(ip: number[], port: number): Uint8Array {
  const b = new Uint8Array(16);
  b[0] = 2; // AF_INET, little-endian u16
  b[2] = port >> 8;
  b[3] = port & 255;
  b.set(ip, 4);
  return b;
}

function sin6(ip: number[], port: number): Uint8Array {
  const b = new Uint8Array(28);
  b[0] = 10; // AF_INET6
  b[2] = port >> 8;
  b[3] = port & 255;
  b.set(ip, 8);
  b[24] = 3; // a scope id: not part of the endpoint
  return b;
}

const V6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7];

describe("SockaddrEndpoints", () => {
  test("IPv4: family, address and port; the same object for the same endpoint", () => {
    const c = new SockaddrEndpoints();
    const a = c.get(sin([10, 1, 2, 3], 9993), 0, 16)!;
    expect(a.family).toBe(4);
    expect([...a.ip]).toEqual([10, 1, 2, 3]);
    expect(a.port).toBe(9993);
    expect(c.get(sin([10, 1, 2, 4], 9993), 0, 16)).not.toBe(a);
    expect(c.get(sin([10, 1, 2, 3], 9994), 0, 16)).not.toBe(a);
    expect(c.get(sin([10, 1, 2, 3], 9993), 0, 16)).toBe(a);
  });

  test("the address is a copy: reusing the receive buffer does not change it", () => {
    const c = new SockaddrEndpoints();
    const buf = sin([192, 168, 0, 1], 1);
    const a = c.get(buf, 0, 16)!;
    buf.set([9, 9, 9, 9], 4);
    expect([...a.ip]).toEqual([192, 168, 0, 1]);
  });

  test("IPv4-mapped IPv6 (a dual-stack socket's IPv4 peers) is IPv4, the same object as plain IPv4", () => {
    const c = new SockaddrEndpoints();
    const mapped = c.get(sin6([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1], 5), 0, 28)!;
    expect(mapped.family).toBe(4);
    expect([...mapped.ip]).toEqual([127, 0, 0, 1]);
    expect(c.get(sin([127, 0, 0, 1], 5), 0, 16)).toBe(mapped);
  });

  test("IPv6 at an offset inside a larger buffer; hash neighbours kept apart", () => {
    const c = new SockaddrEndpoints();
    const buf = new Uint8Array(100);
    buf.set(sin6(V6, 443), 40);
    const a = c.get(buf, 40, 28)!;
    expect(a.family).toBe(6);
    expect([...a.ip]).toEqual(V6);
    expect(a.port).toBe(443);
    const other = [...V6];
    other[15] = 8;
    const b = c.get(sin6(other, 443), 0, 28)!;
    expect(b).not.toBe(a);
    expect(c.get(sin6(V6, 443), 0, 28)).toBe(a);
    expect(c.get(sin6(other, 443), 0, 28)).toBe(b);
  });

  test("refused: another family, too short, outside the buffer", () => {
    const c = new SockaddrEndpoints();
    const unix = sin([1, 2, 3, 4], 1);
    unix[0] = 1; // AF_UNIX
    expect(c.get(unix, 0, 16)).toBeNull();
    expect(c.get(sin([1, 2, 3, 4], 1), 0, 8)).toBeNull();
    expect(c.get(sin6(V6, 1), 0, 20)).toBeNull();
    expect(c.get(sin([1, 2, 3, 4], 1), 4, 16)).toBeNull();
    expect(c.get(sin([1, 2, 3, 4], 1), -1, 16)).toBeNull();
  });

  test("bounded: past max endpoints it starts over, and answers stay right", () => {
    const c = new SockaddrEndpoints(4);
    const first = c.get(sin([10, 0, 0, 0], 1), 0, 16)!;
    for (let i = 1; i < 10; i++) expect(c.get(sin([10, 0, 0, i], 1), 0, 16)!.ip[3]).toBe(i);
    const again = c.get(sin([10, 0, 0, 0], 1), 0, 16)!;
    expect(again).not.toBe(first); // forgotten, made anew
    expect([...again.ip]).toEqual([10, 0, 0, 0]);
    for (let i = 0; i < 10; i++) {
      const ip = [...V6];
      ip[0] = i;
      expect(c.get(sin6(ip, 2), 0, 28)!.ip[0]).toBe(i);
    }
  });
});
