import { describe, expect, test } from "bun:test";
import { SeededRng } from "../../src/util/random.ts";
import { inetAddressFromString } from "../../src/vl1/inet-address.ts";
import { makeCom, signCom } from "../../src/vl2/com.ts";
import {
  type ChunkResult,
  type ChunkSource,
  ConfigAssembler,
  MAX_CONFIG_CHUNK_DATA,
  MAX_UPDATE_CHUNKS,
  makeConfigChunks,
  parseConfigChunk,
} from "../../src/vl2/config-chunks.ts";
import { NETWORK_CONFIG_DICT_CAPACITY } from "../../src/vl2/dictionary.ts";
import { encodeNetworkConfig, makeNetworkConfig } from "../../src/vl2/network-config.ts";
import { ACCEPT_ALL } from "../../src/vl2/rules.ts";
import { CAPTURES, controllerIdentity, controllerSecret, fixtureBytes, fixtureIdentity, quickIdentity, wirePackets } from "./fixtures.ts";

const NWID = 0x3bc65e2b50b151d2n;
const CONTROLLER = 0x3bc65e2b50;
const fromController: ChunkSource = { from: CONTROLLER, packetId: 1n, legacyAllowed: true };
const hexBytes = (h: string) => new Uint8Array(Buffer.from(h, "hex"));

function feed(a: ConfigAssembler, chunks: Uint8Array[], source = fromController): ChunkResult[] {
  return chunks.map((c) => a.accept(c, 0, c.length, source));
}

describe("real config chunks from the lab captures", () => {
  for (const cap of CAPTURES) {
    test(`${cap}: OK(NCR) and NETWORK_CONFIG chunks verify against the controller and assemble into the stored config`, () => {
      const member = fixtureIdentity(cap, "ztcap.identity.public");
      const stored = fixtureBytes(cap, "ztcap.conf");
      const pkts = wirePackets(cap).filter((p) => p.verb === "OK(NETWORK_CONFIG_REQUEST)" || p.verb === "NETWORK_CONFIG");
      expect(pkts.length).toBe(2);
      const results: ChunkResult[] = [];
      const assembled: Buffer[] = [];
      for (const p of pkts) {
        const a = new ConfigAssembler(NWID, member.address, controllerIdentity);
        const payload = hexBytes(p.payload);
        const start = p.verb === "NETWORK_CONFIG" ? 0 : 9;
        const parsed = parseConfigChunk(payload, start, payload.length);
        expect(parsed.ok && parsed.chunk.legacy).toBe(false);
        const r = a.accept(payload, start, payload.length, { ...fromController, legacyAllowed: p.verb !== "NETWORK_CONFIG" });
        results.push(r);
        expect(r.kind).toBe("complete");
        if (r.kind !== "complete") continue;
        expect(r.config.issuedTo).toBe(member.address);
        assembled.push(Buffer.from(r.dictionary));
        // a member that is not the recipient rejects it
        const other = new ConfigAssembler(NWID, 0x1122334455, controllerIdentity);
        const o = other.accept(payload, start, payload.length, fromController);
        expect(o.kind === "rejected" && o.reason).toContain("issued to another member");
      }
      expect(results.length).toBe(2);
      // the member stored exactly the dictionary it applied last (the newer of the two)
      expect(assembled.filter((d) => d.equals(Buffer.from(stored))).length).toBe(1);
    });
  }

  test("a single flipped bit anywhere in a real chunk is rejected, never thrown", () => {
    const p = wirePackets("aes-gmac-siv").find((x) => x.verb === "NETWORK_CONFIG")!;
    const good = hexBytes(p.payload);
    const rng = new SeededRng(7);
    let rejected = 0;
    for (let i = 0; i < 300; i++) {
      const bad = good.slice();
      const bit = rng.u32() % (bad.length * 8);
      bad[bit >> 3]! ^= 1 << (bit & 7);
      const a = new ConfigAssembler(NWID, 0xe09cc51f00, controllerIdentity);
      const r = a.accept(bad, 0, bad.length, fromController);
      // every byte is covered by the signature (flags included) or is the signature itself
      if (r.kind === "rejected") rejected++;
    }
    expect(rejected).toBe(300);
  });
});

