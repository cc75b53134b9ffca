import { describe, expect, test } from "bun:test";
import { macFromAddress } from "../../src/vl2/mac.ts";
import { rfc4193Address, sixPlaneAddress } from "../../src/vl2/managed-ipv6.ts";
import { NEIGHBOR_ADVERTISEMENT_LENGTH, emulateNeighborSolicitation } from "../../src/vl2/ndp-emulation.ts";
import { makeNetworkConfig } from "../../src/vl2/network-config.ts";

const NWID = 0x8056c2e21c000001n;
const SELF = 0x89e92ceee5;
const PEER = 0x1122334455;

function solicitation(target: Uint8Array): Uint8Array {
  const p = new Uint8Array(40 + 32);
  p[0] = 0x60;
  p[5] = 32;
  p[6] = 0x3a;
  p[7] = 0xff;
  p.set([0xfe, 0x80], 8);
  p.set([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, target[13]!, target[14]!, target[15]!], 24);
  p[40] = 0x87;
  p.set(target, 48);
  return p;
}

/** Independent ICMPv6 checksum check: the sum over pseudo-header and message must be 0xffff. */
function checksumOk(pkt: Uint8Array): boolean {
  let sum = 0;
  for (let i = 8; i < 40; i += 2) sum += (pkt[i]! << 8) | pkt[i + 1]!;
  sum += 32 + 58;
  for (let i = 40; i < 72; i += 2) sum += (pkt[i]! << 8) | pkt[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}

describe("NDP emulation", () => {
  const mine6 = sixPlaneAddress(NWID, SELF);
  const mine4193 = rfc4193Address(NWID, SELF);
  const nconf = makeNetworkConfig({ networkId: NWID, issuedTo: SELF, flags: 0x4, staticIps: [mine6, mine4193] });

  for (const [name, peerAddr, mine] of [
    ["6plane", sixPlaneAddress(NWID, PEER), mine6],
    ["rfc4193", rfc4193Address(NWID, PEER), mine4193],
  ] as const) {
    test(`${name}: a solicitation for another member's address is answered locally`, () => {
      const out = new Uint8Array(NEIGHBOR_ADVERTISEMENT_LENGTH);
      const ns = solicitation(peerAddr.ip);
      const r = emulateNeighborSolicitation(nconf, SELF, ns, 0, ns.length, out);
      expect(r).toEqual({ address: PEER, mac: macFromAddress(PEER, NWID) });
      expect([out[0], out[5], out[6], out[7], out[40], out[44], out[64], out[65]]).toEqual([0x60, 32, 0x3a, 0xff, 0x88, 0x60, 2, 1]);
      expect(Buffer.from(out.subarray(8, 24)).equals(Buffer.from(peerAddr.ip))).toBe(true);
      expect(Buffer.from(out.subarray(24, 40)).equals(Buffer.from(mine.ip))).toBe(true);
      expect(Buffer.from(out.subarray(48, 64)).equals(Buffer.from(peerAddr.ip))).toBe(true);
      expect(Buffer.from(out.subarray(66, 72)).toString("hex")).toBe(macFromAddress(PEER, NWID).toString(16).padStart(12, "0"));
      expect(checksumOk(out)).toBe(true);
    });
  }

  test("not answered: for ourselves, outside our prefixes, flag off, not a solicitation, too short", () => {
    const out = new Uint8Array(NEIGHBOR_ADVERTISEMENT_LENGTH);
    const self = solicitation(sixPlaneAddress(NWID, SELF).ip);
    expect(emulateNeighborSolicitation(nconf, SELF, self, 0, self.length, out)).toBeNull();
    const other = solicitation(sixPlaneAddress(NWID + 1n, PEER).ip);
    expect(emulateNeighborSolicitation(nconf, SELF, other, 0, other.length, out)).toBeNull();
    const ns = solicitation(sixPlaneAddress(NWID, PEER).ip);
    expect(emulateNeighborSolicitation({ ...nconf, flags: 0 }, SELF, ns, 0, ns.length, out)).toBeNull();
    expect(emulateNeighborSolicitation({ ...nconf, staticIps: [] }, SELF, ns, 0, ns.length, out)).toBeNull();
    const adv = ns.slice();
    adv[40] = 0x88;
    expect(emulateNeighborSolicitation(nconf, SELF, adv, 0, adv.length, out)).toBeNull();
    expect(emulateNeighborSolicitation(nconf, SELF, ns, 0, 63, out)).toBeNull();
  });
});
