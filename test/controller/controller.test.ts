import { describe, expect, test } from "bun:test";
import { consola } from "consola";
import { CONFIG_FLAG_ENABLE_BROADCAST, CONFIG_FLAG_ENABLE_IPV6_NDP_EMULATION, type ConfigDecision } from "../../src/controller/config-grant.ts";
import { type ControllerEvent, ONLINE_WINDOW_MS } from "../../src/controller/controller.ts";
import { metadataFromDictionary, METADATA_1_14 } from "../../src/controller/request-metadata.ts";
import { encodeRules } from "../../src/vl2/rules.ts";
import { toHex } from "../../src/util/hex.ts";
import { Identity } from "../../src/vl1/identity.ts";
import { inetAddressToString } from "../../src/vl1/inet-address.ts";
import { fakeIdentities, fixture, openTestController, VECTOR_CONTROLLER, VECTOR_NWID } from "./helpers.ts";

const NWID = VECTOR_NWID;

function ips(d: ConfigDecision): string[] {
  if (d.kind !== "ok") throw new Error(`expected ok, got ${d.kind}`);
  return d.staticIps.map(inetAddressToString);
}

const lab = {
  ipAssignmentPools: [{ ipRangeStart: "10.9.0.1", ipRangeEnd: "10.9.3.254" }],
  routes: [{ target: "10.9.0.0/22", via: null }],
  v4AssignMode: { zt: true },
};

