import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { hexToBytes, toHex } from "../../src/util/hex.ts";
import { SeededRng } from "../../src/util/random.ts";
import { hashcashDigest } from "../../src/vl1/identity-hashcash.ts";
import { IDENTITY_PUBLIC_SERIALIZED_LENGTH, IDENTITY_SECRET_SERIALIZED_LENGTH, Identity } from "../../src/vl1/identity.ts";

const FIX = join(import.meta.dir, "..", "fixtures", "vl1");
const json = (name: string): unknown => JSON.parse(readFileSync(join(FIX, name), "utf8"));

interface IdentityVector {
  address: string;
  identity_secret: string;
  identity_public: string;
  public_key_hex: string;
  private_key_hex: string;
}
interface InvalidIdentityVector {
  identity_public: string;
}
const identities = json("identities.json") as { valid_identities: IdentityVector[]; invalid_identities: InvalidIdentityVector[] };

interface SignatureVector {
  name: string;
  message_hex: string;
  signer_identity_public: string;
  signer_identity_secret: string;
  signature_hex: string;
  negative_checks: { case: string; signature_hex?: string; identity_public?: string }[];
}
const signatures = json("signatures.json") as { signatures: SignatureVector[] };

const known = json("identity-known.json") as {
  selftest: { known_good: { string: string }; known_bad: { string: string } };
  generated: {
    binary_public: string;
    binary_with_private: string;
    memory_hard_digest64: { hex: string };
    publicKeyHash_sha384: { hex: string };
    agree_with_itself_48: { hex: string };
    sign_ascii_hello: { hex: string };
  };
};

function mustParse(s: string): Identity {
  const r = Identity.parse(s);
  if (!r.ok) throw new Error(`fixture identity did not parse: ${r.error}`);
  return r.identity;
}

describe("identity vectors from zerotier-idtool 1.14.1", () => {
  test("fixture holds the 8 generated identities", () => {
    expect(identities.valid_identities.length).toBe(8);
    expect(identities.invalid_identities.length).toBe(2);
  });
  for (const v of identities.valid_identities) {
    test(`${v.address}: public and secret strings parse, validate and round-trip`, () => {
      const pub = mustParse(v.identity_public);
      const sec = mustParse(v.identity_secret);
      expect(pub.addressString).toBe(v.address);
      expect(pub.hasPrivate).toBe(false);
      expect(sec.hasPrivate).toBe(true);
      expect(toHex(sec.publicKey)).toBe(v.public_key_hex);
      expect(toHex(sec.privateKey!)).toBe(v.private_key_hex);
      expect(pub.toString()).toBe(v.identity_public);
      expect(sec.toString(true)).toBe(v.identity_secret);
      expect(sec.toString()).toBe(v.identity_public);
      expect(pub.toString(true)).toBe(v.identity_public);
      expect(pub.equals(sec)).toBe(true);
      expect(pub.locallyValidate()).toBe(true);
      expect(sec.locallyValidate()).toBe(true);
      // binary round trip with and without the private key
      const b1 = sec.serialize(false);
      const b2 = sec.serialize(true);
      expect(b1.length).toBe(IDENTITY_PUBLIC_SERIALIZED_LENGTH);
      expect(b2.length).toBe(IDENTITY_SECRET_SERIALIZED_LENGTH);
      const d1 = Identity.deserialize(b1);
      const d2 = Identity.deserialize(b2);
      if (!d1.ok || !d2.ok) throw new Error("deserialize failed");
      expect(d1.length).toBe(71);
      expect(d2.length).toBe(135);
      expect(d1.identity.hasPrivate).toBe(false);
      expect(d2.identity.toString(true)).toBe(v.identity_secret);
    });
  }
  for (const v of identities.invalid_identities) {
    test(`tampered key fails validation: ${v.identity_public.slice(0, 24)}…`, () => {
      const id = mustParse(v.identity_public); // parsing does not check the key
      expect(id.locallyValidate()).toBe(false);
    });
  }
});

