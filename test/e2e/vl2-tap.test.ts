/**
 * Issue 4 acceptance (root only): our service as root + controller in one network namespace, two
 * services in --tap mode in two others (separate processes, `ip netns exec`), a public network made
 * through the /controller API. Both join, get their addresses on their taps, ping each other, move
 * 20 MB over TCP (nc) intact by sha256, with a physical MTU of 1400 (every 2800-byte frame is
 * split into ZeroTier fragments), and leaving removes the tap.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import type { Subprocess } from "bun";
import { join } from "node:path";
import { idtool, ROOT, waitFor } from "./helpers.ts";
import { NetnsLab, netnsPossible, writeHome } from "./netns-lab.ts";
import { waitForTcpListener } from "../support/tcp-listener.ts";

const possible = netnsPossible();
const tmp = mkdtempSync(join(tmpdir(), "ztnc-vl2-"));
const homes = { root: join(tmp, "root"), a: join(tmp, "a"), b: join(tmp, "b") };
const addr: Record<string, string> = {};
let lab: NetnsLab | null = null;
let nwid = "";
let procB: Subprocess | null = null;

interface NetJson {
  status: string;
  assignedAddresses: string[];
  portDeviceName: string;
  mac: string;
}

function ns(k: "root" | "a" | "b"): string {
  return k === "root" ? lab!.hub : lab!.leaves[k === "a" ? 0 : 1]!;
}

async function network(k: "a" | "b"): Promise<NetJson | null> {
  const r = await lab!.api(ns(k), homes[k], "GET", `/network/${nwid}`);
  return r.status === 200 ? (r.json as NetJson) : null;
}

async function ready(k: "a" | "b"): Promise<NetJson> {
  return waitFor(`${k} gets its config and address`, async () => {
    const n = await network(k);
    return n !== null && n.status === "OK" && n.assignedAddresses.length > 0 && n.portDeviceName !== "" ? n : null;
  }, 40_000);
}

async function metric(k: "a" | "b", name: string): Promise<number> {
  const r = await lab!.api(ns(k), homes[k], "GET", "/metrics");
  const m = new RegExp(`^${name} (\\d+)`, "m").exec(String(r.json));
  return Number(m?.[1] ?? -1);
}

beforeAll(async () => {
  if (!possible) return;
  lab = await NetnsLab.create(2);
  const settings = { portMappingEnabled: false, allowTcpFallbackRelay: false };
  const leafSettings = { ...settings };
  for (const k of ["root", "a", "b"] as const) {
    writeHome(homes[k], k === "root" ? settings : leafSettings, null);
    expect((await idtool("generate", join(homes[k], "identity.secret"), join(homes[k], "identity.public"))).code).toBe(0);
    addr[k] = readFileSync(join(homes[k], "identity.public"), "utf8").slice(0, 10);
  }
  // a smaller physical MTU on the leaves: ZeroTier packets of at most 1400 bytes
  for (const k of ["a", "b"] as const) {
    writeFileSync(join(homes[k], "local.conf"), JSON.stringify({ physical: { "10.231.0.0/16": { mtu: 1400 } }, settings: leafSettings }));
  }
  const worldJson = join(tmp, "world.json");
  expect((await idtool("mkworld", "--new-signing-key", worldJson)).code).toBe(0);
  const w = JSON.parse(readFileSync(worldJson, "utf8")) as Record<string, unknown>;
  w.roots = [{ identity: readFileSync(join(homes.root, "identity.public"), "utf8").trim(), stableEndpoints: [`${lab.hubIp()}/9993`] }];
  writeFileSync(worldJson, JSON.stringify(w));
  for (const h of Object.values(homes)) expect((await idtool("mkworld", worldJson, join(h, "planet"))).code).toBe(0);
  lab.startService(lab.hub, homes.root, ["--tap"]);
  lab.startService(ns("a"), homes.a, ["--tap"]);
  procB = lab.startService(ns("b"), homes.b, ["--tap"]);
  for (const k of ["root", "a", "b"] as const) {
    await waitFor(`${k} API`, async () => ((await lab!.api(ns(k), homes[k], "GET", "/status")).status === 200 ? true : null));
  }
}, 60_000);

afterAll(async () => {
  await lab?.close();
  rmSync(tmp, { recursive: true, force: true });
}, 30_000);

describe("two tap-mode services on a network of our controller (netns)", () => {
  // Root-only, like the kernel tests in test/stack: CI runs as root; elsewhere this fails plainly.
  test("runs as root with network namespaces available", () => {
    expect(possible).toBe(true);
  });

  test("a public network is created through the /controller API", async () => {
    const r = await lab!.api(lab!.hub, homes.root, "POST", `/controller/network/${addr.root}______`, {
      name: "e2e",
      private: false,
      ipAssignmentPools: [{ ipRangeStart: "10.232.7.10", ipRangeEnd: "10.232.7.200" }],
      routes: [{ target: "10.232.7.0/24", via: null }],
      v4AssignMode: { zt: true },
    });
    expect(r.status).toBe(200);
    nwid = (r.json as { id: string }).id;
    expect(nwid).toMatch(new RegExp(`^${addr.root}[0-9a-f]{6}$`));
  });

  test("both join, get an address from the pool on their tap", async () => {
    for (const k of ["a", "b"] as const) {
      const r = await lab!.api(ns(k), homes[k], "POST", `/network/${nwid}`, {});
      expect(r.status).toBe(200);
      expect(["REQUESTING_CONFIGURATION", "OK"]).toContain((r.json as NetJson).status);
    }
    for (const k of ["a", "b"] as const) {
      const n = await ready(k);
      expect(n.assignedAddresses[0]).toMatch(/^10\.232\.7\.\d+\/24$/);
      const link = await lab!.exec(ns(k), ["ip", "-o", "addr", "show", "dev", n.portDeviceName]);
      expect(link.out).toContain(`inet ${n.assignedAddresses[0]}`);
      const mac = await lab!.exec(ns(k), ["ip", "-o", "link", "show", "dev", n.portDeviceName]);
      expect(mac.out).toContain(n.mac);
      expect(mac.out).toContain("mtu 2800");
    }
    // the config was persisted as 1.14 does
    expect(readFileSync(join(homes.a, "networks.d", `${nwid}.conf`), "utf8")).toContain(`nwid=${nwid}`);
  }, 60_000);

  test("they ping each other over the taps", async () => {
    const a = (await network("a"))!.assignedAddresses[0]!.split("/")[0]!;
    const b = (await network("b"))!.assignedAddresses[0]!.split("/")[0]!;
    const p1 = await lab!.exec(ns("a"), ["ping", "-c", "3", "-W", "3", b], { allowFail: true, timeoutMs: 20_000 });
    expect(p1.out).toMatch(/ 0% packet loss/);
    const p2 = await lab!.exec(ns("b"), ["ping", "-c", "3", "-W", "3", a], { allowFail: true, timeoutMs: 20_000 });
    expect(p2.out).toMatch(/ 0% packet loss/);
  }, 40_000);

  test("the controller's own node joins its network (served locally, no packets) and is reachable", async () => {
    const r = await lab!.api(lab!.hub, homes.root, "POST", `/network/${nwid}`, {});
    expect(r.status).toBe(200);
    const n = await waitFor("root OK", async () => {
      const x = (await lab!.api(lab!.hub, homes.root, "GET", `/network/${nwid}`)).json as NetJson;
      return x.status === "OK" && x.assignedAddresses.length > 0 ? x : null;
    }, 20_000);
    const ip = n.assignedAddresses[0]!.split("/")[0]!;
    const p = await lab!.exec(ns("a"), ["ping", "-c", "3", "-W", "3", ip], { allowFail: true, timeoutMs: 20_000 });
    expect(p.out).toMatch(/ 0% packet loss/);
  }, 40_000);

  test("20 MB over TCP arrives intact (sha256), through ZeroTier fragments", async () => {
    const b = (await network("b"))!.assignedAddresses[0]!.split("/")[0]!;
    const file = join(tmp, "payload.bin");
    const data = randomBytes(20_000_000);
    writeFileSync(file, data);
    const want = createHash("sha256").update(data).digest("hex");
    const reassembledBefore = await metric("b", "zt_reassembled");
    const [wakeupsBefore, ringsBefore] = [await metric("b", "zt_hot_loop_wakeups"), await metric("b", "zt_udp_doorbell_rings")];
    const dev = (await network("b"))!.portDeviceName;
    const tapRx = async (): Promise<number> => Number((await lab!.exec(ns("b"), ["cat", `/sys/class/net/${dev}/statistics/rx_packets`])).out.trim());
    const tapRxBefore = await tapRx();
    const devA = (await network("a"))!.portDeviceName;
    const tapTxA = async (): Promise<number> => Number((await lab!.exec(ns("a"), ["cat", `/sys/class/net/${devA}/statistics/tx_packets`])).out.trim());
    const txFrames = async (): Promise<number> => {
      const m = String((await lab!.api(ns("a"), homes.a, "GET", "/metrics")).json);
      return Number(new RegExp(`zt_network_frames\\{network_id="${nwid}",direction="tx",kind="unicast"\\} (\\d+)`).exec(m)?.[1] ?? 0);
    };
    const [tapTxBefore, txFramesBefore] = [await tapTxA(), await txFrames()];
    const recv = lab!.exec(ns("b"), ["sh", "-c", "nc -l 5001 | sha256sum"], { timeoutMs: 120_000 });
    await waitForTcpListener(ns("b"), 5001);
    const send = await lab!.exec(ns("a"), ["sh", "-c", `nc -N ${b} 5001 < ${file}`], { timeoutMs: 120_000, allowFail: true });
    expect(send.code).toBe(0);
    const got = (await recv).out.split(" ")[0];
    expect(got).toBe(want);
    // 2800-byte frames over a 1400-byte physical MTU: thousands of packets were reassembled
    expect((await metric("b", "zt_reassembled")) - reassembledBefore).toBeGreaterThan(5000);
    const m = String((await lab!.api(ns("b"), homes.b, "GET", "/metrics")).json);
    const rx = new RegExp(`zt_network_frames\\{network_id="${nwid}",direction="rx",kind="unicast"\\} (\\d+)`).exec(m);
    // 20 MB in frames of at most 2800 bytes
    expect(Number(rx?.[1] ?? 0)).toBeGreaterThan(7000);
    // the receive offload (src/port/tap-gro.ts) wrote them into the tap as far fewer GSO frames
    expect(await tapRx() - tapRxBefore).toBeLessThan(Number(rx?.[1] ?? 0) / 2);
    // and the send offload (src/port/tap-gso.ts) read them from a's tap as TSO trains, then cut them
    const sent = (await txFrames()) - txFramesBefore;
    expect(sent).toBeGreaterThan(7000);
    expect(await tapTxA() - tapTxBefore).toBeLessThan(sent / 2);
    // both show it on /metrics, and neither dropped a frame as malformed or too long
    const offload = async (k: "a" | "b", event: string): Promise<number> => {
      const text = String((await lab!.api(ns(k), homes[k], "GET", "/metrics")).json);
      return Number(new RegExp(`zt_tap_offload\\{network_id="${nwid}",event="${event}"\\} (\\d+)`).exec(text)?.[1] ?? -1);
    };
    // Most segments went into trains. How many depends on how many arrive per event-loop turn:
    // 93–99% of the 7,290 frames in measured runs, so not a fixed count near the total.
    expect(await offload("b", "rx_train_segments")).toBeGreaterThan(Number(rx?.[1] ?? 0) / 2);
    expect(await offload("a", "tx_train_segments")).toBeGreaterThan(7000);
    for (const k of ["a", "b"] as const) {
      expect(await offload(k, "tx_dropped_malformed")).toBe(0);
      expect(await offload(k, "rx_dropped_too_long")).toBe(0);
    }
    expect(m).toContain(`zt_network_status{network_id="${nwid}",status="OK"} 1`);
    // with --tap the hot loop (ffi/hot-loop.ts) carried the transfer: on, and b's datagrams
    // were found by its poll() (in batches: 753 polls with traffic in one measured run) more
    // often than by a doorbell ring
    for (const k of ["a", "b"] as const) expect(await metric(k, "zt_hot_loop_enabled")).toBe(1);
    const wakeups = (await metric("b", "zt_hot_loop_wakeups")) - wakeupsBefore;
    expect(wakeups).toBeGreaterThan(50);
    expect(wakeups).toBeGreaterThan((await metric("b", "zt_udp_doorbell_rings")) - ringsBefore);
  }, 150_000);

  const privateTitle =
    "private network: ACCESS_DENIED until authorized, then ping with COMs exchanged (zerotier-cli join/listnetworks/leave)";
  test(privateTitle, async () => {
    const r = await lab!.api(lab!.hub, homes.root, "POST", `/controller/network/${addr.root}______`, {
      name: "priv",
      private: true,
      ipAssignmentPools: [{ ipRangeStart: "10.232.8.10", ipRangeEnd: "10.232.8.200" }],
      routes: [{ target: "10.232.8.0/24", via: null }],
      v4AssignMode: { zt: true },
    });
    const priv = (r.json as { id: string }).id;
    for (const k of ["a", "b"] as const) {
      const j = await lab!.exec(ns(k), [process.execPath, join(ROOT, "src/cli/cli.ts"), `-D${homes[k]}`, "join", priv]);
      expect(j.out.trim()).toBe("200 join OK");
    }
    for (const k of ["a", "b"] as const) {
      await waitFor(`${k} ACCESS_DENIED`, async () => {
        const x = await lab!.api(ns(k), homes[k], "GET", `/network/${priv}`);
        return (x.json as NetJson).status === "ACCESS_DENIED" ? true : null;
      }, 20_000);
      const member = `/controller/network/${priv}/member/${addr[k]}`;
      expect((await lab!.api(lab!.hub, homes.root, "POST", member, { authorized: true })).status).toBe(200);
    }
    const ips: string[] = [];
    for (const k of ["a", "b"] as const) {
      const n = await waitFor(`${k} OK on the private network`, async () => {
        const x = (await lab!.api(ns(k), homes[k], "GET", `/network/${priv}`)).json as NetJson;
        return x.status === "OK" && x.assignedAddresses.length > 0 ? x : null;
      }, 30_000);
      ips.push(n.assignedAddresses[0]!.split("/")[0]!);
    }
    const list = await lab!.exec(ns("a"), [process.execPath, join(ROOT, "src/cli/cli.ts"), `-D${homes.a}`, "listnetworks"]);
    const ip = ips[0]!.replaceAll(".", "\\.");
    expect(list.out).toMatch(new RegExp(`^200 listnetworks ${priv} priv [0-9a-f:]{17} OK PRIVATE zt\\w+ ${ip}/24$`, "m"));
    const p = await lab!.exec(ns("a"), ["ping", "-c", "3", "-W", "3", ips[1]!], { allowFail: true, timeoutMs: 20_000 });
    expect(p.out).toMatch(/ 0% packet loss/);
    const leave = await lab!.exec(ns("b"), [process.execPath, join(ROOT, "src/cli/cli.ts"), `-D${homes.b}`, "leave", priv]);
    expect(leave.out.trim()).toBe("200 leave OK");
  }, 90_000);

  test("20 MB over TCP/IPv6 (rfc4193 addresses) arrives intact through the tap offloads", async () => {
    const r = await lab!.api(lab!.hub, homes.root, "POST", `/controller/network/${addr.root}______`, {
      name: "v6",
      private: false,
      v6AssignMode: { rfc4193: true },
    });
    expect(r.status).toBe(200);
    const v6net = (r.json as { id: string }).id;
    const ips: Record<string, string> = {};
    const devs: Record<string, string> = {};
    for (const k of ["a", "b"] as const) {
      expect((await lab!.api(ns(k), homes[k], "POST", `/network/${v6net}`, {})).status).toBe(200);
      const n = await waitFor(`${k} has its rfc4193 address`, async () => {
        const x = (await lab!.api(ns(k), homes[k], "GET", `/network/${v6net}`)).json as NetJson;
        return x.status === "OK" && x.portDeviceName !== "" && x.assignedAddresses.some((a) => a.startsWith("fd")) ? x : null;
      }, 40_000);
      ips[k] = n.assignedAddresses.find((a) => a.startsWith("fd"))!.split("/")[0]!;
      devs[k] = n.portDeviceName;
    }
    // the kernel's duplicate address detection must be over before the address can be used
    for (const k of ["a", "b"] as const) {
      await waitFor(`${k}'s address leaves tentative`, async () => {
        const o = (await lab!.exec(ns(k), ["ip", "-6", "addr", "show", "dev", devs[k]!])).out;
        return o.includes(ips[k]!) && !o.includes("tentative") ? true : null;
      }, 20_000);
    }
    const stat = async (k: "a" | "b", what: "rx" | "tx"): Promise<number> =>
      Number((await lab!.exec(ns(k), ["cat", `/sys/class/net/${devs[k]}/statistics/${what}_packets`])).out.trim());
    const file = join(tmp, "payload6.bin");
    const data = randomBytes(20_000_000);
    writeFileSync(file, data);
    const want = createHash("sha256").update(data).digest("hex");
    const [txA0, rxB0] = [await stat("a", "tx"), await stat("b", "rx")];
    const recv = lab!.exec(ns("b"), ["sh", "-c", "nc -6 -l 5003 | sha256sum"], { timeoutMs: 120_000 });
    await waitFor("the IPv6 listener", async () => ((await lab!.exec(ns("b"), ["sh", "-c", "ss -ltn6 | grep -q ':5003 '"], { allowFail: true })).code === 0 ? true : null), 10_000);
    const send = await lab!.exec(ns("a"), ["sh", "-c", `nc -6 -N ${ips.b} 5003 < ${file}`], { timeoutMs: 120_000, allowFail: true });
    expect(send.code).toBe(0);
    expect((await recv).out.split(" ")[0]).toBe(want);
    // 20 MB is over 7,000 segments of at most 2,800 bytes; the offloads moved them in far fewer
    expect(await stat("a", "tx") - txA0).toBeLessThan(3500);
    expect(await stat("b", "rx") - rxB0).toBeLessThan(3500);
    for (const k of ["a", "b"] as const) await lab!.api(ns(k), homes[k], "DELETE", `/network/${v6net}`);
  }, 120_000);

  test("shutdown removes the taps; after a restart the network is back from networks.d with the same tap and address", async () => {
    const before = (await network("b"))!;
    procB!.kill("SIGTERM");
    expect(await procB!.exited).toBe(0);
    const links = await lab!.exec(ns("b"), ["ip", "-o", "link", "show"]);
    expect(links.out).not.toContain(before.portDeviceName);
    procB = lab!.startService(ns("b"), homes.b, ["--tap"]);
    const after = await ready("b");
    expect(after.portDeviceName).toBe(before.portDeviceName);
    expect(after.assignedAddresses).toEqual(before.assignedAddresses);
    const ip = before.assignedAddresses[0]!.split("/")[0]!;
    const p = await lab!.exec(ns("a"), ["ping", "-c", "2", "-W", "3", ip], { allowFail: true, timeoutMs: 20_000 });
    expect(p.out).toMatch(/ 0% packet loss/);
  }, 60_000);

  test("leaving removes the tap", async () => {
    const dev = (await network("a"))!.portDeviceName;
    const r = await lab!.api(ns("a"), homes.a, "DELETE", `/network/${nwid}`);
    expect(r.json).toEqual({ result: true });
    const gone = async () => ((await lab!.exec(ns("a"), ["ip", "link", "show", "dev", dev], { allowFail: true })).code !== 0 ? true : null);
    await waitFor("tap gone", gone, 10_000);
    expect((await lab!.api(ns("a"), homes.a, "GET", `/network/${nwid}`)).status).toBe(404);
    expect((await lab!.api(ns("a"), homes.a, "DELETE", `/network/${nwid}`)).json).toEqual({});
  }, 20_000);
});
