/**
 * Network containers end to end (root only, for the namespaces; the containers themselves run as
 * an unprivileged user): our root + controller in the hub namespace, a `--tap` service in leaf 0,
 * two netcon services (no tap, no root) side by side in leaf 1. Unmodified programs run under
 * libzerotierintercept.so: the kernel side pings the container and fetches from an intercepted
 * `python3 -m http.server`; an intercepted curl fetches from a kernel server; the two containers
 * talk to each other; 100 MiB each way arrive intact; 1,000 concurrent connections; nothing
 * listens on the host; killing the service gives the program an error within a second.
 */
import { ioUringAllowed } from "../ffi/io-uring-allowed.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { ContainerLab, CONTAINER_USER, gauge } from "../support/container-lab.ts";
import { writeEchoClients, writeEchoServer } from "../support/python-echo.ts";
import { waitFor } from "./helpers.ts";
import { netnsPossible, sh } from "./netns-lab.ts";

const possible = netnsPossible();
const USER = CONTAINER_USER;
const PY = "/usr/bin/python3";
const tmp = mkdtempSync(join(tmpdir(), "ztnc-nc-"));
let cl: ContainerLab | null = null;
const procs: Record<string, Subprocess> = {};
const ip: Record<string, string> = {};
const homes: Record<string, string> = {};
let nwid = "";

function ns(k: "tap" | "n1" | "n2"): string {
  return cl!.ns(k === "tap" ? "outside" : k);
}
const lab = {
  exec: (n: string, argv: string[], o?: Parameters<ContainerLab["lab"]["exec"]>[2]) => cl!.lab.exec(n, argv, o),
  spawn: (n: string, argv: string[], log?: string) => cl!.lab.spawn(n, argv, log),
};
function contained(k: "n1" | "n2", argv: string[]): string[] {
  return cl!.contained(k, argv);
}
async function api(k: "root" | "tap" | "n1" | "n2", method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  return cl!.api(k === "tap" ? "outside" : k, method, path, body);
}
async function metrics(k: "n1" | "n2"): Promise<string> {
  return cl!.metrics(k);
}

beforeAll(async () => {
  if (!possible) return;
  cl = await ContainerLab.start({ dir: tmp, containers: ["n1", "n2"], prefix: "zn", subnet: "10.233.9" });
  nwid = cl.nwid;
  Object.assign(homes, cl.homes);
  ip.tap = cl.ip.outside!;
  ip.n1 = cl.ip.n1!;
  ip.n2 = cl.ip.n2!;
  procs.n1 = cl.procs.n1!;
  procs.n2 = cl.procs.n2!;
}, 120_000);

afterAll(async () => {
  for (const p of Object.values(procs)) if (p.exitCode === null) p.kill("SIGKILL");
  await cl?.close();
  rmSync(tmp, { recursive: true, force: true });
}, 30_000);

async function httpServer(k: "n1" | "n2", dir: string, port: number): Promise<Subprocess> {
  const p = lab.spawn(ns(k), contained(k, [PY, "-m", "http.server", String(port), "--directory", dir]), join(tmp, `http-${k}-${port}.log`));
  procs[`http-${k}-${port}`] = p;
  return p;
}

