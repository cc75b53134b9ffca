import { describe, expect, test } from "bun:test";
import { Identity } from "../../src/vl1/identity.ts";
import {
  type CertificateOfMembership,
  comAgrees,
  comIssuedTo,
  comTimestamp,
  decodeCom,
  encodeCom,
  makeCom,
  signCom,
  verifyCom,
} from "../../src/vl2/com.ts";
import { decodeNetworkCredentials, encodeNetworkCredentials } from "../../src/vl2/credentials/network-credentials.ts";
import { verifyCoo } from "../../src/vl2/credentials/certificate-of-ownership.ts";
import { networkConfigFromBytes } from "../../src/vl2/network-config.ts";
import { CAPTURES, controllerIdentity, controllerSecret, fixtureBytes, fixtureIdentity, quickIdentity, wirePackets } from "./fixtures.ts";

const NWID = 0x3bc65e2b50b151d2n;
const CTMD = 1800000;

function storedCom(dir: string, conf: string): CertificateOfMembership {
  const r = networkConfigFromBytes(fixtureBytes(dir, conf));
  if (!r.ok || r.value.com === null) throw new Error("no COM");
  return r.value.com;
}

describe("COM codec", () => {
  test("real COM re-encodes to the same bytes; every truncation is a clear error", () => {
    const com = storedCom("netconf", "member.conf");
    const bytes = encodeCom(com);
    expect(bytes.length).toBe(1 + 2 + 7 * 24 + 5 + 96);
    const back = decodeCom(bytes);
    expect(back.ok && back.value.length).toBe(bytes.length);
    expect(back.ok && encodeCom(back.value.com)).toEqual(bytes);
    for (let n = 0; n < bytes.length; n++) {
      const r = decodeCom(bytes, 0, n);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatch(/truncated|empty/);
    }
  });

  test("qualifier ids out of order and unknown format are refused", () => {
    const bytes = encodeCom(storedCom("netconf", "member.conf"));
    const swapped = bytes.slice();
    swapped.set(bytes.subarray(3 + 24, 3 + 48), 3);
    swapped.set(bytes.subarray(3, 3 + 24), 3 + 24);
    const r = decodeCom(swapped);
    expect(!r.ok && r.error).toContain("out of order");
    const f = bytes.slice();
    f[0] = 7;
    expect(decodeCom(f).ok).toBe(false);
  });

  test("an unsigned COM has no signature bytes and does not verify", () => {
    const member = fixtureIdentity("netconf", "member.identity.public");
    const com = makeCom(1000, CTMD, NWID, member);
    expect(encodeCom(com).length).toBe(1 + 2 + 7 * 24 + 5);
    expect(verifyCom(com, controllerIdentity())).toBe("COM is not signed");
  });
});

describe("COM signatures and agreement with real COMs", () => {
  const controller = controllerSecret();

  test("a COM we issue is byte-identical to the controller's for the same inputs (Ed25519 is deterministic)", () => {
    const real = storedCom("netconf", "member.conf");
    const member = fixtureIdentity("netconf", "member.identity.public");
    const ours = signCom(makeCom(comTimestamp(real), CTMD, NWID, member), controller);
    expect(encodeCom(ours)).toEqual(encodeCom(real));
  });

  test("tampering with any qualifier, the signer or the controller identity breaks verification", () => {
    const real = storedCom("netconf", "member.conf");
    const q = real.qualifiers.map((x) => ({ ...x }));
    q[0] = { ...q[0]!, value: q[0]!.value + 1n };
    expect(verifyCom({ ...real, qualifiers: q }, controllerIdentity())).toBe("COM signature invalid");
    expect(verifyCom({ ...real, signedBy: 0x1122334455 }, controllerIdentity())).toContain("network's controller");
    const other = quickIdentity(9);
    expect(verifyCom(real, other)).toContain("does not match");
  });

  for (const cap of CAPTURES) {
    test(`${cap}: the COMs exchanged in NETWORK_CREDENTIALS verify and agree pairwise; a COM we issue agrees with them`, () => {
      const creds = wirePackets(cap).filter((p) => p.verb === "NETWORK_CREDENTIALS");
      expect(creds.length).toBe(4);
      const who = new Map<string, Identity>([
        ["ztcap", fixtureIdentity(cap, "ztcap.identity.public")],
        ["ztpeer", fixtureIdentity(cap, "ztpeer.identity.public")],
        ["root", controllerIdentity()],
      ]);
      const pushed: { com: CertificateOfMembership; id: Identity }[] = [];
      for (const p of creds) {
        const bytes = new Uint8Array(Buffer.from(p.payload, "hex"));
        const r = decodeNetworkCredentials(bytes);
        if (!r.ok) throw new Error(r.error);
        expect(r.value.coms.length).toBe(1);
        expect(r.value.certificatesOfOwnership.length).toBe(1);
        expect(encodeNetworkCredentials(r.value)).toEqual(bytes);
        const com = r.value.coms[0]!;
        const id = who.get(p.src)!;
        expect(comIssuedTo(com)).toBe(id.address);
        expect(verifyCom(com, controllerIdentity())).toBeNull();
        expect(verifyCoo(r.value.certificatesOfOwnership[0]!, controllerIdentity())).toBeNull();
        pushed.push({ com, id });
      }
      for (const a of pushed) for (const b of pushed) expect(comAgrees(a.com, b.com, b.id)).toBe(true);

      // another member of the same network, issued by us under the same rules, agrees both ways
      const newcomer = quickIdentity(1);
      const ts = comTimestamp(pushed[0]!.com) + 60_000;
      const ours = signCom(makeCom(ts, CTMD, NWID, newcomer), controller);
      expect(verifyCom(ours, controllerIdentity())).toBeNull();
      for (const x of pushed) {
        expect(comAgrees(x.com, ours, newcomer)).toBe(true);
        expect(comAgrees(ours, x.com, x.id)).toBe(true);
        // the identity hash binds the COM to the full identity, not just the address
        expect(comAgrees(x.com, ours, x.id)).toBe(false);
      }
    });
  }

  test("disagreement: timestamps further apart than ctmd, another network, a COM without the hash", () => {
    const a = quickIdentity(2);
    const b = quickIdentity(3);
    const ts = 1795900262521;
    const mine = signCom(makeCom(ts, CTMD, NWID, a), controller);
    expect(comAgrees(mine, signCom(makeCom(ts + CTMD, CTMD, NWID, b), controller), b)).toBe(true);
    expect(comAgrees(mine, signCom(makeCom(ts + CTMD + 1, CTMD, NWID, b), controller), b)).toBe(false);
    expect(comAgrees(mine, signCom(makeCom(ts - CTMD - 1, CTMD, NWID, b), controller), b)).toBe(false);
    expect(comAgrees(mine, signCom(makeCom(ts, CTMD, NWID + 1n, b), controller), b)).toBe(false);
    const noHash = makeCom(ts, CTMD, NWID, b);
    expect(comAgrees(mine, { ...noHash, qualifiers: noHash.qualifiers.slice(0, 3) }, b)).toBe(false);
    // a legacy COM without hash qualifiers on my side only checks the three basic ones
    expect(comAgrees({ ...mine, qualifiers: mine.qualifiers.slice(0, 3) }, { ...noHash, qualifiers: noHash.qualifiers.slice(0, 3) }, b)).toBe(true);
    expect(comAgrees({ qualifiers: [], signedBy: 0, signature: null }, mine, a)).toBe(false);
  });
});
