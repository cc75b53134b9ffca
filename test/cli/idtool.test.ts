import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hexToBytes, toHex } from "../../src/util/hex.ts";
import { Identity } from "../../src/vl1/identity.ts";
import { World } from "../../src/vl1/world.ts";
import { parseVanity, vanityMatches } from "../../src/cli/idtool/vanity.ts";

const IDTOOL = join(import.meta.dir, "..", "..", "src", "cli", "idtool.ts");
const FIX = join(import.meta.dir, "..", "fixtures", "vl1");
const dir = mkdtempSync(join(tmpdir(), "idtool-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
function idtool(...args: string[]): Run {
  const p = Bun.spawnSync([process.execPath, IDTOOL, ...args], { cwd: dir, env: { ...process.env, NO_COLOR: "1" } });
  return { code: p.exitCode ?? -1, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}
function file(name: string, content: string | Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}
/** Asserts failure the way the reference tool fails: exit status 1 and a message on stderr. */
function expectFailure(r: Run, message?: RegExp): void {
  expect(r.code).toBe(1);
  expect(r.stderr.trim().length).toBeGreaterThan(0);
  if (message) expect(r.stderr).toMatch(message);
}

const identities = JSON.parse(readFileSync(join(FIX, "identities.json"), "utf8")) as {
  valid_identities: { identity_public: string; identity_secret: string }[];
  invalid_identities: { identity_public: string }[];
};
const signatures = JSON.parse(readFileSync(join(FIX, "signatures.json"), "utf8")) as {
  signatures: { message_hex: string; signer_identity_public: string; signer_identity_secret: string; signature_hex: string }[];
};
const lab = JSON.parse(readFileSync(join(FIX, "lab-planet.json"), "utf8")) as {
  world_id: number;
  timestamp_ms: number;
  roots: { identity_public: string; stable_endpoints: { zt_string: string }[] }[];
  signing_keypair: { public_hex: string; private_hex: string };
};
const v0 = identities.valid_identities[0]!;
const v1 = identities.valid_identities[1]!;

describe("usage errors", () => {
  test("no command, unknown command and missing arguments exit 1 with a message", () => {
    expectFailure(idtool());
    expectFailure(idtool("frobnicate"), /Unknown command/);
    for (const cmd of ["validate", "getpublic", "sign", "verify", "initmoon", "genmoon", "mkworld"]) {
      expectFailure(idtool(cmd));
    }
    expectFailure(idtool("sign", v0.identity_secret));
    expectFailure(idtool("verify", v0.identity_public, "x"));
  });
  test("--help exits 0", () => {
    const r = idtool("--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("mkworld");
    const m = idtool("mkworld", "--help");
    expect(m.code).toBe(0);
    expect(m.stdout).toContain("stableEndpoints");
  });
});

describe("generate / validate / getpublic", () => {
  test("generate prints a valid secret identity", () => {
    const r = idtool("generate");
    expect(r.code).toBe(0);
    const id = Identity.fromString(r.stdout);
    expect(id).not.toBeNull();
    expect(r.stdout).toBe(id!.toString(true)); // no trailing newline, like the reference
    expect(id!.hasPrivate).toBe(true);
    expect(id!.locallyValidate()).toBe(true);
  });
  test("generate writes identity.secret (0600) and identity.public; validate accepts them", () => {
    const r = idtool("generate", "identity.secret", "identity.public");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("identity.secret written\nidentity.public written\n");
    expect(statSync(join(dir, "identity.secret")).mode & 0o777).toBe(0o600);
    const sec = readFileSync(join(dir, "identity.secret"), "utf8");
    const pub = readFileSync(join(dir, "identity.public"), "utf8");
    expect(Identity.fromString(sec)!.toString(false)).toBe(pub);
    const v = idtool("validate", "identity.secret");
    expect(v).toEqual({ code: 0, stdout: "identity.secret is a valid identity\n", stderr: "" });
    expect(idtool("getpublic", "identity.secret").stdout).toBe(pub);
  });
  test("vanity prefixes: parsing, matching, and impossible prefixes refused", () => {
    const p = parseVanity("0A");
    if ("error" in p) throw new Error(p.error);
    expect(vanityMatches(0x0a12345678, p)).toBe(true);
    expect(vanityMatches(0x0b12345678, p)).toBe(false);
    expect(vanityMatches(0x00a1234567, p)).toBe(false);
    for (const bad of ["", "xyz", "12345678901", "ff", "FF1", "0000000000"]) expect("error" in parseVanity(bad)).toBe(true);
    expectFailure(idtool("generate", "v.secret", "v.public", "ff"), /never match/);
    expectFailure(idtool("generate", "v.secret", "v.public", "nothex"), /invalid vanity prefix/);
  });
  test("generate into an unwritable place fails", () => {
    expectFailure(idtool("generate", join(dir, "no-such-dir", "x.secret")), /Error writing to/);
  });
  test("validate real identities (literal and file) and reject tampered ones", () => {
    const ok = idtool("validate", v0.identity_public);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe(`${v0.identity_public} is a valid identity\n`);
    file("v1.secret", v1.identity_secret);
    expect(idtool("validate", "v1.secret").code).toBe(0);
    for (const bad of identities.invalid_identities) {
      expectFailure(idtool("validate", bad.identity_public), /FAILED validation\./);
    }
  });
  test("malformed identities and unreadable files", () => {
    const cases = [
      `0000000000:0:${v0.identity_public.split(":")[2]}`,
      `ff${v0.identity_public.slice(2)}`,
      v0.identity_public.replace(":0:", ":1:"),
      v0.identity_public.slice(0, -2),
      `${v0.identity_secret}:00`,
      "no-such-file",
    ];
    for (const c of cases) {
      expectFailure(idtool("validate", c), /Identity argument invalid or file unreadable/);
      expectFailure(idtool("getpublic", c), /Identity argument invalid or file unreadable/);
    }
    file("garbage.secret", new Uint8Array([0, 1, 2, 255, 10]));
    expectFailure(idtool("validate", "garbage.secret"));
  });
  test("getpublic of a secret prints the exact public string", () => {
    const r = idtool("getpublic", v0.identity_secret);
    expect(r).toEqual({ code: 0, stdout: v0.identity_public, stderr: "" });
  });
});

describe("sign / verify", () => {
  const s = signatures.signatures[0]!;
  const msgPath = file("message.bin", hexToBytes(s.message_hex));
  test("sign reproduces the reference signature", () => {
    const r = idtool("sign", s.signer_identity_secret, msgPath);
    expect(r).toEqual({ code: 0, stdout: s.signature_hex, stderr: "" });
  });
  test("sign needs a private key and a readable file", () => {
    expectFailure(idtool("sign", s.signer_identity_public, msgPath), /does not contain a private key/);
    expectFailure(idtool("sign", s.signer_identity_secret, "missing.bin"), /is not readable/);
    expectFailure(idtool("sign", "nonsense", msgPath), /Identity argument invalid/);
  });
  test("verify accepts good signatures (hex or file) and rejects bad ones", () => {
    expect(idtool("verify", s.signer_identity_public, msgPath, s.signature_hex)).toEqual({
      code: 0,
      stdout: `${msgPath} signature valid\n`,
      stderr: "",
    });
    file("sig.hex", `${s.signature_hex}\n`);
    expect(idtool("verify", s.signer_identity_public, msgPath, "sig.hex").code).toBe(0);
    const flipped = (s.signature_hex[0] === "0" ? "1" : "0") + s.signature_hex.slice(1);
    expectFailure(idtool("verify", s.signer_identity_public, msgPath, flipped), /signature check FAILED/);
    expectFailure(idtool("verify", v1.identity_public, msgPath, s.signature_hex), /signature check FAILED/);
    expectFailure(idtool("verify", s.signer_identity_public, msgPath, "zz"), /signature check FAILED/);
    expectFailure(idtool("verify", s.signer_identity_public, msgPath, s.signature_hex.slice(0, 100)), /signature check FAILED/);
    expectFailure(idtool("verify", s.signer_identity_public, "missing.bin", s.signature_hex), /is not readable/);
  });
});

describe("initmoon / genmoon", () => {
  test("initmoon prints a moon definition; genmoon signs it into <id>.moon", () => {
    const pubPath = file("root.public", v0.identity_public);
    const init = idtool("initmoon", pubPath);
    expect(init.code).toBe(0);
    const def = JSON.parse(init.stdout) as Record<string, unknown> & { roots: { identity: string; stableEndpoints: string[] }[] };
    expect(def["worldType"]).toBe("moon");
    expect(def["id"]).toBe(v0.identity_public.slice(0, 10));
    expect(def["signingKey"]).toBe(def["updatesMustBeSignedBy"]);
    expect(def.roots[0]!.identity).toBe(v0.identity_public);
    def.roots[0]!.stableEndpoints = ["10.9.0.2/9993", "10.9.0.1/9993", "fd00::1/9993"];
    file("moon.json", JSON.stringify(def));
    const gen = idtool("genmoon", "moon.json");
    expect(gen.code).toBe(0);
    const name = `000000${v0.identity_public.slice(0, 10)}.moon`;
    expect(gen.stdout).toMatch(new RegExp(`^wrote ${name} \\(signed world with timestamp \\d+\\)\\n$`));
    const parsed = World.fromBytes(new Uint8Array(readFileSync(join(dir, name))));
    if (!parsed.ok) throw new Error(parsed.error);
    const w = parsed.world;
    expect(w.isMoon).toBe(true);
    expect(w.verifySignature(hexToBytes(def["signingKey"] as string))).toBe(true);
    expect(w.roots[0]!.identity.toString()).toBe(v0.identity_public);
    expect(w.roots[0]!.stableEndpoints.length).toBe(3);
  });
  test("genmoon rejects broken definitions", () => {
    const init = JSON.parse(idtool("initmoon", v0.identity_public).stdout) as Record<string, unknown>;
    const variants: [string, Record<string, unknown>, RegExp][] = [
      ["bad worldType", { ...init, worldType: "star" }, /worldType/],
      ["zero id", { ...init, id: "0" }, /id/],
      ["bad id", { ...init, id: "xyz" }, /id/],
      ["bad key", { ...init, signingKey_SECRET: "00" }, /signingKey_SECRET/],
      ["mismatched key", { ...init, signingKey: (init["signingKey"] as string).replace(/^../, "00") }, /does not match/],
      ["bad root identity", { ...init, roots: [{ identity: "nope", stableEndpoints: [] }] }, /root 0/],
      ["bad endpoint", { ...init, roots: [{ identity: v0.identity_public, stableEndpoints: ["1.2.3/4"] }] }, /endpoint/],
      ["no roots", { ...init, roots: [] }, /roots/],
    ];
    for (const [name, json, msg] of variants) {
      file(`${name}.json`, JSON.stringify(json));
      const r = idtool("genmoon", `${name}.json`);
      expect({ name, code: r.code }).toEqual({ name, code: 1 });
      expect(r.stderr).toMatch(msg);
    }
    file("notjson.json", "{ nope");
    expectFailure(idtool("genmoon", "notjson.json"), /cannot parse/);
    expectFailure(idtool("genmoon", "missing.json"), /cannot read/);
    expectFailure(idtool("initmoon", "not-an-identity"), /is not a valid identity/);
  });
});

describe("mkworld", () => {
  test("re-creates the lab planet byte for byte from JSON", () => {
    const json = {
      id: lab.world_id,
      timestamp: lab.timestamp_ms,
      signingKey: lab.signing_keypair.public_hex,
      signingKey_SECRET: lab.signing_keypair.private_hex,
      roots: lab.roots.map((r) => ({ identity: r.identity_public, stableEndpoints: r.stable_endpoints.map((e) => e.zt_string) })),
    };
    file("lab.json", JSON.stringify(json));
    const r = idtool("mkworld", "lab.json", "lab-planet");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("wrote lab-planet (257 bytes; planet 000000000496ed41");
    expect(toHex(new Uint8Array(readFileSync(join(dir, "lab-planet"))))).toBe(toHex(new Uint8Array(readFileSync(join(FIX, "lab-planet.bin")))));
  });
  test("--new-signing-key makes a template; with a root added, mkworld signs a planet", () => {
    const r = idtool("mkworld", "--new-signing-key", "new.json");
    expect(r.code).toBe(0);
    expect(statSync(join(dir, "new.json")).mode & 0o777).toBe(0o600);
    expectFailure(idtool("mkworld", "--new-signing-key", "new.json"), /already exists/);
    expectFailure(idtool("mkworld", "new.json"), /roots/); // template has no roots yet
    const t = JSON.parse(readFileSync(join(dir, "new.json"), "utf8")) as Record<string, unknown>;
    t["roots"] = [{ identity: v1.identity_public, stableEndpoints: ["192.0.2.1/9993"] }];
    file("new.json", JSON.stringify(t));
    const m = idtool("mkworld", "new.json");
    expect(m.code).toBe(0);
    const w = World.fromBytes(new Uint8Array(readFileSync(join(dir, "world.bin"))));
    if (!w.ok) throw new Error(w.error);
    expect(w.world.isPlanet).toBe(true);
    expect(w.world.id).toBe(BigInt(t["id"] as number));
    expect(w.world.verifySignature()).toBe(true);
    expect(toHex(w.world.updatesMustBeSignedBy)).toBe(t["signingKey"] as string);
  });
  test("key files in mkworld's .c25519 format and a separate next-revision key", () => {
    const signer = hexToBytes(lab.signing_keypair.public_hex + lab.signing_keypair.private_hex);
    file("previous.c25519", signer);
    const next = idtool("mkworld", "--new-signing-key", "next.json");
    expect(next.code).toBe(0);
    const nextKey = JSON.parse(readFileSync(join(dir, "next.json"), "utf8")) as { signingKey: string };
    file("current.pub", hexToBytes(nextKey.signingKey));
    file(
      "rev2.json",
      JSON.stringify({
        id: lab.world_id,
        timestamp: lab.timestamp_ms + 1,
        signingKeyFile: "previous.c25519",
        updatesMustBeSignedByFile: "current.pub",
        roots: [{ identity: v1.identity_public, stableEndpoints: ["10.77.0.9/9993"] }],
      }),
    );
    expect(idtool("mkworld", "rev2.json", "rev2.bin").code).toBe(0);
    const old = World.fromBytes(new Uint8Array(readFileSync(join(FIX, "lab-planet.bin"))));
    const rev2 = World.fromBytes(new Uint8Array(readFileSync(join(dir, "rev2.bin"))));
    if (!old.ok || !rev2.ok) throw new Error("parse");
    expect(old.world.shouldBeReplacedBy(rev2.world)).toBe(true);
    expect(toHex(rev2.world.updatesMustBeSignedBy)).toBe(nextKey.signingKey);
    file("short.c25519", new Uint8Array(100));
    file("badfile.json", JSON.stringify({ id: 5, signingKeyFile: "short.c25519", roots: [{ identity: v1.identity_public }] }));
    expectFailure(idtool("mkworld", "badfile.json"), /128 bytes/);
  });
  test("bad input", () => {
    expectFailure(idtool("mkworld", "missing.json"), /cannot read/);
    expectFailure(idtool("mkworld", "a.json", "--new-signing-key", "b.json"), /not both/);
    const five = Array.from({ length: 5 }, () => ({ identity: v0.identity_public, stableEndpoints: [] }));
    file("five.json", JSON.stringify({ id: 1, signingKey: lab.signing_keypair.public_hex, signingKey_SECRET: lab.signing_keypair.private_hex, roots: five }));
    expectFailure(idtool("mkworld", "five.json"), /too many roots/);
    const eps = Array.from({ length: 33 }, (_, i) => `10.0.0.${i}/1`);
    file("eps.json", JSON.stringify({ id: 1, signingKey: lab.signing_keypair.public_hex, signingKey_SECRET: lab.signing_keypair.private_hex, roots: [{ identity: v0.identity_public, stableEndpoints: eps }] }));
    expectFailure(idtool("mkworld", "eps.json"), /too many stable endpoints/);
    file("ts.json", JSON.stringify({ id: 1, timestamp: -5, signingKey: lab.signing_keypair.public_hex, signingKey_SECRET: lab.signing_keypair.private_hex, roots: [{ identity: v0.identity_public }] }));
    expectFailure(idtool("mkworld", "ts.json"), /timestamp/);
    file("arr.json", "[]");
    expectFailure(idtool("mkworld", "arr.json"), /must be an object/);
  });
});