describe("selftest and generated known answers", () => {
  const good = mustParse(known.selftest.known_good.string);
  test("known good validates, known bad does not", () => {
    expect(good.locallyValidate()).toBe(true);
    const bad = mustParse(known.selftest.known_bad.string);
    expect(bad.locallyValidate()).toBe(false);
  });
  test("memory-hard digest", () => {
    expect(toHex(hashcashDigest(good.publicKey))).toBe(known.generated.memory_hard_digest64.hex);
    // the shared scratch buffer must not leak state between calls
    expect(toHex(hashcashDigest(good.publicKey))).toBe(known.generated.memory_hard_digest64.hex);
  });
  test("binary forms", () => {
    expect(toHex(good.serialize(false))).toBe(known.generated.binary_public);
    expect(toHex(good.serialize(true))).toBe(known.generated.binary_with_private);
    const d = Identity.deserialize(hexToBytes(known.generated.binary_with_private));
    expect(d.ok && d.identity.toString(true)).toBe(known.selftest.known_good.string);
  });
  test("public key hash, agreement with itself, signature of 'hello'", () => {
    expect(toHex(good.publicKeyHash())).toBe(known.generated.publicKeyHash_sha384.hex);
    expect(toHex(good.agree(good))).toBe(known.generated.agree_with_itself_48.hex);
    const hello = new TextEncoder().encode("hello");
    const sig = good.sign(hello);
    expect(toHex(sig)).toBe(known.generated.sign_ascii_hello.hex);
    expect(good.publicOnly().verify(hello, sig)).toBe(true);
  });
});

describe("signature vectors from zerotier-idtool sign/verify", () => {
  for (const s of signatures.signatures) {
    test(s.name, () => {
      const msg = hexToBytes(s.message_hex);
      const sig = hexToBytes(s.signature_hex);
      const signer = mustParse(s.signer_identity_public);
      expect(signer.verify(msg, sig)).toBe(true);
      // Ed25519 is deterministic, so our signature must equal the reference's
      expect(toHex(mustParse(s.signer_identity_secret).sign(msg))).toBe(s.signature_hex);
      expect(s.negative_checks.length).toBe(4);
      for (const n of s.negative_checks) {
        if (n.signature_hex !== undefined) {
          expect(signer.verify(msg, hexToBytes(n.signature_hex))).toBe(false);
        } else if (n.identity_public !== undefined) {
          expect(mustParse(n.identity_public).verify(msg, sig)).toBe(false);
        } else {
          const longer = new Uint8Array(msg.length + 1);
          longer.set(msg);
          longer[msg.length] = 0x21;
          expect(signer.verify(longer, sig)).toBe(false);
        }
      }
      // wrong lengths are rejected, not thrown
      expect(signer.verify(msg, sig.subarray(0, 95))).toBe(false);
      expect(signer.verify(msg, new Uint8Array(97))).toBe(false);
    });
  }
});

describe("agreement is symmetric", () => {
  test("a.agree(b) == b.agree(a), 48 bytes, differs per pair", () => {
    const [v0, v1, v2] = identities.valid_identities as [IdentityVector, IdentityVector, IdentityVector];
    const a = mustParse(v0.identity_secret);
    const b = mustParse(v1.identity_secret);
    const c = mustParse(v2.identity_secret);
    const ab = a.agree(b.publicOnly());
    expect(ab.length).toBe(48);
    expect(toHex(b.agree(a.publicOnly()))).toBe(toHex(ab));
    expect(toHex(a.agree(c))).not.toBe(toHex(ab));
    expect(() => a.publicOnly().agree(b)).toThrow(/no private key/);
    expect(() => a.publicOnly().sign(new Uint8Array(1))).toThrow(/no private key/);
  });
});

describe("generation", () => {
  test("generated identities validate, round-trip, and are deterministic for a seeded RNG", () => {
    const a = Identity.generate(new SeededRng(1));
    expect(a.hasPrivate).toBe(true);
    expect(a.locallyValidate()).toBe(true);
    expect(hashcashDigest(a.publicKey)[0]!).toBeLessThan(17);
    const back = mustParse(a.toString(true));
    expect(back.toString(true)).toBe(a.toString(true));
    expect(back.locallyValidate()).toBe(true);
    // the private key really belongs to the public key: sign/verify and agree both work
    const msg = new Uint8Array([1, 2, 3]);
    expect(a.publicOnly().verify(msg, a.sign(msg))).toBe(true);
    const b = Identity.generate(new SeededRng(2));
    expect(b.address).not.toBe(a.address);
    expect(toHex(a.agree(b))).toBe(toHex(b.agree(a)));
    const again = Identity.generate(new SeededRng(1));
    expect(again.toString(true)).toBe(a.toString(true));
  });
});

