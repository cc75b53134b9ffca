/**
 * Our controller against a real zerotier-one 1.14.1 controller on rich configs: three networks
 * (long rule tables, tags, capabilities, v4 pools, v6 zt/6plane/rfc4193, routes via gateways, DNS)
 * and four real members (fixtures: test/fixtures/controller/rich/, made by rich-reference-lab.ts;
 * README there). Every networks.d/<nwid>.conf a member wrote from the real controller's signed
 * config must be what our controller signs, byte for byte, given the same inputs:
 *
 *  - the same records: the real controller's controller.d files loaded as our store;
 *  - the same history: the same API calls and joins in the same order on an empty controller
 *    (this also checks defaults, IP assignment and revisions), after which every network and
 *    member record must equal the real controller's, with the allowances listed at comparable().
 *
 * The member stores what it received re-serialized (NetworkConfig::toDictionary, capabilities and
 * tags sorted by id); here the controller's own order is already sorted (the API sorts a member's
 * capabilities, default ones go only to members with no record, and tags are issued by id), so these are the bytes it signed.
 *
 * A signed config holds its issue time (`ts`, and inside C, CAP, TAG, COO): our clock is pinned to
 * the `ts` of the stored file, as in netconf-builder.test.ts. Nothing else is pinned: signatures
 * are deterministic (Ed25519), the network revision `r` comes from the records.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { JsonObject, JsonValue } from "../../src/util/json.ts";
import { configChunksFromGrant } from "../../src/controller/netconf-builder.ts";
import { METADATA_1_14 } from "../../src/controller/request-metadata.ts";
import { MemoryStore } from "../../src/controller/store.ts";
import { Identity } from "../../src/vl1/identity.ts";
import { networkConfigFromBytes } from "../../src/vl2/network-config.ts";
import { FIXTURES, openTestController } from "./helpers.ts";

const RICH = join(FIXTURES, "rich");
const load = <T>(name: string): T => JSON.parse(readFileSync(join(RICH, name), "utf8")) as T;

type Event =
  | { kind: "api"; method: string; path: string; body: JsonObject; status: number; response: JsonObject }
  | { kind: "join"; member: string; nwid: string; status: "OK" | "ACCESS_DENIED" };

function identity(text: string): Identity {
  const p = Identity.parse(text);
  if (!p.ok) throw new Error(p.error);
  return p.identity;
}

const ids = load<Record<string, string>>("identities.json");
const controllerId = identity(ids.controller!);
const CONTROLLER = controllerId.addressString;
const members = new Map(Object.entries(ids).filter(([k]) => k !== "controller").map(([, v]) => [v.slice(0, 10), identity(v)]));
const stored = load<Record<string, JsonObject>>("controller-d.json");
const events = load<Event[]>("events.json");

/** Each member's stored config: `<member>-<nwid>.conf`, with its `ts`. */
const confs = readdirSync(join(RICH, "confs"))
  .filter((f) => f.endsWith(".conf"))
  .sort()
  .map((f) => {
    const [member, nwid] = f.slice(0, -5).split("-") as [string, string];
    const bytes = new Uint8Array(readFileSync(join(RICH, "confs", f)));
    const nc = networkConfigFromBytes(bytes);
    if (!nc.ok) throw new Error(`${f}: ${nc.error}`);
    return { file: f, member, nwid, bytes, ts: nc.value.timestamp };
  });
const confOf = (member: string, nwid: string) => confs.find((c) => c.member === member && c.nwid === nwid);

/**
 * POST bodies 1.14 accepts and our API refuses on purpose with a 400 (test/controller/api.test.ts),
 * and what 1.14 makes of them (what it stores, or all it ever sends). The replay must meet each
 * refusal exactly once, then posts the 1.14 reading instead.
 */
const STRICTER: { error: RegExp; as114: (b: JsonObject) => JsonObject }[] = [
  {
    // 1.14 stores the route with "via": null (the gateway is dropped)
    error: /^routes\[2\]\.via must be the same IP family as the target$/,
    as114: (b) => ({
      ...b,
      routes: (b.routes as JsonObject[]).map((r) => (typeof r.via === "string" && r.via.includes(":") !== String(r.target).includes(":") ? { ...r, via: null } : r)),
    }),
  },
  {
    // 1.14 stores all five and sends the first four (DNS holds at most 4 servers)
    error: /^dns\.servers may hold at most 4 entries$/,
    as114: (b) => ({ ...b, dns: { ...(b.dns as JsonObject), servers: ((b.dns as JsonObject).servers as string[]).slice(0, 4) } }),
  },
];

