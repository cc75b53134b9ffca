import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ControllerResponder, parseConfigRequest } from "../../src/controller/responder.ts";
import { METADATA_1_14 } from "../../src/controller/request-metadata.ts";
import { fromHex } from "../../src/util/hex.ts";
import type { JsonObject } from "../../src/util/json.ts";
import { SeededRng } from "../../src/util/random.ts";
import { Identity } from "../../src/vl1/identity.ts";
import { ErrorCode, Verb } from "../../src/vl1/packet.ts";
import { ConfigAssembler } from "../../src/vl2/config-chunks.ts";
import { decodeNetworkCredentials } from "../../src/vl2/credentials/network-credentials.ts";
import { verifyRevocation } from "../../src/vl2/credentials/revocation.ts";
import { FIXTURES, openTestController, VECTOR_NWID } from "./helpers.ts";

function identity(file: string): Identity {
  const p = Identity.parse(readFileSync(join(FIXTURES, file), "utf8"));
  if (!p.ok) throw new Error(p.error);
  return p.identity;
}
const controllerId = identity("controller-3bc65e2b50.identity.secret");
const ztcap = identity("ztcap.identity.public");
const exchange = JSON.parse(readFileSync(join(FIXTURES, "ncr-exchange.json"), "utf8")) as { packets: { verb: string; payload: string }[] };
const realRequest = fromHex(exchange.packets.find((p) => p.verb === "NETWORK_CONFIG_REQUEST")!.payload)!;
const realConf = new Uint8Array(readFileSync(join(FIXTURES, "ztcap.conf")));

interface Sent {
  dest: number;
  verb: number;
  payload: Uint8Array;
}

const lab = {
  name: "ztlab",
  ipAssignmentPools: [{ ipRangeStart: "172.28.0.100", ipRangeEnd: "172.28.0.250" }],
  routes: [{ target: "172.28.0.0/16", via: null }],
  v4AssignMode: { zt: true },
};

async function setup(network: JsonObject | null) {
  const t = await openTestController();
  if (network !== null) await t.controller.postNetwork(VECTOR_NWID, network);
  const sent: Sent[] = [];
  const transport = { send: (dest: number, verb: number, payload: Uint8Array) => void sent.push({ dest, verb, payload: payload.slice() }) };
  const responder = new ControllerResponder(t.controller, controllerId, transport, new SeededRng(1), t.clock.now);
  responder.attach();
  return { ...t, sent, responder };
}

function assemble(chunks: Uint8Array[], self: number) {
  const asm = new ConfigAssembler(BigInt(`0x${VECTOR_NWID}`), self, () => controllerId.publicOnly());
  for (const c of chunks) {
    const r = asm.accept(c, 0, c.length, { from: controllerId.address, packetId: 1n, legacyAllowed: false });
    if (r.kind === "complete") return r;
    if (r.kind === "rejected") throw new Error(r.reason);
  }
  throw new Error("incomplete");
}