describe("authorization", () => {
  test("public network: first request auto-authorizes and records the member", async () => {
    const { controller, clock } = await openTestController();
    await controller.postNetwork(NWID, { ...lab, private: false });
    const [id] = fakeIdentities(1);
    const d = await controller.handleConfigRequest({ networkId: BigInt(`0x${NWID}`), identity: id!, metadata: METADATA_1_14 });
    expect(d.kind).toBe("ok");
    const m = controller.getMember(NWID, id!.addressString)!;
    expect(m.authorized).toBe(true);
    expect(m.lastAuthorizedCredentialType).toBe("public");
    expect(m.lastAuthorizedTime).toBe(clock.t);
    expect(m.identity).toBe(id!.toString(false));
    expect([m.vMajor, m.vMinor, m.vRev, m.vProto]).toEqual([1, 14, 1, 12]);
  });

  test("private network: required, then granted, then revoked", async () => {
    const { controller, clock } = await openTestController();
    await controller.postNetwork(NWID, { ...lab, private: true });
    const [id] = fakeIdentities(1, 3);
    const ask = () => {
      clock.advance(60_000);
      return controller.handleConfigRequest({ networkId: NWID, identity: id!, metadata: METADATA_1_14 });
    };
    const events: ControllerEvent[] = [];
    controller.onEvent((e) => events.push(e));

    expect(await ask()).toEqual({ kind: "access-denied", reason: "not authorized" });
    // The refused member is recorded (so an admin can see and authorize it), unauthorized.
    const pending = controller.getMember(NWID, id!.addressString)!;
    expect(pending.authorized).toBe(false);
    expect(pending.identity).toBe(id!.toString(false));
    expect(pending.ipAssignments).toEqual([]);

    const granted = await controller.postMember(NWID, id!.addressString, { authorized: true });
    expect(granted.ok).toBe(true);
    const ok1 = await ask();
    expect(ok1.kind).toBe("ok");
    const first = ips(ok1);
    expect(first).toHaveLength(1);
    expect(ips(await ask())).toEqual(first); // stable

    await controller.postMember(NWID, id!.addressString, { authorized: false });
    expect((await ask()).kind).toBe("access-denied");
    const kinds = events.map((e) => e.kind);
    expect(kinds).toContain("member-deauthorized");
    // Re-authorizing gives the same address back (it stayed recorded).
    await controller.postMember(NWID, id!.addressString, { authorized: true });
    expect(ips(await ask())).toEqual(first);
  });

  test("join token in metadata authorizes on a private network; expired or wrong tokens do not", async () => {
    const { controller, clock } = await openTestController();
    await controller.postNetwork(NWID, { ...lab, authTokens: { good: 0, old: clock.t - 1 } });
    const [a, b, c] = fakeIdentities(3, 9);
    const md = (token: string) => metadataFromDictionary((k) => ({ v: "7", revr: "1", a: `token:${token}` })[k]);
    expect((await controller.handleConfigRequest({ networkId: NWID, identity: a!, metadata: md("good") })).kind).toBe("ok");
    expect(controller.getMember(NWID, a!.addressString)!.lastAuthorizedCredentialType).toBe("token");
    expect(controller.getMember(NWID, a!.addressString)!.lastAuthorizedCredential).toBe("good");
    expect((await controller.handleConfigRequest({ networkId: NWID, identity: b!, metadata: md("old") })).kind).toBe("access-denied");
    expect((await controller.handleConfigRequest({ networkId: NWID, identity: c!, metadata: md("nope") })).kind).toBe("access-denied");
  });

  test("an identity that fails validation is refused and not recorded", async () => {
    // Real validation (proof of work): a real identity passes, a forged one with its address does not.
    const { controller } = await openTestController({ validate: (id) => id.locallyValidate() });
    await controller.postNetwork(NWID, { ...lab, private: false });
    const real = Identity.parse(fixture("controller-member-ddb1763ec1.json").identity as string);
    if (!real.ok) throw new Error(real.error);
    const forgedKey = real.identity.publicKey;
    forgedKey[5] = forgedKey[5]! ^ 1;
    const forged = Identity.fromParts(real.identity.address, forgedKey);
    const d = await controller.handleConfigRequest({ networkId: NWID, identity: forged, metadata: METADATA_1_14 });
    expect(d).toEqual({ kind: "access-denied", reason: "identity failed validation" });
    expect(controller.getMember(NWID, "ddb1763ec1")).toBeNull();
    expect((await controller.handleConfigRequest({ networkId: NWID, identity: real.identity, metadata: METADATA_1_14 })).kind).toBe("ok");
  });

  test("a different identity claiming a known member's address is refused", async () => {
    const { controller, clock } = await openTestController();
    await controller.postNetwork(NWID, { ...lab, private: false });
    const [id] = fakeIdentities(1, 11);
    expect((await controller.handleConfigRequest({ networkId: NWID, identity: id!, metadata: METADATA_1_14 })).kind).toBe("ok");
    const impostor = Identity.fromParts(id!.address, new Uint8Array(64).fill(7));
    clock.advance(5000);
    const d = await controller.handleConfigRequest({ networkId: NWID, identity: impostor, metadata: METADATA_1_14 });
    expect(d.kind).toBe("access-denied");
    expect(controller.getMember(NWID, id!.addressString)!.identity).toBe(id!.toString(false));
  });

  test("unknown network -> not-found; other controller's network or a repeat within 1 s -> ignored", async () => {
    const { controller, clock } = await openTestController();
    const [id] = fakeIdentities(1, 12);
    expect((await controller.handleConfigRequest({ networkId: NWID, identity: id!, metadata: METADATA_1_14 })).kind).toBe("not-found");
    expect((await controller.handleConfigRequest({ networkId: "0123456789000001", identity: id!, metadata: METADATA_1_14 })).kind).toBe("ignored");
    await controller.postNetwork(NWID, { private: false });
    clock.advance(2000);
    expect((await controller.handleConfigRequest({ networkId: NWID, identity: id!, metadata: METADATA_1_14 })).kind).toBe("ok");
    expect((await controller.handleConfigRequest({ networkId: NWID, identity: id!, metadata: METADATA_1_14 })).kind).toBe("ignored");
    expect((await controller.handleConfigRequest({ networkId: NWID, identity: id!, metadata: METADATA_1_14, push: true })).kind).toBe("ok");
  });
});

