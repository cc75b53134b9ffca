import { describe, expect, test } from "bun:test";
import { fromHex, hex, loadVectors, toHex } from "../crypto/fixtures.ts";
import {
  CIPHER_AES_GMAC_SIV,
  CIPHER_POLY1305_NONE,
  CIPHER_SALSA2012_POLY1305,
  FLAG_ENCRYPTED,
  IDX_PAYLOAD,
  MAX_PACKET_FRAGMENTS,
  MAX_PACKET_LENGTH,
  DEFAULT_PHYSMTU,
  MIN_PACKET_LENGTH,
  PROTOCOL_VERSION,
  PROTOCOL_VERSION_MIN,
  VERB_NAMES,
  Verb,
  cipher,
  destination,
  flags,
  hops,
  incrementHops,
  isCompressed,
  isFragmented,
  packetIdBigInt,
  packetIdHi,
  packetIdLo,
  samePacketId,
  setCipher,
  setCompressed,
  setFragmented,
  setHops,
  setVerb,
  source,
  verb,
  verbName,
  writeHeader,
} from "../../src/vl1/packet.ts";

const vectors = loadVectors("vectors-generated.json");

describe("constants (spec 0, 3.6)", () => {
  test("protocol versions and sizes", () => {
    expect(PROTOCOL_VERSION).toBe(12);
    expect(PROTOCOL_VERSION_MIN).toBe(4);
    expect(MIN_PACKET_LENGTH).toBe(28);
    expect(IDX_PAYLOAD).toBe(28);
    expect(MAX_PACKET_LENGTH).toBe(MAX_PACKET_FRAGMENTS * DEFAULT_PHYSMTU);
  });

  test("verb table matches spec 4.0 and has no holes where codes are assigned", () => {
    expect(Verb.HELLO).toBe(1);
    expect(Verb.NETWORK_CONFIG_REQUEST).toBe(0x0b);
    expect(Verb.PUSH_DIRECT_PATHS).toBe(0x10);
    expect(Verb.PATH_NEGOTIATION_REQUEST).toBe(0x16);
    expect(VERB_NAMES.length).toBe(32);
    expect(VERB_NAMES.filter((n) => n !== null).length).toBe(21);
    expect(verbName(0x0d)).toBe("MULTICAST_GATHER");
    expect(verbName(0x0f)).toBeNull();
    expect(verbName(0x11)).toBeNull();
    expect(verbName(0x8d)).toBe("MULTICAST_GATHER"); // compressed bit ignored
  });
});

describe("header fields over the spec's packet vectors", () => {
  const plain = hex(vectors, "packet_armor.plain");
  const suite1 = hex(vectors, "packet_armor.suite1_salsa2012_poly1305");
  const suite3 = hex(vectors, "packet_armor.suite3_aes_gmac_siv");
  const suite0 = hex(vectors, "packet_armor.suite0_poly1305_none");

  test("id, addresses, verb of the plain packet", () => {
    expect(packetIdHi(plain, 0)).toBe(0x11223344);
    expect(packetIdLo(plain, 0)).toBe(0x55667788);
    expect(packetIdBigInt(plain, 0)).toBe(0x1122334455667788n);
    expect(destination(plain, 0)).toBe(0x0102030405);
    expect(source(plain, 0)).toBe(0x0a0b0c0d0e);
    expect(verb(plain, 0)).toBe(Verb.ECHO);
    expect(isCompressed(plain, 0)).toBe(false);
  });

  test("cipher bits as armored", () => {
    expect(cipher(suite0, 0)).toBe(CIPHER_POLY1305_NONE);
    expect(cipher(suite1, 0)).toBe(CIPHER_SALSA2012_POLY1305);
    expect(flags(suite1, 0) & FLAG_ENCRYPTED).toBe(FLAG_ENCRYPTED);
    expect(cipher(suite3, 0)).toBe(CIPHER_AES_GMAC_SIV);
    expect(flags(suite3, 0)).toBe(0x18);
  });

  test("high address byte is kept (40-bit addresses)", () => {
    const b = new Uint8Array(28);
    writeHeader(b, 0, 0xdeadbeef, 0x01020304, 0xfe12345678, 0x89abcdef01, Verb.WHOIS);
    expect(destination(b, 0)).toBe(0xfe12345678);
    expect(source(b, 0)).toBe(0x89abcdef01);
    expect(packetIdHi(b, 0)).toBe(0xdeadbeef);
    expect(packetIdLo(b, 0)).toBe(0x01020304);
  });
});

describe("writers", () => {
  test("writeHeader at an offset equals the vector header", () => {
    const plain = hex(vectors, "packet_armor.plain");
    const b = new Uint8Array(100).fill(0xaa);
    writeHeader(b, 7, 0x11223344, 0x55667788, 0x0102030405, 0x0a0b0c0d0e, Verb.ECHO);
    expect(toHex(b.subarray(7, 7 + 28))).toBe(toHex(plain.subarray(0, 28)));
    expect(b[6]).toBe(0xaa);
    expect(b[35]).toBe(0xaa);
  });

  test("setCipher sets the legacy flag only for suite 1 and keeps other bits", () => {
    const b = new Uint8Array(28);
    setFragmented(b, 0, true);
    setHops(b, 0, 5);
    setCipher(b, 0, CIPHER_SALSA2012_POLY1305);
    expect(flags(b, 0)).toBe(0x80 | 0x40 | 0x08 | 5);
    setCipher(b, 0, CIPHER_AES_GMAC_SIV);
    expect(flags(b, 0)).toBe(0x40 | 0x18 | 5);
    setCipher(b, 0, CIPHER_POLY1305_NONE);
    expect(flags(b, 0)).toBe(0x40 | 5);
    expect(isFragmented(b, 0)).toBe(true);
    setFragmented(b, 0, false);
    expect(flags(b, 0)).toBe(5);
  });

  test("hops: set, increment to the relay limit of 3, then refuse", () => {
    const b = fromHex("00".repeat(18) + "18" + "00".repeat(9));
    expect(hops(b, 0)).toBe(0);
    expect(incrementHops(b, 0)).toBe(1);
    expect(incrementHops(b, 0)).toBe(2);
    expect(incrementHops(b, 0)).toBe(3);
    expect(incrementHops(b, 0)).toBe(-1);
    expect(hops(b, 0)).toBe(3);
    expect(cipher(b, 0)).toBe(3);
  });

  test("verb and compressed bit are independent", () => {
    const b = new Uint8Array(28);
    setVerb(b, 0, Verb.MULTICAST_LIKE);
    setCompressed(b, 0, true);
    expect(b[27]).toBe(0x89);
    expect(verb(b, 0)).toBe(Verb.MULTICAST_LIKE);
    expect(isCompressed(b, 0)).toBe(true);
    setCompressed(b, 0, false);
    expect(b[27]).toBe(0x09);
  });

  test("samePacketId compares all 8 bytes", () => {
    const a = fromHex("0102030405060708");
    const b = fromHex("ff0102030405060708");
    expect(samePacketId(a, 0, b, 1)).toBe(true);
    b[8] = 9;
    expect(samePacketId(a, 0, b, 1)).toBe(false);
  });
});
