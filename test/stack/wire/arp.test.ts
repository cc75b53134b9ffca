import { describe, expect, test } from "bun:test";
import {
  ARP_LEN,
  ARP_REPLY,
  ARP_REQUEST,
  arpOp,
  arpSenderIp,
  arpSenderMac,
  arpTargetIp,
  arpTargetMac,
  checkArp,
  emitArp,
} from "../../../src/stack/wire/arp.ts";

// A real ARP request (who-has 192.168.1.1 tell 192.168.1.100) as captured on a LAN.
const CAPTURED = Uint8Array.from([
  0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x00, 0x0c, 0x29, 0x3e, 0x5f, 0x11, 0xc0, 0xa8, 0x01, 0x64, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xa8, 0x01, 0x01,
]);

describe("arp", () => {
  test("reads a captured request", () => {
    expect(checkArp(CAPTURED, 0, CAPTURED.length)).toBe("ok");
    expect(arpOp(CAPTURED, 0)).toBe(ARP_REQUEST);
    expect(arpSenderMac(CAPTURED, 0)).toBe(0x000c293e5f11);
    expect(arpSenderIp(CAPTURED, 0)).toBe(0xc0a80164);
    expect(arpTargetMac(CAPTURED, 0)).toBe(0);
    expect(arpTargetIp(CAPTURED, 0)).toBe(0xc0a80101);
  });

  test("emit reproduces the captured bytes", () => {
    const b = new Uint8Array(ARP_LEN + 4);
    emitArp(b, 4, ARP_REQUEST, 0x000c293e5f11, 0xc0a80164, 0, 0xc0a80101);
    expect([...b.subarray(4)]).toEqual([...CAPTURED]);
  });

  test("reply round-trips", () => {
    const b = new Uint8Array(ARP_LEN);
    emitArp(b, 0, ARP_REPLY, 0x020000000002, 0x0afb0102, 0x020000000001, 0x0afb0101);
    expect(checkArp(b, 0, b.length)).toBe("ok");
    expect(arpOp(b, 0)).toBe(ARP_REPLY);
    expect(arpTargetMac(b, 0)).toBe(0x020000000001);
  });

  test("malformed packets are classified, never thrown", () => {
    expect(checkArp(CAPTURED, 0, 27)).toBe("truncated");
    expect(checkArp(CAPTURED, 5, CAPTURED.length)).toBe("truncated");
    const bad = (i: number, v: number) => {
      const c = CAPTURED.slice();
      c[i] = v;
      return checkArp(c, 0, c.length);
    };
    expect(bad(1, 6)).toBe("unsupported"); // htype IEEE 802
    expect(bad(2, 0x86)).toBe("unsupported"); // ptype not IPv4
    expect(bad(4, 8)).toBe("unsupported"); // hlen
    expect(bad(5, 16)).toBe("unsupported"); // plen
    expect(bad(7, 3)).toBe("unsupported"); // RARP op
  });
});