describe("IP assignment", () => {
  test("200 members get distinct addresses from one pool, stable across re-requests", async () => {
    const { controller, clock } = await openTestController();
    await controller.postNetwork(NWID, {
      private: false,
      ipAssignmentPools: [{ ipRangeStart: "10.20.0.10", ipRangeEnd: "10.20.0.230" }],
      routes: [{ target: "10.20.0.0/24", via: null }],
      v4AssignMode: { zt: true },
    });
    const ids = fakeIdentities(200, 42);
    const got = new Map<string, string>();
    for (const id of ids) {
      const ip = ips(await controller.handleConfigRequest({ networkId: NWID, identity: id, metadata: METADATA_1_14 }));
      expect(ip).toHaveLength(1);
      got.set(id.addressString, ip[0]!);
    }
    const all = [...got.values()];
    expect(new Set(all).size).toBe(200);
    for (const a of all) {
      expect(a).toMatch(/^10\.20\.0\.\d+\/24$/);
      const last = Number(a.split(".")[3]!.split("/")[0]);
      expect(last >= 10 && last <= 230).toBe(true);
    }
    clock.advance(60_000);
    for (const id of ids.slice(0, 20)) {
      expect(ips(await controller.handleConfigRequest({ networkId: NWID, identity: id, metadata: METADATA_1_14 }))).toEqual([got.get(id.addressString)!]);
    }
    // pool has 221 addresses: 21 more fit, then the pool is exhausted (no address, still a config)
    const more = fakeIdentities(230, 43).filter((i) => !got.has(i.addressString)).slice(0, 22);
    const extra: string[][] = [];
    for (const id of more) extra.push(ips(await controller.handleConfigRequest({ networkId: NWID, identity: id, metadata: METADATA_1_14 })));
    expect(extra.filter((x) => x.length === 1)).toHaveLength(21);
    expect(extra[21]).toEqual([]);
    expect(new Set([...all, ...extra.flat()]).size).toBe(221);
  });

  test("manual ipAssignments are honoured (inside a route) and not given to others; noAutoAssignIps", async () => {
    const { controller } = await openTestController();
    await controller.postNetwork(NWID, {
      private: false,
      ipAssignmentPools: [{ ipRangeStart: "10.30.0.5", ipRangeEnd: "10.30.0.6" }],
      routes: [{ target: "10.30.0.0/24", via: null }, { target: "10.30.0.0/16", via: null }],
      v4AssignMode: { zt: true },
      v6AssignMode: { rfc4193: true },
    });
    const [a, b, c, d] = fakeIdentities(4, 5);
    await controller.postMember(NWID, a!.addressString, { ipAssignments: ["10.30.0.5", "192.168.1.1"] });
    const ga = ips(await controller.handleConfigRequest({ networkId: NWID, identity: a!, metadata: METADATA_1_14 }));
    // rfc4193 first, then the manual one in the longest route; the unrouted one is not sent
    expect(ga.slice(1)).toEqual(["10.30.0.5/24"]);
    expect(ga[0]).toMatch(/^fd3b:c65e:2b50:b151:d299:93/);
    expect(ips(await controller.handleConfigRequest({ networkId: NWID, identity: b!, metadata: METADATA_1_14 })).slice(1)).toEqual(["10.30.0.6/24"]);
    await controller.postMember(NWID, c!.addressString, { noAutoAssignIps: true });
    expect(ips(await controller.handleConfigRequest({ networkId: NWID, identity: c!, metadata: METADATA_1_14 }))).toEqual([]);
    // pool exhausted: only the rfc4193 address
    expect(ips(await controller.handleConfigRequest({ networkId: NWID, identity: d!, metadata: METADATA_1_14 }))).toHaveLength(1);
  });

  test("freed addresses are reused: member deleted, manual IP changed; bridges follow their records", async () => {
    const { controller, clock } = await openTestController();
    await controller.postNetwork(NWID, {
      private: false,
      ipAssignmentPools: [{ ipRangeStart: "10.40.0.1", ipRangeEnd: "10.40.0.2" }],
      routes: [{ target: "10.40.0.0/24", via: null }],
      v4AssignMode: { zt: true },
    });
    const [a, b, c] = fakeIdentities(3, 55);
    const ask = (id: Identity) => controller.handleConfigRequest({ networkId: NWID, identity: id, metadata: METADATA_1_14 });
    const ipA = ips(await ask(a!));
    const ipB = ips(await ask(b!));
    expect(new Set([...ipA, ...ipB]).size).toBe(2);
    expect(ips(await ask(c!))).toEqual([]); // pool of two is full
    await controller.deleteMember(NWID, a!.addressString);
    clock.advance(2000);
    expect(ips(await ask(c!))).toEqual(ipA); // a's address went back to the pool
    await controller.postMember(NWID, b!.addressString, { ipAssignments: ["10.40.0.50"], activeBridge: true });
    const [d] = fakeIdentities(1, 56);
    const gd = await ask(d!);
    expect(ips(gd)).toEqual(ipB); // b's old pool address is free again
    if (gd.kind !== "ok") throw new Error();
    expect(gd.activeBridges).toEqual([b!.addressString]);
    await controller.postMember(NWID, b!.addressString, { activeBridge: false });
    clock.advance(2000);
    const gd2 = await ask(d!);
    if (gd2.kind !== "ok") throw new Error();
    expect(gd2.activeBridges).toEqual([]);
  });

  test("rfc4193 and 6plane addresses match the spec's worked example and set NDP emulation", async () => {
    const { controller } = await openTestController({ address: "8056c2e21c" });
    await controller.postNetwork("8056c2e21c000001", { private: false, v6AssignMode: { rfc4193: true, "6plane": true } });
    const id = Identity.fromParts(0x89e92ceee5, new Uint8Array(64).fill(1));
    const d = await controller.handleConfigRequest({ networkId: "8056c2e21c000001", identity: id, metadata: METADATA_1_14 });
    expect(ips(d)).toEqual(["fd80:56c2:e21c:0:199:9389:e92c:eee5/88", "fc9c:56c2:e389:e92c:eee5::1/40"]);
    if (d.kind !== "ok") throw new Error();
    expect(d.flags).toBe(CONFIG_FLAG_ENABLE_BROADCAST | CONFIG_FLAG_ENABLE_IPV6_NDP_EMULATION);
  });

  test("IPv6 zt pool: address embedded when the pool spans 2^40, inside a direct route", async () => {
    const { controller } = await openTestController();
    await controller.postNetwork(NWID, {
      private: false,
      ipAssignmentPools: [{ ipRangeStart: "fd00:1::", ipRangeEnd: "fd00:1::ffff:ffff:ffff" }],
      routes: [{ target: "fd00:1::/64", via: null }],
      v6AssignMode: { zt: true },
    });
    const id = Identity.fromParts(0x89e92ceee5, new Uint8Array(64).fill(1));
    expect(ips(await controller.handleConfigRequest({ networkId: NWID, identity: id, metadata: METADATA_1_14 }))).toEqual(["fd00:1::89:e92c:eee5/64"]);
  });
});