describe("network containers (netns; containers run as an unprivileged user)", () => {
  test("runs as root with network namespaces available", () => {
    expect(possible).toBe(true);
  });

  test("a network on our controller; the tap node and two netcon services get addresses", async () => {
    expect(nwid).toMatch(/^[0-9a-f]{16}$/);
    for (const k of ["tap", "n1", "n2"]) expect(ip[k]).toMatch(/^10\.233\.9\.\d+$/);
    // the endpoint exists, owner-only, owned by the unprivileged user
    const st = await sh(["stat", "-c", "%a %U", join(homes.n1!, "netcon.d")]);
    expect(st.out.trim()).toBe(`700 ${USER}`);
  });

  test("the kernel side pings the container (the user-space stack answers)", async () => {
    const p = await lab.exec(ns("tap"), ["ping", "-c", "3", "-W", "3", ip.n1!], { allowFail: true, timeoutMs: 20_000 });
    expect(p.out).toMatch(/ 0% packet loss/);
  }, 30_000);

  test("curl on the kernel side fetches a page from an intercepted python3 -m http.server; nothing listens on the host", async () => {
    const dir = join(tmp, "www");
    await sh(["mkdir", "-p", dir]);
    writeFileSync(join(dir, "index.html"), "hello from inside the container\n");
    chmodSync(dir, 0o755);
    await httpServer("n1", dir, 8080);
    const body = await waitFor("page", async () => {
      const r = await lab.exec(ns("tap"), ["curl", "-s", "--max-time", "3", `http://${ip.n1}:8080/index.html`], { allowFail: true });
      return r.code === 0 && r.out.length > 0 ? r.out : null;
    }, 30_000);
    expect(body).toBe("hello from inside the container\n");
    const ss = await lab.exec(ns("n1"), ["ss", "-ltnH"]);
    expect(ss.out).not.toContain(":8080");
  }, 60_000);

  test("an intercepted curl fetches from a kernel server on the tap node", async () => {
    const dir = join(tmp, "kernel-www");
    await sh(["mkdir", "-p", dir]);
    writeFileSync(join(dir, "k.txt"), "served by the kernel\n");
    chmodSync(dir, 0o755);
    procs.kweb = lab.spawn(ns("tap"), [PY, "-m", "http.server", "8081", "--bind", ip.tap!, "--directory", dir]);
    const body = await waitFor("kernel page", async () => {
      const r = await lab.exec(ns("n1"), contained("n1", ["curl", "-s", "--max-time", "3", `http://${ip.tap}:8081/k.txt`]), { allowFail: true });
      return r.code === 0 && r.out.length > 0 ? r.out : null;
    }, 30_000);
    expect(body).toBe("served by the kernel\n");
  }, 60_000);

  test("two netcon services on one host talk to each other", async () => {
    const r = await lab.exec(ns("n2"), contained("n2", ["curl", "-s", "--max-time", "5", `http://${ip.n1}:8080/index.html`]), { allowFail: true, timeoutMs: 20_000 });
    expect(r.out).toBe("hello from inside the container\n");
  }, 30_000);

  test("100 MiB each way, sha256-intact", async () => {
    const file = join(tmp, "payload.bin");
    const data = randomBytes(100 * 1024 * 1024);
    writeFileSync(file, data);
    chmodSync(file, 0o644);
    const want = createHash("sha256").update(data).digest("hex");
    // container → kernel
    const recv1 = lab.exec(ns("tap"), ["sh", "-c", "nc -l 5001 | sha256sum"], { timeoutMs: 180_000 });
    await waitFor("kernel listener", async () => ((await lab.exec(ns("tap"), ["ss", "-ltnH", "sport = :5001"])).out.includes("5001") ? true : null));
    const send1 = await lab.exec(ns("n1"), contained("n1", ["sh", "-c", `nc -N ${ip.tap} 5001 < ${file}`]), { timeoutMs: 180_000, allowFail: true });
    expect(send1.err).toBe("");
    expect((await recv1).out.split(" ")[0]).toBe(want);
    // kernel → container (the container listens)
    const out2 = join(homes.n1, "recv2.sha"); // a place the unprivileged user may write
    const recv = lab.exec(ns("n1"), contained("n1", ["sh", "-c", `nc -l ${ip.n1} 5002 | sha256sum > ${out2}`]), { timeoutMs: 180_000, allowFail: true });
    // A refused connect consumes nothing: the sender retries until the container's listener is up.
    const send2 = await lab.exec(ns("tap"), ["sh", "-c", `for i in $(seq 100); do nc -N ${ip.n1} 5002 < ${file} && exit 0; sleep 0.1; done; exit 1`], { timeoutMs: 180_000, allowFail: true });
    expect(send2.code).toBe(0);
    await recv;
    expect(readFileSync(out2, "utf8").split(" ")[0]).toBe(want);
  }, 400_000);

  test("1,000 concurrent connections to an intercepted asyncio echo server", async () => {
    const server = join(tmp, "echo.py");
    writeEchoServer(server, 7000);
    procs.echo = lab.spawn(ns("n1"), contained("n1", [PY, server]), join(tmp, "echo.log"));
    const client = join(tmp, "many.py");
    writeEchoClients(client, ip.n1!, 7000, 1000);
    await waitFor("echo server", async () => {
      const r = await lab.exec(ns("tap"), ["nc", "-z", "-w", "2", ip.n1!, "7000"], { allowFail: true });
      return r.code === 0 ? true : null;
    }, 20_000);
    const r = await lab.exec(ns("tap"), [PY, client], { timeoutMs: 120_000, allowFail: true });
    expect(r.err).toBe("");
    expect(r.out.trim()).toBe("1000");
  }, 150_000);

  test("programs that exit leave nothing behind in the service (zt_netcon_sockets back to 0)", async () => {
    for (const k of ["echo", "http-n1-8080"]) procs[k]?.kill("SIGKILL");
    await waitFor("sockets freed", async () => {
      const m = await metrics("n1");
      const open = gauge(m, /zt_netcon_sockets\{network_id="[0-9a-f]+",state="[a-z]+"\} (\d+)/g);
      return open === 0 ? true : null;
    }, 30_000);
    const m = await metrics("n2");
    expect(gauge(m, /zt_netcon_connections\{network_id="[0-9a-f]+"\} (\d+)/g)).toBe(0);
    // the containers' program sockets were served from the service's own epoll set (io_uring here)
    if (ioUringAllowed()) {
      const m1 = await metrics("n1");
      expect(m1).toContain('zt_netcon_program_io{way="epoll"} 1');
      expect(gauge(m1, /zt_netcon_epoll_events (\d+)/g)).toBeGreaterThan(1000);
      // and the hot loop waited in that set itself (one system call per wake-up)
      expect(gauge(m1, /zt_hot_loop_set_waits (\d+)/g)).toBeGreaterThan(100);
    }
  }, 60_000);

  test("kill -9 of the service during a transfer: the program gets an error within 1 s, then no spin", async () => {
    const writer = join(tmp, "writer.py");
    writeFileSync(writer, [
      "import socket, sys, time",
      `s = socket.create_connection(('${ip.tap}', 5003))`,
      "buf = b'x' * 65536",
      "print('connected', flush=True)",
      "try:",
      "    while True:",
      "        s.sendall(buf)",
      "except OSError as e:",
      "    print('ERR', type(e).__name__, time.time(), flush=True)",
      "try:",
      "    socket.socket().connect(('" + "10.233.9.1" + "', 80))",
      "except OSError as e:",
      "    print('NEW', e.errno, time.time(), flush=True)",
      "",
    ].join("\n"));
    chmodSync(writer, 0o644);
    procs.sink = lab.spawn(ns("tap"), ["sh", "-c", "nc -l 5003 > /dev/null"]);
    await waitFor("sink", async () => ((await lab.exec(ns("tap"), ["ss", "-ltnH", "sport = :5003"])).out.includes("5003") ? true : null));
    const log = join(tmp, "writer.log");
    const w = lab.spawn(ns("n2"), contained("n2", [PY, writer]), log);
    await waitFor("writer connected", async () => (readFileSync(log, "utf8").includes("connected") ? true : null));
    await waitFor("bytes flowing", async () => (gauge(await metrics("n2"), /zt_netcon_bytes\{network_id="[0-9a-f]+",direction="to_peer"\} (\d+)/g) > 1_000_000 ? true : null));
    const killedAt = Date.now() / 1000;
    procs.n2!.kill("SIGKILL");
    await Promise.race([w.exited, Bun.sleep(10_000)]);
    const out = readFileSync(log, "utf8");
    const err = /ERR (\w+) ([\d.]+)/.exec(out);
    expect(err).not.toBeNull();
    expect(["BrokenPipeError", "ConnectionResetError"]).toContain(err![1]!);
    expect(Number(err![2]) - killedAt).toBeLessThan(1);
    const fresh = /NEW (\d+) ([\d.]+)/.exec(out);
    expect(fresh).not.toBeNull();
    expect(Number(fresh![1])).toBe(100); // ENETDOWN
    expect(Number(fresh![2]) - killedAt).toBeLessThan(1.5);
    expect(w.exitCode).toBe(0);
  }, 60_000);
});
