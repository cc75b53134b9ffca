import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Controller } from "../../src/controller/controller.ts";
import { createBody } from "../../src/cli/controller/network-body.ts";
import { METADATA_1_14 } from "../../src/controller/request-metadata.ts";
import { Service } from "../../src/service/service.ts";
import type { JsonObject } from "../../src/util/json.ts";
import { Identity } from "../../src/vl1/identity.ts";
import { tmpDir, writeSinkPlanet } from "./helpers.ts";

const ROOT = join(import.meta.dir, "../..");
const tmp = tmpDir("ztnc-ctl-cli-");
const home = join(tmp, "home");
let svc: Service;
let controller: Controller;
let closeSink: () => void = () => {};
afterAll(async () => {
  await svc?.stop();
  closeSink();
  rmSync(tmp, { recursive: true, force: true });
});

beforeAll(async () => {
  closeSink = await writeSinkPlanet(home);
  svc = await Service.start({ home, port: 0 });
  // The service runs its own embedded controller with the /controller routes already in place.
  controller = svc.embeddedController.controller;
});

/** Async spawn: the in-process service must keep answering while the CLI runs. */
async function cli(...args: string[]) {
  const p = Bun.spawn([process.execPath, join(ROOT, "src/cli/controller.ts"), ...args, "--home", home], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
}

describe("zerotier-netcon-controller against a running service", () => {
  test("create, list, authorize, set a static IP, deauthorize, delete", async () => {
    const c = await cli("create", "--name", "lab", "--subnet", "10.147.17.0/24");
    expect(c.err).toBe("");
    expect(c.code).toBe(0);
    const nwid = c.out.trim();
    expect(nwid).toMatch(new RegExp(`^${svc.identity.addressString}[0-9a-f]{6}$`));
    const rec = controller.getNetwork(nwid)!;
    expect(rec.private).toBe(true);
    expect(rec.ipAssignmentPools).toEqual([{ ipRangeEnd: "10.147.17.254", ipRangeStart: "10.147.17.1" }]);
    expect(rec.routes).toEqual([{ target: "10.147.17.0/24", via: null }]);
    // the file is on disk under controller.d in the FileDB layout
    expect(JSON.parse(readFileSync(join(home, "controller.d/network", `${nwid}.json`), "utf8")).name).toBe("lab");

    const pub = await cli("create", "--name", "open", "--pool", "10.1.0.10-10.1.0.20", "--route", "10.1.0.0/24", "--public");
    expect(pub.code).toBe(0);
    const nets = await cli("networks");
    expect(nets.code).toBe(0);
    expect(nets.out).toContain(`${nwid} "lab" private 10.147.17.1-10.147.17.254 0/0`);
    expect(nets.out).toContain(`${pub.out.trim()} "open" public 10.1.0.10-10.1.0.20 0/0`);

    // a member asks, is refused (private), shows up unauthorized
    const id = Identity.generate(); // real: the embedded controller checks proof of work
    const addr = id.addressString;
    expect((await controller.handleConfigRequest({ networkId: nwid, identity: id, metadata: METADATA_1_14 })).kind).toBe("access-denied");
    expect((await cli("members", nwid)).out).toContain(`${addr} unauthorized - ""`);

    const auth = await cli("authorize", nwid, addr);
    expect(auth).toEqual({ code: 0, out: `${addr} authorized on ${nwid}\n`, err: "" });
    const ip = await cli("set-ip", nwid, addr, "10.147.17.42");
    expect(ip.code).toBe(0);
    const members = await cli("members", nwid);
    expect(members.out).toContain(`${addr} authorized 10.147.17.42 ""`);
    expect((await cli("networks")).out).toContain(`${nwid} "lab" private 10.147.17.1-10.147.17.254 1/1`);

    const shown = await cli("show", nwid, addr);
    expect((JSON.parse(shown.out) as JsonObject).ipAssignments).toEqual(["10.147.17.42"]);
    const j = await cli("members", nwid, "--json");
    expect((JSON.parse(j.out) as JsonObject[])[0]!.authorized).toBe(true);

    const de = await cli("deauthorize", nwid, addr);
    expect(de.code).toBe(0);
    expect(controller.getMember(nwid, addr)!.authorized).toBe(false);

    const up = await cli("update", nwid, '{"mtu":1400}');
    expect(up.code).toBe(0);
    expect(controller.getNetwork(nwid)!.mtu).toBe(1400);

    expect((await cli("delete", nwid, addr)).code).toBe(0);
    expect(controller.getMember(nwid, addr)).toBeNull();
    expect((await cli("delete", nwid)).code).toBe(0);
    expect(controller.getNetwork(nwid)).toBeNull();
  }, 30_000);

  test("errors: API refusals exit 1 with the message, bad usage exits 2, nothing changes", async () => {
    const before = controller.listNetworks();
    const bad = await cli("update", `${svc.identity.addressString}000001`, '{"mtu":5}');
    // 404? no: POST creates; a bad value is refused before anything is stored
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("400 mtu must be between 1280 and 10000");
    expect(controller.listNetworks()).toEqual(before);
    const usage = await cli("authorize", "123", "abc");
    expect(usage.code).toBe(2);
    expect(usage.err).toContain("network ID must be 16 hex digits");
    const sub = await cli("create", "--subnet", "10.0.0.0");
    expect(sub.code).toBe(2);
    expect(sub.err).toContain("expected a CIDR");
    const missing = await cli("show", `${svc.identity.addressString}fffff0`);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain("404");
    const json = await cli("update", `${svc.identity.addressString}000001`, "{nope");
    expect(json.code).toBe(2);
    expect(json.err).toContain("invalid JSON");
  }, 30_000);

  test("invalid JSON over HTTP is a 400 and stores nothing", async () => {
    const token = readFileSync(join(home, "authtoken.secret"), "utf8").trim();
    const nwid = `${svc.identity.addressString}00abcd`;
    const r = await fetch(`http://127.0.0.1:${svc.port}/controller/network/${nwid}`, { method: "POST", headers: { "X-ZT1-Auth": token }, body: '{"name": "x",' });
    expect(r.status).toBe(400);
    expect(((await r.json()) as JsonObject).error).toMatch(/invalid JSON/);
    expect(controller.getNetwork(nwid)).toBeNull();
    const g = await fetch(`http://127.0.0.1:${svc.port}/controller`, { headers: { "X-ZT1-Auth": token } });
    expect(((await g.json()) as JsonObject).controller).toBe(true);
  });
});

test("createBody: subnet gives route + host pool + v4 zt; v6 subnet gives v6 zt", () => {
  expect(createBody({ subnet: "10.147.17.77/24", private: false, name: "n" })).toEqual({
    private: false,
    name: "n",
    routes: [{ target: "10.147.17.0/24", via: null }],
    ipAssignmentPools: [{ ipRangeStart: "10.147.17.1", ipRangeEnd: "10.147.17.254" }],
    v4AssignMode: { zt: true },
  });
  const v6 = createBody({ subnet: "fd00:1::/64", private: true }) as JsonObject;
  expect(v6.ipAssignmentPools).toEqual([{ ipRangeStart: "fd00:1::1", ipRangeEnd: "fd00:1::ffff:ffff:ffff:ffff" }]);
  expect(v6.v6AssignMode).toEqual({ zt: true });
  expect(createBody({ pool: "10.0.0.1", private: true })).toEqual({ error: "--pool 10.0.0.1: expected START-END, e.g. 10.147.17.10-10.147.17.250" });
  expect(createBody({ route: "10.0.0.0/8 via 10.0.0.1", private: true })).toEqual({ private: true, routes: [{ target: "10.0.0.0/8", via: "10.0.0.1" }] });
});