test("IPv6 zt pool smaller than 2^40: distinct addresses probed inside the pool", async () => {
  const { controller } = await openTestController();
  await controller.postNetwork(NWID, {
    private: false,
    ipAssignmentPools: [{ ipRangeStart: "fd00:2::10", ipRangeEnd: "fd00:2::1f" }],
    routes: [{ target: "fd00:2::/64", via: null }],
    v6AssignMode: { zt: true },
  });
  const got: string[] = [];
  for (const id of fakeIdentities(17, 61)) got.push(...ips(await controller.handleConfigRequest({ networkId: NWID, identity: id, metadata: METADATA_1_14 })));
  expect(got).toHaveLength(16); // 16 addresses in the pool, the 17th member gets none
  expect(new Set(got).size).toBe(16);
  for (const a of got) expect(a).toMatch(/^fd00:2::1[0-9a-f]\/64$/);
});

describe("the grant carries what a NetworkConfig needs", () => {
  test("settings, routes, rules, tags and capabilities", async () => {
    const { controller, clock } = await openTestController();
    await controller.postNetwork(NWID, {
      ...lab,
      name: "lab",
      private: true,
      mtu: 1400,
      multicastLimit: 10,
      enableBroadcast: false,
      rules: [{ type: "MATCH_ETHERTYPE", etherType: 2048, not: true }, { type: "ACTION_DROP" }, { type: "ACTION_ACCEPT" }],
      tags: [{ id: 1, default: 7 }, { id: 2 }],
      capabilities: [{ id: 3, default: true, rules: [{ type: "ACTION_ACCEPT" }] }, { id: 4, rules: [{ type: "ACTION_DROP" }] }],
      dns: { domain: "lab.zt", servers: ["10.9.0.53"] },
    });
    const [id, bridge] = fakeIdentities(2, 77);
    await controller.postMember(NWID, id!.addressString, { authorized: true, tags: [[2, 9]] });
    await controller.postMember(NWID, bridge!.addressString, { authorized: true, activeBridge: true });
    const d = await controller.handleConfigRequest({ networkId: NWID, identity: id!, metadata: METADATA_1_14 });
    if (d.kind !== "ok") throw new Error(d.kind);
    expect(d.nwid).toBe(NWID);
    expect(d.networkId).toBe(0x3bc65e2b50b151d2n);
    expect(d.timestamp).toBe(clock.t);
    expect(d.credentialTimeMaxDelta).toBe(1_800_000);
    expect(d.revision).toBe(1);
    expect([d.private, d.name, d.mtu, d.multicastLimit, d.flags]).toEqual([true, "lab", 1400, 10, 0]);
    expect(toHex(encodeRules(d.rules))).toBe("a50208000000" + "0100");
    expect(d.tags).toEqual([{ id: 1, value: 7 }, { id: 2, value: 9 }]);
    // the record was made by POST, so this is not a new member: no default capability (as 1.14.1)
    expect(d.capabilities.map((c) => c.id)).toEqual([]);
    expect(d.routes.map((r) => [inetAddressToString(r.target), r.via])).toEqual([["10.9.0.0/22", null]]);
    expect(d.dns?.domain).toBe("lab.zt");
    expect(d.activeBridges).toEqual([bridge!.addressString]);
    expect(d.legacy).toBe(false);
    // defaults were recorded on the member, as the reference does
    const m = controller.getMember(NWID, id!.addressString)!;
    expect(m.capabilities).toEqual([]);
    expect(m.tags).toEqual([[2, 9], [1, 7]]);
    expect(d.member.ipAssignments).toEqual(m.ipAssignments);
  });

  test("default capabilities go only to a member with no record at all (as 1.14.1)", async () => {
    const { controller, clock } = await openTestController();
    const caps = [{ id: 3, default: true, rules: [{ type: "ACTION_ACCEPT" }] }];
    const PUB = `${NWID.slice(0, 10)}00000b`;
    await controller.postNetwork(PUB, { private: false, capabilities: caps });
    await controller.postNetwork(NWID, { private: true, capabilities: caps });
    const [fresh, posted, denied] = fakeIdentities(3, 79);
    const capsOf = async (nwid: string, id: Identity) => {
      clock.advance(2000);
      const d = await controller.handleConfigRequest({ networkId: nwid, identity: id, metadata: METADATA_1_14 });
      return d.kind === "ok" ? d.capabilities.map((c) => c.id) : d.kind;
    };
    expect(await capsOf(PUB, fresh!)).toEqual([3]);
    expect(controller.getMember(PUB, fresh!.addressString)!.capabilities).toEqual([3]);
    await controller.postMember(PUB, posted!.addressString, { name: "made by POST" });
    expect(await capsOf(PUB, posted!)).toEqual([]);
    expect(await capsOf(NWID, denied!)).toBe("access-denied");
    await controller.postMember(NWID, denied!.addressString, { authorized: true });
    expect(await capsOf(NWID, denied!)).toEqual([]);
  });

  test("a member without a rules engine (revr 0) gets accept-all; v < 6 is flagged legacy", async () => {
    const { controller } = await openTestController();
    await controller.postNetwork(NWID, { private: false, rules: [{ type: "ACTION_DROP" }] });
    const [id] = fakeIdentities(1, 78);
    const d = await controller.handleConfigRequest({ networkId: NWID, identity: id!, metadata: { ...METADATA_1_14, rulesEngineRev: 0, configVersion: 5 } });
    if (d.kind !== "ok") throw new Error(d.kind);
    expect(toHex(encodeRules(d.rules))).toBe("0100");
    expect(d.legacy).toBe(true);
  });
});

