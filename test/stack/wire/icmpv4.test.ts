import { describe, expect, test } from "bun:test";
import {
  checkIcmp,
  emitEchoHeader,
  emitIcmpError,
  finishIcmp,
  ICMP_DEST_UNREACHABLE,
  ICMP_ECHO_REQUEST,
  icmpCode,
  icmpEchoId,
  icmpEchoSeq,
  icmpNextHopMtu,
  icmpType,
  isIcmpError,
  UNREACH_FRAG_NEEDED,
} from "../../../src/stack/wire/icmpv4.ts";

// Echo request id 0x0001 seq 0x0001 with "abcdefghijklmnopqrstuvwabcdefghi" (Windows ping), checksum 0x4d5a.
const WIN_PING = Uint8Array.from([
  0x08, 0x00, 0x4d, 0x5a, 0x00, 0x01, 0x00, 0x01, ...new TextEncoder().encode("abcdefghijklmnopqrstuvwabcdefghi"),
]);

describe("icmpv4", () => {
  test("verifies a known echo request and reads its fields", () => {
    expect(checkIcmp(WIN_PING, 0, WIN_PING.length)).toBe("ok");
    expect(icmpType(WIN_PING, 0)).toBe(ICMP_ECHO_REQUEST);
    expect(icmpEchoId(WIN_PING, 0)).toBe(1);
    expect(icmpEchoSeq(WIN_PING, 0)).toBe(1);
  });

  test("emitting the same echo reproduces its checksum", () => {
    const b = WIN_PING.slice();
    b[2] = 0;
    b[3] = 0;
    emitEchoHeader(b, 0, ICMP_ECHO_REQUEST, 1, 1);
    finishIcmp(b, 0, b.length);
    expect([...b]).toEqual([...WIN_PING]);
  });

  test("odd-length messages checksum correctly", () => {
    const b = new Uint8Array(8 + 3);
    emitEchoHeader(b, 0, ICMP_ECHO_REQUEST, 0xbeef, 9);
    b.set([1, 2, 3], 8);
    finishIcmp(b, 0, b.length);
    expect(checkIcmp(b, 0, b.length)).toBe("ok");
  });

  test("malformed messages are classified", () => {
    expect(checkIcmp(WIN_PING, 0, 7)).toBe("truncated");
    const c = WIN_PING.slice();
    c[10] ^= 1;
    expect(checkIcmp(c, 0, c.length)).toBe("bad-checksum");
  });

  test("error quotes the datagram and carries the next-hop MTU", () => {
    const orig = new Uint8Array(40);
    for (let i = 0; i < orig.length; i++) orig[i] = i;
    const b = new Uint8Array(64);
    const end = emitIcmpError(b, 4, ICMP_DEST_UNREACHABLE, UNREACH_FRAG_NEEDED, 1400, orig, 2, 28);
    expect(end).toBe(4 + 8 + 28);
    expect(checkIcmp(b, 4, end)).toBe("ok");
    expect(icmpCode(b, 4)).toBe(UNREACH_FRAG_NEEDED);
    expect(icmpNextHopMtu(b, 4)).toBe(1400);
    expect([...b.subarray(12, end)]).toEqual([...orig.subarray(2, 30)]);
  });

  test("error quoting from the same buffer copies correctly", () => {
    const b = new Uint8Array(100);
    for (let i = 0; i < 40; i++) b[i] = 100 + i;
    const end = emitIcmpError(b, 50, ICMP_DEST_UNREACHABLE, 3, 0, b, 0, 28);
    expect([...b.subarray(58, end)]).toEqual(Array.from({ length: 28 }, (_, i) => 100 + i));
  });

  test("error types", () => {
    expect(isIcmpError(3)).toBe(true);
    expect(isIcmpError(11)).toBe(true);
    expect(isIcmpError(12)).toBe(true);
    expect(isIcmpError(0)).toBe(false);
    expect(isIcmpError(8)).toBe(false);
    expect(isIcmpError(5)).toBe(false);
  });
});
