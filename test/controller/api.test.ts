import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { controllerRoutes } from "../../src/controller/api.ts";
import { FileStore } from "../../src/controller/file-store.ts";
import { METADATA_1_14 } from "../../src/controller/request-metadata.ts";
import { Router } from "../../src/util/router.ts";
import type { JsonObject, JsonValue } from "../../src/util/json.ts";
import { Identity } from "../../src/vl1/identity.ts";
import { fixture, jsonType, openTestController, TestClock, tmpDir, VECTOR_CONTROLLER, VECTOR_NWID } from "./helpers.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function setup() {
  const dir = tmpDir("ztnc-ctl-api-");
  dirs.push(dir);
  const clock = new TestClock(1795899642817);
  const store = new FileStore(join(dir, "controller.d"));
  const { controller } = await openTestController({ store, clock });
  const router = new Router();
  controllerRoutes(router, controller, clock.now);
  const call = async (method: string, path: string, body: JsonValue = null) => {
    const m = router.match(method, path);
    if (m === null || m === "methodMismatch") return { status: m === null ? 404 : 405, json: {} as JsonValue };
    const r = await m.handler({ method, path, params: m.params, query: new URLSearchParams(), body });
    return { status: r.status, json: r.json ?? null };
  };
  return { dir, clock, store, controller, call };
}

const vectorNetworkBody = {
  name: "ztlab",
  private: false,
  ipAssignmentPools: [{ ipRangeStart: "172.28.0.100", ipRangeEnd: "172.28.0.250" }],
  routes: [{ target: "172.28.0.0/16", via: null }],
  v4AssignMode: { zt: true },
};

function expectSameShape(ours: JsonObject, real: JsonObject): void {
  expect(Object.keys(ours).sort()).toEqual(Object.keys(real).sort());
  for (const k of Object.keys(real)) {
    // remoteTraceTarget/lastAuthorizedCredential are null in both; the rest must agree on type
    expect(`${k}:${jsonType(ours[k])}`).toBe(`${k}:${jsonType(real[k])}`);
  }
}