/**
 * Listed differences (not fixed; see the test "listed differences" below): a body both accept but
 * 1.14 stores differently. The replay posts what 1.14 made of it, and must use each exactly once.
 */
const isIntegerRange = (r: JsonObject) => r.type === "INTEGER_RANGE" || r.type === "MATCH_INTEGER_RANGE";
const DIFFERENT: { applies: (b: JsonObject) => boolean; as114: (b: JsonObject) => JsonObject }[] = [
  {
    // 1.14's _parseRule never accepts an integer-range rule: the POST drops it (and so does a config)
    applies: (b) => Array.isArray(b.rules) && (b.rules as JsonObject[]).some(isIntegerRange),
    as114: (b) => ({ ...b, rules: (b.rules as JsonObject[]).filter((r) => !isIntegerRange(r)) }),
  },
];

/**
 * A record as compared with the real one, with exactly these allowances:
 *  - record times (creationTime, last(De)AuthorizedTime) come from each controller's own clock;
 *  - ours writes "not"/"or" on actions in rules too (deliberate, see storedRulesJson in
 *    src/controller/rule-json.ts: the form of 1.14's own default rule); 1.14 omits them there;
 *  - DNS servers past the fourth (1.14 stores them, never sends them; our API refuses them, STRICTER).
 */
function comparable(r: JsonObject): JsonObject {
  const out: JsonObject = structuredClone(r);
  for (const k of ["creationTime", "lastAuthorizedTime", "lastDeauthorizedTime"]) if (k in out) out[k] = "(time)";
  const actions = (rules: JsonValue | undefined) =>
    Array.isArray(rules)
      ? rules.map((x) => {
          const rule = x as JsonObject;
          if (typeof rule.type !== "string" || !rule.type.startsWith("ACTION_") || rule.not !== false || rule.or !== false) return rule;
          const { not: _n, or: _o, ...rest } = rule;
          return rest;
        })
      : rules;
  if (out.rules !== undefined) out.rules = actions(out.rules)!;
  if (Array.isArray(out.capabilities)) out.capabilities = out.capabilities.map((c) => (typeof c === "object" && c !== null && !Array.isArray(c) ? { ...c, rules: actions(c.rules)! } : c));
  if (typeof out.dns === "object" && out.dns !== null && !Array.isArray(out.dns) && Array.isArray(out.dns.servers)) out.dns = { ...out.dns, servers: out.dns.servers.slice(0, 4) };
  return out;
}

const latin1 = (b: Uint8Array) => new TextDecoder("latin1").decode(b);

/** Our signed config for this member at `ts`, or the decision kind when it is not a grant. */
async function ours(controller: Awaited<ReturnType<typeof openTestController>>["controller"], clock: { t: number }, member: string, nwid: string, ts: number) {
  clock.t = ts;
  const d = await controller.handleConfigRequest({ networkId: nwid, identity: members.get(member)!, metadata: METADATA_1_14 });
  if (d.kind !== "ok") return { kind: d.kind, dictionary: null };
  const r = configChunksFromGrant(d, controllerId, 0x1234n);
  if (!r.ok) throw new Error(r.error);
  return { kind: d.kind, dictionary: r.value.dictionary };
}

function expectSame(ourDict: Uint8Array | null, conf: { file: string; bytes: Uint8Array }): void {
  expect(ourDict).not.toBeNull();
  // text first: a failure shows the differing keys
  expect(`${conf.file}\n${latin1(ourDict!)}`).toBe(`${conf.file}\n${latin1(conf.bytes)}`);
  expect(Buffer.from(ourDict!).equals(Buffer.from(conf.bytes))).toBe(true);
}