describe("configs we build and sign", () => {
  const controller = controllerSecret();
  const member = quickIdentity(42);
  const ts = 1795900262521;
  const config = makeNetworkConfig({
    networkId: NWID,
    issuedTo: member.address,
    timestamp: ts,
    credentialTimeMaxDelta: 1800000,
    revision: 3,
    flags: 2,
    multicastLimit: 32,
    type: 0,
    name: "private lab",
    staticIps: [inetAddressFromString("172.28.0.77/16")!],
    routes: [{ target: inetAddressFromString("172.28.0.0/16")!, via: null, flags: 0, metric: 0 }],
    rules: ACCEPT_ALL,
    com: signCom(makeCom(ts, 1800000, NWID, member), controller),
  });
  const dict = (() => {
    const e = encodeNetworkConfig(config);
    if (!e.ok) throw new Error(e.error);
    return e.value;
  })();

  test("one chunk (as 1.14 sends small configs) round-trips", () => {
    const chunks = makeConfigChunks(NWID, dict, controller, 0x1234n);
    expect(chunks.length).toBe(1);
    const r = feed(new ConfigAssembler(NWID, member.address, controllerIdentity), chunks);
    expect(r[0]!.kind).toBe("complete");
    if (r[0]!.kind === "complete") expect(r[0]!.config).toEqual(config);
  });

  test("many small chunks, shuffled and duplicated, assemble once", () => {
    const chunks = makeConfigChunks(NWID, dict, controller, 0x55n, 37);
    expect(chunks.length).toBe(Math.ceil(dict.length / 37));
    const rng = new SeededRng(3);
    const order = [...chunks, ...chunks.slice(0, 5)];
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.u32() % (i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const a = new ConfigAssembler(NWID, member.address, controllerIdentity);
    const results = feed(a, order);
    const complete = results.filter((r) => r.kind === "complete");
    expect(complete.length).toBe(1);
    expect(results.filter((r) => r.kind === "duplicate").length).toBeLessThanOrEqual(5);
    if (complete[0]!.kind === "complete") expect(Buffer.from(complete[0]!.dictionary).equals(Buffer.from(dict))).toBe(true);
    expect(a.pending).toBe(0);
  });

  test("a big config (beyond one 9740-byte chunk) splits at 1.14's chunk size", () => {
    const big = makeNetworkConfig({ ...config, name: "x", rules: Array.from({ length: 1000 }, (_, i) => ({ type: 51 as const, not: false, or: false, start: BigInt(i), end: BigInt(i + 100), index: 14, format: 15 })) });
    const e = encodeNetworkConfig(big);
    if (!e.ok) throw new Error(e.error);
    const chunks = makeConfigChunks(NWID, e.value, controller, 9n);
    expect(chunks.length).toBe(Math.ceil(e.value.length / MAX_CONFIG_CHUNK_DATA));
    expect(chunks[0]!.length).toBe(MAX_CONFIG_CHUNK_DATA + 126);
    const r = feed(new ConfigAssembler(NWID, member.address, controllerIdentity), chunks.reverse());
    const last = r[r.length - 1]!;
    expect(last.kind === "complete" && last.config.rules.length).toBe(1000);
    expect(r.slice(0, -1).every((x) => x.kind === "incomplete")).toBe(true);
  });

  const reasonOf = (r: ChunkResult) => (r.kind === "rejected" ? r.reason : `not rejected: ${r.kind}`);

  test("forged: signed by another identity", () => {
    const forger = quickIdentity(5);
    const chunks = makeConfigChunks(NWID, dict, forger, 1n);
    expect(reasonOf(feed(new ConfigAssembler(NWID, member.address, controllerIdentity), chunks)[0]!)).toContain("signature invalid");
  });

  test("wrong network ID", () => {
    const chunks = makeConfigChunks(NWID + 1n, dict, controller, 1n);
    expect(reasonOf(feed(new ConfigAssembler(NWID, member.address, controllerIdentity), chunks)[0]!)).toContain("not 3bc65e2b50b151d2");
  });

  test("a correctly signed config that names another network inside", () => {
    const other = makeNetworkConfig({ ...config, networkId: NWID + 1n });
    const e = encodeNetworkConfig(other);
    if (!e.ok) throw new Error(e.error);
    const chunks = makeConfigChunks(NWID, e.value, controller, 1n);
    expect(reasonOf(feed(new ConfigAssembler(NWID, member.address, controllerIdentity), chunks)[0]!)).toContain("another network");
  });

  test("a correctly signed chunk of dictionary garbage is rejected with the config's reason", () => {
    for (const [garbage, reason] of [
      // 1.14 skips a line without '=' and reads "zz" as 0
      ["this is not a dictionary", "missing nwid"],
      ["v=7\nnwid=3bc65e2b50b151d2\nid=zz", "missing or invalid id"],
      ["v=7\nid=0102030405", "missing nwid"],
    ] as const) {
      const chunks = makeConfigChunks(NWID, new TextEncoder().encode(garbage), controller, 5n);
      expect(reasonOf(feed(new ConfigAssembler(NWID, member.address, controllerIdentity), chunks)[0]!)).toContain(reason);
    }
  });

  test("chunk index out of range, oversized total, total changing mid-update", () => {
    const a = new ConfigAssembler(NWID, member.address, controllerIdentity);
    const c = makeConfigChunks(NWID, dict, controller, 1n)[0]!;
    const p = 10 + dict.length;
    const outOfRange = c.slice();
    new DataView(outOfRange.buffer).setUint32(p + 13, 5);
    expect(reasonOf(a.accept(outOfRange, 0, outOfRange.length, fromController))).toContain("outside config");
    const oversized = c.slice();
    new DataView(oversized.buffer).setUint32(p + 9, NETWORK_CONFIG_DICT_CAPACITY);
    expect(reasonOf(a.accept(oversized, 0, oversized.length, fromController))).toContain("exceeds the dictionary capacity");
    const parts = makeConfigChunks(NWID, dict, controller, 77n, 100);
    expect(a.accept(parts[0]!, 0, parts[0]!.length, fromController).kind).toBe("incomplete");
    const liar = makeConfigChunks(NWID, dict.subarray(0, dict.length - 1), controller, 77n, 100);
    expect(reasonOf(a.accept(liar[1]!, 0, liar[1]!.length, fromController))).toContain("total length differs");
  });

  test("unknown controller identity, bad signature type, truncation → rejected", () => {
    const c = makeConfigChunks(NWID, dict, controller, 1n)[0]!;
    expect(reasonOf(new ConfigAssembler(NWID, member.address, () => null).accept(c, 0, c.length, fromController))).toContain("controller identity unknown");
    const a = new ConfigAssembler(NWID, member.address, controllerIdentity);
    const badType = c.slice();
    badType[10 + dict.length + 17] = 2;
    expect(reasonOf(a.accept(badType, 0, badType.length, fromController))).toContain("unsupported chunk signature");
    for (const cut of [0, 5, 9, 10 + dict.length - 1, c.length - 1, 10 + dict.length + 3]) {
      const r = a.accept(c, 0, cut, fromController);
      expect(r.kind).toBe("rejected");
    }
  });

  test("legacy unsigned single-chunk form only from the controller, never as a push", () => {
    const legacy = new Uint8Array(10 + dict.length);
    legacy.set(makeConfigChunks(NWID, dict, controller, 1n)[0]!.subarray(0, 10 + dict.length));
    const a = new ConfigAssembler(NWID, member.address, controllerIdentity);
    expect(reasonOf(a.accept(legacy, 0, legacy.length, { from: 0x1122334455, packetId: 9n, legacyAllowed: true }))).toContain("legacy");
    expect(reasonOf(a.accept(legacy, 0, legacy.length, { from: CONTROLLER, packetId: 9n, legacyAllowed: false }))).toContain("legacy");
    expect(a.accept(legacy, 0, legacy.length, { from: CONTROLLER, packetId: 9n, legacyAllowed: true }).kind).toBe("complete");
  });

  test(`at most ${MAX_UPDATE_CHUNKS} chunks per update and 3 updates in flight`, () => {
    const small = dict.subarray(0, 600);
    const chunks = makeConfigChunks(NWID, small, controller, 3n, 1);
    const a = new ConfigAssembler(NWID, member.address, controllerIdentity);
    const r = feed(a, chunks.slice(0, MAX_UPDATE_CHUNKS + 1));
    expect(r.slice(0, MAX_UPDATE_CHUNKS).every((x) => x.kind === "incomplete")).toBe(true);
    expect(reasonOf(r[MAX_UPDATE_CHUNKS]!)).toContain(`more than ${MAX_UPDATE_CHUNKS} chunks`);
    for (const id of [10n, 11n, 12n, 13n]) {
      const c = makeConfigChunks(NWID, dict, controller, id, 100)[0]!;
      a.accept(c, 0, c.length, fromController);
    }
    expect(a.pending).toBe(3);
  });

  test("thousands of random datagrams: rejected with a reason, no throw", () => {
    const rng = new SeededRng(11);
    const a = new ConfigAssembler(NWID, member.address, controllerIdentity);
    const good = makeConfigChunks(NWID, dict, controller, 1n, 200);
    for (let i = 0; i < 3000; i++) {
      const base = good[rng.u32() % good.length]!;
      const len = rng.u32() % (base.length + 20);
      const b = new Uint8Array(len);
      b.set(base.subarray(0, Math.min(len, base.length)));
      for (let k = 0; k < 1 + (rng.u32() % 4); k++) if (len > 0) b[rng.u32() % len] = rng.u32() & 0xff;
      if (i % 3 === 0 && len >= 8) b.subarray(0, 8).set(good[0]!.subarray(0, 8));
      const r = a.accept(b, 0, b.length, fromController);
      expect(r.kind === "complete").toBe(false);
      if (r.kind === "rejected") expect(r.reason.length).toBeGreaterThan(5);
    }
  });
});