describe("controller API shapes match zerotier-one 1.14.1", () => {
  test("GET /controller", async () => {
    const { call } = await setup();
    const r = await call("GET", "/controller");
    expect(r.status).toBe(200);
    const real = fixture("controller-status.json");
    expectSameShape(r.json as JsonObject, real);
    expect(r.json).toEqual({ ...real, clock: 1795899642817 });
  });

  test("POST a network with the lab's settings gives the real record exactly", async () => {
    const { call } = await setup();
    const r = await call("POST", `/controller/network/${VECTOR_NWID}`, vectorNetworkBody);
    expect(r.status).toBe(200);
    const real = fixture("controller-network-3bc65e2b50b151d2.json");
    expectSameShape(r.json as JsonObject, real);
    expect(r.json).toEqual(real);
    expect(JSON.stringify(r.json)).toBe(JSON.stringify(real)); // same key order too
    expect((await call("GET", `/controller/network/${VECTOR_NWID}`)).json).toEqual(real);
    expect((await call("GET", "/controller/network")).json).toEqual([VECTOR_NWID]);
  });

  test("a member's first config request yields the real member record (public network)", async () => {
    const { call, controller, clock } = await setup();
    await call("POST", `/controller/network/${VECTOR_NWID}`, vectorNetworkBody);
    const real = fixture("controller-member-ddb1763ec1.json");
    clock.t = real.creationTime as number;
    const parsed = Identity.parse(real.identity as string);
    if (!parsed.ok) throw new Error(parsed.error);
    const d = await controller.handleConfigRequest({ networkId: VECTOR_NWID, identity: parsed.identity, metadata: METADATA_1_14 });
    expect(d.kind).toBe("ok");
    const r = await call("GET", `/controller/network/${VECTOR_NWID}/member/ddb1763ec1`);
    expectSameShape(r.json as JsonObject, real);
    // Same address from the pool as the real controller picked, same revision, same everything.
    expect(r.json).toEqual(real);
    const capture = fixture("capture-member-ztcap.json");
    expectSameShape(r.json as JsonObject, capture);
  });

  test("the root's own member (authorized by API, manual IP) has the real shape", async () => {
    const { call, controller } = await setup();
    await call("POST", `/controller/network/${VECTOR_NWID}`, vectorNetworkBody);
    const real = fixture("controller-member-3bc65e2b50-root.json");
    const p = await call("POST", `/controller/network/${VECTOR_NWID}/member/3bc65e2b50`, { authorized: true, ipAssignments: ["172.28.0.1"] });
    expect(p.status).toBe(200);
    expect((p.json as JsonObject).lastAuthorizedCredentialType).toBe("api");
    const id = Identity.parse(real.identity as string);
    if (!id.ok) throw new Error(id.error);
    const d = await controller.handleConfigRequest({ networkId: VECTOR_NWID, identity: id.identity, metadata: METADATA_1_14 });
    if (d.kind !== "ok") throw new Error(d.kind);
    expect(d.staticIps.map((a) => `${a.ip.join(".")}/${a.port}`)).toEqual(["172.28.0.1/16"]);
    const r = (await call("GET", `/controller/network/${VECTOR_NWID}/member/3bc65e2b50`)).json as JsonObject;
    expectSameShape(r, real);
    const norm = (m: JsonObject) => ({ ...m, creationTime: 0, lastAuthorizedTime: 0, revision: 0 });
    expect(norm(r)).toEqual(norm(real));
  });

  test("member list is {address: revision}", async () => {
    const { call } = await setup();
    await call("POST", `/controller/network/${VECTOR_NWID}`, vectorNetworkBody);
    await call("POST", `/controller/network/${VECTOR_NWID}/member/ddb1763ec1`, { authorized: true });
    await call("POST", `/controller/network/${VECTOR_NWID}/member/ddb1763ec1`, { name: "x" });
    await call("POST", `/controller/network/${VECTOR_NWID}/member/10508397af`, {});
    const r = await call("GET", `/controller/network/${VECTOR_NWID}/member`);
    expect(r.json).toEqual({ "10508397af": 1, ddb1763ec1: 2 });
    const real = fixture("controller-member-list.json");
    for (const v of Object.values(real)) expect(typeof v).toBe("number");
  });
});