describe("malformed identity strings", () => {
  const v = identities.valid_identities[0]!;
  const [addr, , pub, priv] = v.identity_secret.split(":") as [string, string, string, string];
  const cases: [string, string][] = [
    ["empty", ""],
    ["one field", addr],
    ["two fields", `${addr}:0`],
    ["five fields", `${addr}:0:${pub}:${priv}:00`],
    ["type 1", `${addr}:1:${pub}`],
    ["type 00", `${addr}:00:${pub}`],
    ["empty type", `${addr}::${pub}`],
    ["non-hex address", `zz${addr.slice(2)}:0:${pub}`],
    ["short address", `${addr.slice(1)}:0:${pub}`],
    ["long address", `0${addr}:0:${pub}`],
    ["reserved address 0000000000", `0000000000:0:${pub}`],
    ["reserved address ff…", `ff${addr.slice(2)}:0:${pub}`],
    ["reserved address FF… upper case", `FF${addr.slice(2)}:0:${pub}`],
    ["non-hex public key", `${addr}:0:${pub.slice(0, -1)}g`],
    ["short public key", `${addr}:0:${pub.slice(2)}`],
    ["long public key", `${addr}:0:${pub}00`],
    ["odd public key", `${addr}:0:${pub}0`],
    ["non-hex private key", `${addr}:0:${pub}:${priv.slice(0, -1)}x`],
    ["short private key", `${addr}:0:${pub}:${priv.slice(2)}`],
    ["empty private key", `${addr}:0:${pub}:`],
    ["inner space", `${addr}:0: ${pub}`],
  ];
  for (const [name, s] of cases) {
    test(`rejects ${name}`, () => {
      const r = Identity.parse(s);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.length).toBeGreaterThan(5);
      expect(Identity.fromString(s)).toBeNull();
    });
  }
  test("accepts upper-case hex and surrounding whitespace, writes lower case", () => {
    const id = mustParse(`\n ${v.identity_secret.toUpperCase()}\n`);
    expect(id.toString(true)).toBe(v.identity_secret);
  });
});

describe("malformed binary identities", () => {
  const good = mustParse(identities.valid_identities[0]!.identity_secret);
  test("truncation at every length is an error, not an exception", () => {
    const full = good.serialize(true);
    for (let n = 0; n < full.length; n++) {
      // includes n = 71, where privLen = 64 claims a key that is missing
      expect(Identity.deserialize(full.subarray(0, n)).ok).toBe(false);
    }
    const pubOnly = good.serialize(false);
    expect(Identity.deserialize(pubOnly.subarray(0, 70)).ok).toBe(false);
    expect(Identity.deserialize(pubOnly).ok).toBe(true);
  });
  test("wrong type and private key lengths are rejected", () => {
    const b = good.serialize(true);
    const t = b.slice();
    t[5] = 1;
    expect(Identity.deserialize(t)).toMatchObject({ ok: false });
    for (const len of [1, 32, 63, 65, 255]) {
      const p = b.slice();
      p[70] = len;
      expect(Identity.deserialize(p)).toMatchObject({ ok: false });
    }
  });
  test("offset and bounds are honoured", () => {
    const b = good.serialize(false);
    const big = new Uint8Array(b.length + 10);
    big.set(b, 7);
    const r = Identity.deserialize(big, 7, 7 + b.length);
    expect(r.ok && r.identity.equals(good)).toBe(true);
    expect(Identity.deserialize(big, 7, 7 + b.length - 1).ok).toBe(false);
    expect(Identity.deserialize(big, 20, 10).ok).toBe(false);
    expect(Identity.deserialize(big, 0, 1000).ok).toBe(false);
  });
  test("random garbage never throws", () => {
    const rng = new SeededRng(7);
    const buf = new Uint8Array(160);
    let parsed = 0;
    for (let i = 0; i < 2000; i++) {
      const n = rng.u32() % buf.length;
      rng.fill(buf, 0, n);
      if (i & 1) buf[5] = 0;
      const r = Identity.deserialize(buf, 0, n);
      if (r.ok) parsed++;
    }
    expect(parsed).toBeGreaterThan(0);
  });
});
