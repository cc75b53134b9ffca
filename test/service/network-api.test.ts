/**
 * /network through the service (in-process, no root, no tap): join with local settings, the
 * network object's fields, its own network served by the embedded controller without packets,
 * networks.d, bad input, leave.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Service } from "../../src/service/service.ts";
import { writeLoopbackPlanet } from "../support/loopback-planet.ts";

const tmp = mkdtempSync(join(tmpdir(), "ztnc-netapi-"));
const home = join(tmp, "home");
let svc: Service;
let base: string;
let token: string;

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const r = await fetch(`${base}${path}`, { method, headers: { "X-ZT1-Auth": token }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: r.status, json: await r.json() };
}

beforeAll(async () => {
  writeLoopbackPlanet(home);
  svc = await Service.start({ home, port: 0 });
  base = `http://127.0.0.1:${svc.port}`;
  token = readFileSync(join(home, "authtoken.secret"), "utf8");
});
afterAll(async () => {
  await svc.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe("/network", () => {
  test("join a network of another controller: REQUESTING_CONFIGURATION, settings saved, listed; leave", async () => {
    const nwid = "8056c2e21c000001";
    const r = await api("POST", `/network/${nwid}`, { allowDefault: true, allowManaged: false });
    expect(r.status).toBe(200);
    const n = r.json as Record<string, unknown>;
    expect(n.id).toBe(nwid);
    expect(n.nwid).toBe(nwid);
    expect(n.status).toBe("REQUESTING_CONFIGURATION");
    expect(n.allowDefault).toBe(true);
    expect(n.allowManaged).toBe(false);
    expect(n.mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    expect(n.portDeviceName).toBe("");
    expect(readFileSync(join(home, "networks.d", `${nwid}.local.conf`), "utf8")).toContain("allowDefault=1");
    expect(readFileSync(join(home, "networks.d", `${nwid}.conf`), "utf8")).toBe("\n");
    const list = (await api("GET", "/network")).json as { id: string }[];
    expect(list.map((x) => x.id)).toEqual([nwid]);
    expect((await api("POST", `/network/${nwid}`, { allowDNS: "yes" })).status).toBe(400);
    expect((await api("DELETE", `/network/${nwid}`)).json).toEqual({ result: true });
    expect(existsSync(join(home, "networks.d", `${nwid}.conf`))).toBe(false);
    expect((await api("GET", `/network/${nwid}`)).status).toBe(404);
    expect((await api("DELETE", `/network/${nwid}`)).json).toEqual({});
  });

  test("its own controller's network is configured locally: OK with an address from the pool", async () => {
    const addr = readFileSync(join(home, "identity.public"), "utf8").slice(0, 10);
    const created = await api("POST", `/controller/network/${addr}______`, {
      name: "own",
      private: true,
      ipAssignmentPools: [{ ipRangeStart: "10.240.0.10", ipRangeEnd: "10.240.0.20" }],
      routes: [{ target: "10.240.0.0/24", via: null }],
      v4AssignMode: { zt: true },
    });
    const nwid = (created.json as { id: string }).id;
    await api("POST", `/network/${nwid}`);
    // private: the controller refuses its own node until authorized
    for (let i = 0; i < 50 && ((await api("GET", `/network/${nwid}`)).json as { status: string }).status !== "ACCESS_DENIED"; i++) await Bun.sleep(20);
    expect(((await api("GET", `/network/${nwid}`)).json as { status: string }).status).toBe("ACCESS_DENIED");
    await api("POST", `/controller/network/${nwid}/member/${addr}`, { authorized: true });
    // no config yet: the node asks again every 5 s (the controller pushes only to members it served)
    let n: Record<string, unknown> = {};
    for (let i = 0; i < 500; i++) {
      n = (await api("GET", `/network/${nwid}`)).json as Record<string, unknown>;
      if (n.status === "OK") break;
      await Bun.sleep(20);
    }
    expect(n.status).toBe("OK");
    expect(n.name).toBe("own");
    expect(n.type).toBe("PRIVATE");
    expect(n.assignedAddresses).toEqual([expect.stringMatching(/^10\.240\.0\.(1\d|20)\/24$/)]);
    expect(n.routes).toEqual([{ target: "10.240.0.0/24", via: null, flags: 0, metric: 0 }]);
    expect(readFileSync(join(home, "networks.d", `${nwid}.conf`), "utf8")).toContain("n=own");
  }, 20_000);
});