describe("controller API behaviour", () => {
  test("create with the <address>______ form picks a random suffix under our address", async () => {
    const { call } = await setup();
    const r = await call("POST", `/controller/network/${VECTOR_CONTROLLER}______`, { name: "n1" });
    expect(r.status).toBe(200);
    const id = (r.json as JsonObject).id as string;
    expect(id).toMatch(/^3bc65e2b50[0-9a-f]{6}$/);
    expect(id.endsWith("000000")).toBe(false);
    expect((r.json as JsonObject).private).toBe(true);
    expect((r.json as JsonObject).revision).toBe(1);
    const r2 = await call("POST", "/controller/network", { name: "n2" });
    expect(r2.status).toBe(200);
    expect((r2.json as JsonObject).id).not.toBe(id);
    expect(((await call("GET", "/controller/network")).json as string[]).length).toBe(2);
    expect((await call("POST", "/controller/network/0123456789______", {})).status).toBe(400);
  });

  test("revision grows only when something changes", async () => {
    const { call } = await setup();
    const n = `/controller/network/${VECTOR_NWID}`;
    expect(((await call("POST", n, { name: "a" })).json as JsonObject).revision).toBe(1);
    expect(((await call("POST", n, { name: "a" })).json as JsonObject).revision).toBe(1);
    expect(((await call("POST", n, { name: "b" })).json as JsonObject).revision).toBe(2);
    const m = `${n}/member/ddb1763ec1`;
    expect(((await call("POST", m, { authorized: true })).json as JsonObject).revision).toBe(1);
    expect(((await call("POST", m, { authorized: true })).json as JsonObject).revision).toBe(1);
    const deauth = (await call("POST", m, { authorized: false })).json as JsonObject;
    expect(deauth.revision).toBe(2);
    expect(deauth.lastDeauthorizedTime).toBe(1795899642817);
  });

  test("POST normalises values as the reference stores them", async () => {
    const { call } = await setup();
    const r = await call("POST", `/controller/network/${VECTOR_NWID}`, {
      v6AssignMode: "rfc4193,6plane",
      routes: [{ target: "fd00:0:0:0:0:0:0:0/8", via: "fd00::1" }],
      rules: [{ type: "MATCH_ETHERTYPE", etherType: 2048, not: true }, { type: "ACTION_DROP" }, { type: "ACTION_ACCEPT" }],
      tags: [{ id: 5, default: 1 }, { id: 2 }],
      capabilities: [{ id: 9, default: true, rules: [{ type: "ACTION_ACCEPT" }] }],
      dns: { domain: "zt.example", servers: ["10.0.0.1"] },
      authTokens: { s3cret: 0 },
    });
    expect(r.status).toBe(200);
    const j = r.json as JsonObject;
    expect(j.v6AssignMode).toEqual({ "6plane": true, rfc4193: true, zt: false });
    expect(j.routes).toEqual([{ target: "fd00::/8", via: "fd00::1" }]);
    expect(j.rules).toEqual([
      { etherType: 2048, not: true, or: false, type: "MATCH_ETHERTYPE" },
      { not: false, or: false, type: "ACTION_DROP" },
      { not: false, or: false, type: "ACTION_ACCEPT" },
    ]);
    expect(j.tags).toEqual([{ default: null, id: 2 }, { default: 1, id: 5 }]);
    expect(j.capabilities).toEqual([{ default: true, id: 9, rules: [{ not: false, or: false, type: "ACTION_ACCEPT" }] }]);
    expect(j.dns).toEqual({ domain: "zt.example", servers: ["10.0.0.1"] });
    expect(j.authTokens).toEqual({ s3cret: 0 });
  });

  test("bad input is a 400 with a message and nothing is stored", async () => {
    const { call, dir } = await setup();
    const n = `/controller/network/${VECTOR_NWID}`;
    await call("POST", n, vectorNetworkBody);
    await call("POST", `${n}/member/ddb1763ec1`, { authorized: true });
    const before = JSON.stringify([(await call("GET", n)).json, (await call("GET", `${n}/member/ddb1763ec1`)).json]);
    const files = () => readdirSync(join(dir, "controller.d/network"), { recursive: true }).map(String).sort();
    const filesBefore = files();
    const badNetwork: [JsonValue, RegExp][] = [
      [[1, 2], /body must be a JSON object/],
      ["text", /body must be a JSON object/],
      [{ name: 5 }, /name must be a string/],
      [{ name: "x".repeat(128) }, /name must be at most 127/],
      [{ name: "é".repeat(64) }, /name must be at most 127 bytes/],
      [{ private: "false" }, /private must be true or false/],
      [{ mtu: 100 }, /mtu must be between 1280 and 10000/],
      [{ mtu: 2800.5 }, /mtu must be an integer/],
      [{ multicastLimit: -1 }, /multicastLimit must be between/],
      [{ routes: [{ target: "10.0.0.0/33" }] }, /routes\[0\]\.target/],
      [{ routes: [{ target: "10.0.0.0" }] }, /routes\[0\]\.target must be a string "ip\/bits"/],
      [{ routes: [{ target: "10.0.0.0/8", via: "fd00::1" }] }, /same IP family/],
      [{ routes: "10.0.0.0/8" }, /routes must be an array/],
      [{ ipAssignmentPools: [{ ipRangeStart: "10.0.0.9", ipRangeEnd: "10.0.0.1" }] }, /must not be below/],
      [{ ipAssignmentPools: [{ ipRangeStart: "10.0.0.1", ipRangeEnd: "fd00::1" }] }, /same IP family/],
      [{ ipAssignmentPools: [{ ipRangeStart: "10.0.0.300", ipRangeEnd: "10.0.0.1" }] }, /not an IP address/],
      [{ v4AssignMode: 1 }, /v4AssignMode must be an object/],
      [{ v6AssignMode: "rfc4193,bogus" }, /unknown mode/],
      [{ rules: [{ type: "ACTION_EXPLODE" }] }, /rules\[0\]\.type/],
      [{ tags: [{ id: -1 }] }, /tags\[0\]\.id/],
      [{ capabilities: [{ id: 1, rules: [{ type: "MATCH_VLAN_ID", vlanId: 1e6 }] }] }, /capabilities\[0\]\.rules\[0\]\.vlanId/],
      [{ dns: { domain: "a", servers: ["1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.4", "1.1.1.5"] } }, /dns\.servers may hold at most 4/],
      [{ dns: { servers: ["not-an-ip"] } }, /dns\.servers\[0\]/],
      [{ remoteTraceTarget: "xyz" }, /remoteTraceTarget/],
      [{ authTokens: { t: "soon" } }, /authTokens\.t/],
      [{ name: "ok", mtu: 0 }, /mtu/], // one bad field rejects the good ones too
    ];
    for (const [body, msg] of badNetwork) {
      const r = await call("POST", n, body);
      expect(`${JSON.stringify(body)} -> ${r.status}`).toBe(`${JSON.stringify(body)} -> 400`);
      expect(String((r.json as JsonObject).error)).toMatch(msg);
    }
    const badMember: [JsonValue, RegExp][] = [
      [{ authorized: "true" }, /authorized must be true or false/],
      [{ authorized: 1 }, /authorized must be true or false/],
      [{ ipAssignments: ["172.28.0.1/16"] }, /not an IP address/],
      [{ ipAssignments: "172.28.0.1" }, /must be an array/],
      [{ ipAssignments: new Array(33).fill("10.0.0.1") }, /at most 32/],
      [{ tags: [[1]] }, /tags\[0\] must be a \[id, value\] pair/],
      [{ tags: [[1, 2 ** 32]] }, /tags\[0\]\[1\]/],
      [{ capabilities: ["1"] }, /capabilities\[0\] must be an integer/],
      [{ activeBridge: null }, /activeBridge/],
      [{ noAutoAssignIps: "no" }, /noAutoAssignIps/],
    ];
    for (const [body, msg] of badMember) {
      const r = await call("POST", `${n}/member/ddb1763ec1`, body);
      expect(`${JSON.stringify(body)} -> ${r.status}`).toBe(`${JSON.stringify(body)} -> 400`);
      expect(String((r.json as JsonObject).error)).toMatch(msg);
    }
    // malformed IDs
    for (const path of [
      "/controller/network/3bc65e2b50b151d",
      "/controller/network/3bc65e2b50b151d2x",
      "/controller/network/zzc65e2b50b151d2",
      "/controller/network/0000000000000000",
      `${n}/member/ddb1763ec`,
      `${n}/member/0000000000`,
      `${n}/member/ffb1763ec1`,
      `${n}/member/ddb1763ecg`,
    ]) {
      for (const method of ["GET", "POST", "DELETE"]) {
        const r = await call(method, path, {});
        expect(`${method} ${path} -> ${r.status}`).toBe(`${method} ${path} -> 400`);
        expect(String((r.json as JsonObject).error)).toMatch(/malformed/);
      }
    }
    // a network that is not ours
    const foreign = await call("POST", "/controller/network/0123456789abcdef", { name: "x" });
    expect(foreign.status).toBe(400);
    expect(String((foreign.json as JsonObject).error)).toMatch(/does not belong/);
    // nothing changed, in memory or on disk
    const after = JSON.stringify([(await call("GET", n)).json, (await call("GET", `${n}/member/ddb1763ec1`)).json]);
    expect(after).toBe(before);
    expect(files()).toEqual(filesBefore);
    expect((await call("GET", "/controller/network")).json).toEqual([VECTOR_NWID]);
  });

  test("GET-modify-POST round trips; unknown fields are ignored as the reference does", async () => {
    const { call } = await setup();
    const n = `/controller/network/${VECTOR_NWID}`;
    const created = (await call("POST", n, vectorNetworkBody)).json as JsonObject;
    const again = await call("POST", n, { ...created, somethingNew: { x: 1 }, revision: 99, creationTime: 5 });
    expect(again.status).toBe(200);
    expect(again.json).toEqual(created); // nothing changed: same revision, unknown field not stored
    const m = (await call("POST", `${n}/member/ddb1763ec1`, { authorized: true, futureField: [1] })).json as JsonObject;
    expect("futureField" in m).toBe(false);
    expect(((await call("POST", `${n}/member/ddb1763ec1`, m)).json as JsonObject).revision).toBe(m.revision);
  });

  test("PUT works like POST", async () => {
    const { call } = await setup();
    expect((await call("PUT", `/controller/network/${VECTOR_NWID}`, { name: "put" })).status).toBe(200);
    expect(((await call("PUT", `/controller/network/${VECTOR_NWID}/member/ddb1763ec1`, { authorized: true })).json as JsonObject).authorized).toBe(true);
  });

  test("404s: unknown network or member; member POST on a missing network", async () => {
    const { call } = await setup();
    expect((await call("GET", `/controller/network/${VECTOR_NWID}`)).status).toBe(404);
    expect((await call("GET", `/controller/network/${VECTOR_NWID}/member`)).status).toBe(404);
    expect((await call("POST", `/controller/network/${VECTOR_NWID}/member/ddb1763ec1`, { authorized: true })).status).toBe(404);
    expect((await call("DELETE", `/controller/network/${VECTOR_NWID}`)).status).toBe(404);
    await call("POST", `/controller/network/${VECTOR_NWID}`, {});
    expect((await call("GET", `/controller/network/${VECTOR_NWID}/member/ddb1763ec1`)).status).toBe(404);
    expect((await call("DELETE", `/controller/network/${VECTOR_NWID}/member/ddb1763ec1`)).status).toBe(404);
  });

  test("DELETE returns the record and removes it (and a network's members) from disk", async () => {
    const { call, dir } = await setup();
    const n = `/controller/network/${VECTOR_NWID}`;
    await call("POST", n, { name: "gone" });
    await call("POST", `${n}/member/ddb1763ec1`, { authorized: true });
    await call("POST", `${n}/member/10508397af`, { authorized: true });
    const dm = await call("DELETE", `${n}/member/10508397af`);
    expect(dm.status).toBe(200);
    expect((dm.json as JsonObject).id).toBe("10508397af");
    expect((await call("GET", `${n}/member`)).json).toEqual({ ddb1763ec1: 1 });
    const dn = await call("DELETE", n);
    expect((dn.json as JsonObject).name).toBe("gone");
    expect((await call("GET", "/controller/network")).json).toEqual([]);
    expect(readdirSync(join(dir, "controller.d/network"))).toEqual([]);
  });

  test("unstable listings carry member counts", async () => {
    const { call } = await setup();
    const n = `/controller/network/${VECTOR_NWID}`;
    await call("POST", n, {});
    await call("POST", `${n}/member/ddb1763ec1`, { authorized: true });
    await call("POST", `${n}/member/10508397af`, {});
    const l = (await call("GET", "/unstable/controller/network")).json as JsonObject;
    expect(l.meta).toEqual({ networkCount: 1 });
    expect(((l.data as JsonObject[])[0]!.meta as JsonObject)).toEqual({ authorizedMemberCount: 1, totalMemberCount: 2 });
    const m = (await call("GET", `/unstable${n}/member`)).json as JsonObject;
    expect(m.meta).toEqual({ authorizedCount: 1, totalCount: 2 });
    expect((m.data as JsonObject[]).map((x) => x.id)).toEqual(["10508397af", "ddb1763ec1"]);
  });
});