describe("change events and pushes", () => {
  test("API changes name the online members to push to; a deauthorization is announced", async () => {
    const { controller, clock } = await openTestController();
    await controller.postNetwork(NWID, { ...lab, private: true });
    const [a, b] = fakeIdentities(2, 90);
    for (const id of [a!, b!]) {
      await controller.postMember(NWID, id.addressString, { authorized: true });
      await controller.handleConfigRequest({ networkId: NWID, identity: id, metadata: METADATA_1_14 });
    }
    const events: ControllerEvent[] = [];
    controller.onEvent((e) => events.push(e));

    await controller.postNetwork(NWID, { name: "renamed" });
    expect(events).toEqual([{ kind: "network-changed", nwid: NWID, source: "api" }]);
    expect(controller.pushTargets(events[0]!).map((t) => t.address).sort()).toEqual([a!.addressString, b!.addressString].sort());

    events.length = 0;
    await controller.postMember(NWID, a!.addressString, { authorized: false });
    expect(events.map((e) => e.kind)).toEqual(["member-changed", "member-deauthorized"]);
    const targets = controller.pushTargets(events[0]!);
    expect(targets.map((t) => t.address)).toEqual([a!.addressString]);
    // a push for the deauthorized member is refused: nothing to send, others get revocations
    const pushed = await controller.handleConfigRequest({ networkId: NWID, identity: targets[0]!.identity, metadata: targets[0]!.metadata, push: true });
    expect(pushed.kind).toBe("access-denied");
    expect(controller.onlineMembers(NWID).map((m) => m.address).sort()).toEqual([a!.addressString, b!.addressString].sort());

    // requests' own bookkeeping is marked as such and needs no push
    events.length = 0;
    clock.advance(ONLINE_WINDOW_MS + 1);
    expect(controller.onlineMembers(NWID)).toEqual([]);
    await controller.handleConfigRequest({ networkId: NWID, identity: b!, metadata: { ...METADATA_1_14, vRev: 2 } });
    expect(events).toEqual([{ kind: "member-changed", nwid: NWID, address: b!.addressString, source: "request" }]);
    expect(controller.pushTargets(events[0]!)).toEqual([]);

    events.length = 0;
    await controller.deleteNetwork(NWID);
    expect(events.map((e) => e.kind)).toEqual(["network-deleted"]);
    const del = events[0] as Extract<ControllerEvent, { kind: "network-deleted" }>;
    expect(del.members).toEqual([a!.addressString, b!.addressString].sort());
    expect(del.online.map((m) => m.address)).toEqual([b!.addressString]); // b asked within the window
    expect(controller.onlineMembers(NWID)).toEqual([]);
  });
});

test("a throwing event listener does not fail the change (it is stored and acknowledged)", async () => {
  const { controller } = await openTestController();
  controller.onEvent(() => {
    throw new Error("listener bug");
  });
  const level = consola.level;
  consola.level = -1; // the logged error is expected here
  const r = await controller.postNetwork(NWID, { name: "still" });
  consola.level = level;
  expect(r.ok).toBe(true);
  expect(controller.getNetwork(NWID)!.name).toBe("still");
});

test("metadataFromDictionary reads the 1.14 request keys", () => {
  // 1.14 writes 16-digit zero-padded hex
  const d: Record<string, string> = { v: "0000000000000007", vend: "1", pv: "c", majv: "1", minv: "000000000000000e", revv: "1", mr: "400", revr: "1", o: "linux/x86_64" };
  expect(metadataFromDictionary((k) => d[k])).toEqual(METADATA_1_14);
  expect(metadataFromDictionary(() => undefined).rulesEngineRev).toBe(0);
  expect(VECTOR_CONTROLLER).toBe(NWID.slice(0, 10));
});