describe("ControllerResponder", () => {
  test("parses the real 1.14.1 request metadata", () => {
    const r = parseConfigRequest(realRequest, 0, realRequest.length);
    if (!r.ok) throw new Error(r.error);
    expect(r.networkId).toBe(0x3bc65e2b50b151d2n);
    expect(r.metadata).toEqual(METADATA_1_14);
    expect(parseConfigRequest(realRequest, 0, 7).ok).toBe(false);
    expect(parseConfigRequest(realRequest, 0, 20).ok).toBe(false); // dictionary cut short
  });

  test("answers the real request with OK(NCR) chunks that assemble to the config 1.14.1 sent", async () => {
    const { sent, responder, clock } = await setup({ ...lab, private: false });
    clock.t = 0x1a223ff4879; // ts of the config the real controller sent
    const d = await responder.onConfigRequest(ztcap, 0x1122334455667788n, realRequest, 0, realRequest.length);
    expect(d?.kind).toBe("ok");
    expect(sent.map((s) => [s.dest, s.verb])).toEqual([[ztcap.address, Verb.OK]]);
    const p = sent[0]!.payload;
    expect(p[0]).toBe(Verb.NETWORK_CONFIG_REQUEST);
    expect(new DataView(p.buffer).getBigUint64(1)).toBe(0x1122334455667788n);
    const r = assemble([p.subarray(9)], ztcap.address);
    expect(Buffer.from(r.dictionary).equals(Buffer.from(realConf))).toBe(true);
    expect(responder.stats.configsSent).toBe(1);
  });

  test("unknown network -> ERROR OBJ_NOT_FOUND; private unauthorized -> NETWORK_ACCESS_DENIED", async () => {
    const a = await setup(null);
    await a.responder.onConfigRequest(ztcap, 5n, realRequest, 0, realRequest.length);
    expect(a.sent).toHaveLength(1);
    expect(a.sent[0]!.verb).toBe(Verb.ERROR);
    expect(Buffer.from(a.sent[0]!.payload).toString("hex")).toBe("0b" + "0000000000000005" + "03" + VECTOR_NWID);
    expect(a.sent[0]!.payload[9]).toBe(ErrorCode.OBJ_NOT_FOUND);

    const b = await setup({ ...lab, private: true });
    await b.responder.onConfigRequest(ztcap, 6n, realRequest, 0, realRequest.length);
    expect(Buffer.from(b.sent[0]!.payload).toString("hex")).toBe("0b" + "0000000000000006" + "07" + VECTOR_NWID);
    expect(b.sent[0]!.payload[9]).toBe(ErrorCode.NETWORK_ACCESS_DENIED);
    expect(b.responder.stats.accessDenied).toBe(1);
  });

  test("authorize -> config; API change -> NETWORK_CONFIG push; deauthorize -> revocation to online members, no more configs", async () => {
    const { sent, responder, controller, clock } = await setup({ ...lab, private: true });
    const other = Identity.fromParts(0x1234567890, new Uint8Array(64).fill(3));
    for (const id of [ztcap, other]) await controller.postMember(VECTOR_NWID, id.addressString, { authorized: true });
    await responder.onConfigRequest(ztcap, 7n, realRequest, 0, realRequest.length);
    await controller.handleConfigRequest({ networkId: VECTOR_NWID, identity: other, metadata: METADATA_1_14 });
    expect(sent.map((s) => s.verb)).toEqual([Verb.OK]);
    sent.length = 0;

    await controller.postNetwork(VECTOR_NWID, { mtu: 1400 });
    await Bun.sleep(0);
    await controller.handleConfigRequest({ networkId: "0000000000000000", identity: ztcap, metadata: METADATA_1_14 }); // drain the queue
    const pushes = sent.filter((s) => s.verb === Verb.NETWORK_CONFIG);
    expect(pushes.map((s) => s.dest).sort()).toEqual([ztcap.address, other.address].sort());
    const pushed = assemble([pushes.find((s) => s.dest === ztcap.address)!.payload], ztcap.address);
    expect(pushed.config.mtu).toBe(1400);
    expect(pushed.config.revision).toBe(2);
    sent.length = 0;

    clock.advance(2000);
    await controller.postMember(VECTOR_NWID, ztcap.addressString, { authorized: false });
    await controller.handleConfigRequest({ networkId: "0000000000000000", identity: ztcap, metadata: METADATA_1_14 });
    const creds = sent.filter((s) => s.verb === Verb.NETWORK_CREDENTIALS);
    expect(creds.map((s) => s.dest).sort()).toEqual([ztcap.address, other.address].sort());
    const c = decodeNetworkCredentials(creds[0]!.payload);
    if (!c.ok) throw new Error(c.error);
    expect(c.value.revocations).toHaveLength(1);
    const rev = c.value.revocations[0]!;
    expect(rev.target).toBe(ztcap.address);
    expect(rev.threshold).toBe(clock.t);
    expect(verifyRevocation(rev, controllerId)).toBeNull();
    expect(sent.filter((s) => s.verb === Verb.NETWORK_CONFIG)).toEqual([]); // the revoked member gets no push
    sent.length = 0;
    clock.advance(60_000);
    await responder.onConfigRequest(ztcap, 8n, realRequest, 0, realRequest.length);
    expect(sent.map((s) => [s.verb, s.payload[9]])).toEqual([[Verb.ERROR, ErrorCode.NETWORK_ACCESS_DENIED]]);
  });

  test("deleting a network revokes every member's COM at the members that were online", async () => {
    const { sent, responder, controller } = await setup({ ...lab, private: false });
    await responder.onConfigRequest(ztcap, 7n, realRequest, 0, realRequest.length);
    await controller.postMember(VECTOR_NWID, "1234567890", { authorized: true }); // recorded, never online
    sent.length = 0;
    await controller.deleteNetwork(VECTOR_NWID);
    const creds = sent.filter((s) => s.verb === Verb.NETWORK_CREDENTIALS);
    expect(creds.map((s) => s.dest)).toEqual([ztcap.address, ztcap.address]);
    const targets = creds.map((s) => {
      const c = decodeNetworkCredentials(s.payload);
      if (!c.ok) throw new Error(c.error);
      return c.value.revocations[0]!.target;
    });
    expect(targets.sort()).toEqual([0x1234567890, ztcap.address].sort());
  });

  test("malformed requests are counted and answered with nothing", async () => {
    const { sent, responder } = await setup({ ...lab, private: false });
    const bad = realRequest.slice(0, 12);
    expect(await responder.onConfigRequest(ztcap, 9n, bad, 0, bad.length)).toBeNull();
    expect(sent).toEqual([]);
    expect(responder.stats.malformed).toBe(1);
  });
});