describe("rich configs: byte-identical to zerotier-one 1.14.1's", () => {
  test("the vectors are what the README says", () => {
    expect(confs.length).toBe(11);
    expect(new Set(confs.map((c) => c.nwid)).size).toBe(3);
    expect(new Set(confs.map((c) => c.member)).size).toBe(4);
    for (const c of confs) expect(c.nwid.startsWith(CONTROLLER)).toBe(true);
  });

  test("from the real controller's records (controller.d), every member's config", async () => {
    const store = new MemoryStore();
    for (const [path, rec] of Object.entries(stored)) {
      if (path.includes("/member/")) await store.putMember(rec);
      else await store.putNetwork(rec);
    }
    const { controller, clock } = await openTestController({ store, address: CONTROLLER });
    for (const c of confs) expectSame((await ours(controller, clock, c.member, c.nwid, c.ts)).dictionary, c);
  });

  test("replaying the same API calls and joins on an empty controller: same configs, same records", async () => {
    const { controller, clock } = await openTestController({ address: CONTROLLER });
    const used = new Set<object>();
    let compared = 0;
    for (const e of events) {
      if (e.kind === "api") {
        const m = /^\/controller\/network\/([0-9a-f]{16})(?:\/member\/([0-9a-f]{10}))?$/.exec(e.path);
        expect(e.method).toBe("POST");
        expect(m).not.toBeNull();
        const post = (body: JsonObject) => (m![2] === undefined ? controller.postNetwork(m![1]!, body) : controller.postMember(m![1]!, m![2], body));
        const d = DIFFERENT.find((x) => x.applies(e.body));
        if (d !== undefined) used.add(d);
        let body = d === undefined ? e.body : d.as114(e.body);
        let r = await post(body);
        for (let i = 0; !r.ok && i < STRICTER.length; i++) {
          const error = r.error;
          const s = STRICTER.find((x) => x.error.test(error));
          expect(`${e.path}: ${r.status} ${error}`).toBe(`${e.path}: 400 ${s === undefined ? "(not a known refusal)" : error}`);
          used.add(s!);
          body = s!.as114(body);
          r = await post(body);
        }
        expect(r.ok ? 200 : r.status).toBe(e.status);
        continue;
      }
      const conf = confOf(e.member, e.nwid);
      // a refused request has no config: any time before the member's later config will do
      const ts = e.status === "OK" ? conf!.ts : (conf?.ts ?? confs[0]!.ts) - 60_000;
      const got = await ours(controller, clock, e.member, e.nwid, ts);
      expect(`${e.member}@${e.nwid}: ${got.kind}`).toBe(`${e.member}@${e.nwid}: ${e.status === "OK" ? "ok" : "access-denied"}`);
      if (e.status === "OK") {
        expectSame(got.dictionary, conf!);
        compared++;
      }
    }
    expect(compared).toBe(confs.length);
    expect(used.size).toBe(STRICTER.length + DIFFERENT.length);

    // the records the requests left behind are what the real controller reports and stores
    const api = load<Record<string, JsonValue>>("controller-api.json");
    expect(controller.listNetworks()).toEqual(api.networks as string[]);
    let views = 0;
    for (const [path, real] of Object.entries(api)) {
      const m = /^network\/([0-9a-f]{16})(\/member(?:\/([0-9a-f]{10}))?)?$/.exec(path);
      if (m === null) continue;
      views++;
      const mine = m[2] === undefined ? controller.getNetwork(m[1]!) : m[3] === undefined ? controller.memberRevisions(m[1]!) : controller.getMember(m[1]!, m[3]);
      expect({ path, record: comparable(mine!) }).toEqual({ path, record: comparable(real as JsonObject) });
    }
    for (const [path, real] of Object.entries(stored)) {
      const m = /^network\/([0-9a-f]{16})(?:\/member\/([0-9a-f]{10}))?\.json$/.exec(path)!;
      const mine = m[2] === undefined ? controller.getNetwork(m[1]!) : controller.getMember(m[1]!, m[2]);
      expect({ path, record: comparable(mine!) }).toEqual({ path, record: comparable(real) });
    }
    expect([views, Object.keys(stored).length]).toEqual([3 + 3 + 12, 3 + 12]); // networks, member lists, members
  });

  test("listed difference (not fixed): 1.14.1 drops INTEGER_RANGE rules, ours keeps and sends them", async () => {
    const e = events.find((x) => x.kind === "api" && DIFFERENT[0]!.applies(x.body));
    if (e === undefined || e.kind !== "api") throw new Error("no POST with an INTEGER_RANGE rule in events.json");
    const posted = e.body.rules as JsonObject[];
    const kept = e.response.rules as JsonObject[];
    // 1.14.1 answered 200 and stored the table without it (its _parseRule never accepts the type)
    expect([e.status, posted.length - kept.length, kept.some(isIntegerRange)]).toEqual([200, 1, false]);
    const { controller } = await openTestController({ address: CONTROLLER });
    const r = await controller.postNetwork(e.path.split("/")[3]!, e.body);
    expect(r.ok && (r.record.rules as JsonObject[]).filter(isIntegerRange).length).toBe(1);
  });
});
