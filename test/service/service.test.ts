import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { consola, type LogObject } from "consola";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { connect } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { JIT_TIERS } from "../../src/cli/bun-env.ts";
import { isLoopback } from "../../src/service/api/server.ts";
import { Service, StartupError } from "../../src/service/service.ts";
import { writeLoopbackPlanet } from "../support/loopback-planet.ts";
import { waitFor } from "../e2e/helpers.ts";

const ROOT = join(import.meta.dir, "../..");
const tmp = mkdtempSync(join(tmpdir(), "ztnc-svc-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const bun = process.execPath;
/** Async, so an in-process service keeps answering while the CLI runs. */
async function runCli(args: string[]) {
  const p = Bun.spawn([bun, join(ROOT, "src/cli/cli.ts"), ...args], { stdout: "pipe", stderr: "pipe", env: process.env });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
}
/** Until the daemon in `home` has written its port file (it is up), at most 8 s. */
const portFileWritten = (home: string): Promise<boolean> => waitFor("the port file", async () => (existsSync(join(home, "zerotier-one.port")) ? true : null), 8000);
function runService(args: string[], timeoutMs = 8000) {
  const r = Bun.spawnSync([bun, join(ROOT, "src/cli/service.ts"), ...args], {
    stdout: "pipe",
    stderr: "pipe",
    timeout: timeoutMs,
    env: process.env,
  });
  return { code: r.exitCode, out: r.stdout.toString() + r.stderr.toString() };
}

describe("service with a fresh home directory", () => {
  const home = join(tmp, "home-a");
  let svc: Service;
  let base: string;
  let token: string;

  beforeAll(async () => {
    writeLoopbackPlanet(home);
    svc = await Service.start({ home, port: 0 });
    base = `http://127.0.0.1:${svc.port}`;
    token = readFileSync(join(home, "authtoken.secret"), "utf8");
  });
  afterAll(() => svc.stop());

  test("creates identity and tokens with owner-only modes, and the port file", () => {
    expect(statSync(join(home, "identity.secret")).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, "identity.public")).mode & 0o777).toBe(0o644);
    expect(statSync(join(home, "authtoken.secret")).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, "metricstoken.secret")).mode & 0o777).toBe(0o600);
    expect(token).toMatch(/^[a-z0-9]{24}$/);
    expect(readFileSync(join(home, "zerotier-one.port"), "utf8")).toBe(String(svc.port));
    const pub = readFileSync(join(home, "identity.public"), "utf8");
    expect(readFileSync(join(home, "identity.secret"), "utf8").startsWith(pub + ":")).toBe(true);
  });

  test("API rejects missing and wrong tokens with 401 {}", async () => {
    const inits: RequestInit[] = [{}, { headers: { "X-ZT1-Auth": "wrong" } }, { headers: { Authorization: "Bearer nope" } }];
    for (const init of inits) {
      const r = await fetch(`${base}/status`, init);
      expect(r.status).toBe(401);
      expect(await r.text()).toBe("{}");
    }
    expect((await fetch(`${base}/status?auth=${token}x`)).status).toBe(401);
  });

  test("API accepts the token as X-ZT1-Auth, Bearer and ?auth=", async () => {
    const pub = readFileSync(join(home, "identity.public"), "utf8");
    for (const [url, init] of [
      [`${base}/status`, { headers: { "x-zt1-auth": token } }],
      [`${base}/status`, { headers: { Authorization: `Bearer ${token}` } }],
      [`${base}/status?auth=${token}`, {}],
    ] as const) {
      const r = await fetch(url, init);
      expect(r.status).toBe(200);
      const j = (await r.json()) as Record<string, unknown>;
      expect(j.address).toBe(pub.slice(0, 10));
      expect(j.publicIdentity).toBe(pub);
      expect(j.version).toBe("1.14.1");
      expect((j.config as { settings: { primaryPort: number } }).settings.primaryPort).toBe(svc.port);
    }
  });

  test("/health needs no token; /metrics takes the metrics token but /status does not", async () => {
    const h = await fetch(`${base}/health`);
    expect(h.status).toBe(200);
    expect(((await h.json()) as { versionMajor: number }).versionMajor).toBe(1);
    const mt = readFileSync(join(home, "metricstoken.secret"), "utf8");
    const m = await fetch(`${base}/metrics`, { headers: { "X-ZT1-Auth": mt } });
    expect(m.status).toBe(200);
    expect(await m.text()).toContain("# TYPE");
    expect((await fetch(`${base}/status`, { headers: { "X-ZT1-Auth": mt } })).status).toBe(401);
  });

  test("bad requests get clear errors and change nothing", async () => {
    const hdr = { "X-ZT1-Auth": token };
    const bad = await fetch(`${base}/config/settings`, { method: "POST", headers: hdr, body: "{not json" });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain("invalid JSON");
    const wrongType = await fetch(`${base}/config/settings`, { method: "POST", headers: hdr, body: JSON.stringify({ primaryPort: "x" }) });
    expect(wrongType.status).toBe(400);
    expect(() => readFileSync(join(home, "local.conf"))).toThrow();
    const body = JSON.stringify({ allowTcpFallbackRelay: false });
    const good = await fetch(`${base}/config/settings`, { method: "POST", headers: hdr, body });
    expect(good.status).toBe(200);
    expect(JSON.parse(readFileSync(join(home, "local.conf"), "utf8")).settings.allowTcpFallbackRelay).toBe(false);
    expect((await fetch(`${base}/nope`, { headers: hdr })).status).toBe(404);
    expect((await fetch(`${base}/status`, { method: "DELETE", headers: hdr })).status).toBe(405);
    const big = await fetch(`${base}/config/settings`, { method: "POST", headers: hdr, body: "x".repeat(2 << 20) });
    expect(big.status).toBe(413);
  });

  test("jsonp wraps authenticated answers only: /health stays plain JSON for any web page", async () => {
    const h = await fetch(`${base}/health?jsonp=cb`);
    expect(h.headers.get("content-type")).toStartWith("application/json");
    expect(((await h.json()) as { versionMajor: number }).versionMajor).toBe(1);
    const s = await fetch(`${base}/status?jsonp=cb&auth=${token}`);
    expect(await s.text()).toMatch(/^cb\(\{.*\}\);$/);
    const denied = await fetch(`${base}/status?jsonp=cb`);
    expect(denied.status).toBe(401);
    expect(await denied.text()).toBe("{}");
  });

  test("a chunked body over the limit is refused with 413 before it is read whole", async () => {
    const chunk = "x".repeat(64 * 1024);
    const head = `POST /config/settings HTTP/1.1\r\nHost: 127.0.0.1\r\nX-ZT1-Auth: ${token}\r\nTransfer-Encoding: chunked\r\n\r\n`;
    const answer = await new Promise<string>((resolve) => {
      let out = "";
      const sock = connect(svc.port, "127.0.0.1", () => {
        sock.write(head);
        // 2 MiB in 64 KiB chunks and no final chunk: a server that reads the whole body first
        // would still be waiting for its end; the limit must answer as soon as it is passed.
        for (let i = 0; i < 32 && !sock.destroyed; i++) sock.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
      });
      const deadline = setTimeout(() => sock.destroy(), 10_000);
      sock.on("close", () => clearTimeout(deadline));
      sock.on("data", (d) => {
        out += d.toString();
        if (out.includes("\r\n\r\n")) sock.destroy();
      });
      sock.on("error", () => {}); // the server may reset while we still write
      sock.on("close", () => resolve(out));
    });
    expect(answer).toStartWith("HTTP/1.1 413");
  });

  test("the API is not reachable on any non-loopback address", async () => {
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((i) => i !== undefined && !i.internal && !i.address.startsWith("fe80"))
      .map((i) => (i!.family === "IPv6" ? `[${i!.address}]` : i!.address));
    // 127.0.0.2 is on lo too, but not the address the API binds: a wildcard bind would answer there.
    for (const host of ["127.0.0.2", ...others]) {
      let refused = false;
      try {
        await fetch(`http://${host}:${svc.port}/health`, { signal: AbortSignal.timeout(3000) });
      } catch {
        refused = true;
      }
      expect(`${host} ${refused ? "refused" : "answered"}`).toBe(`${host} refused`);
    }
    expect(isLoopback("127.0.0.1")).toBe(true);
    expect(isLoopback("::ffff:127.0.0.1")).toBe(true);
    expect(isLoopback("::1")).toBe(true);
    expect(isLoopback("192.0.2.2")).toBe(false);
    expect(isLoopback("::ffff:10.0.0.1")).toBe(false);
    expect(isLoopback("1270.0.0.1")).toBe(false);
  });

  test("zerotier-cli info talks to it; a wrong token is reported", async () => {
    const addr = readFileSync(join(home, "identity.public"), "utf8").slice(0, 10);
    const ok = await runCli([`-D${home}`, "info"]);
    expect(ok.out).toBe(`200 info ${addr} 1.14.1 OFFLINE\n`);
    expect(ok.code).toBe(0);
    const bad = await runCli([`-D${home}`, "-Twrongtoken", "info"]);
    expect(bad.out).toBe("401 info {}\n");
    expect(bad.code).toBe(1);
  });

  test("starting a second service on the same port fails clearly", async () => {
    let err: unknown;
    try {
      writeLoopbackPlanet(join(tmp, "home-b"));
      await Service.start({ home: join(tmp, "home-b"), port: svc.port });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StartupError);
    expect((err as Error).message).toContain(`${svc.port}`);
  });
});

describe("service start-up failures and restarts (separate processes)", () => {
  test("restart keeps the identity", async () => {
    const home = join(tmp, "home-r");
    writeLoopbackPlanet(home);
    const a = await Service.start({ home, port: 0 });
    const id1 = a.identity.toString(true);
    await a.stop();
    const b = await Service.start({ home, port: 0 });
    expect(b.identity.toString(true)).toBe(id1);
    await b.stop();
  });

  test("a corrupt identity.secret stops start-up with exit 1 and a message", () => {
    const home = join(tmp, "home-c");
    writeLoopbackPlanet(home);
    writeFileSync(join(home, "identity.secret"), "0123456789:0:zz");
    const r = runService(["-d", home, "-p", "0"]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("identity.secret is corrupt");
  });

  test("secret files readable by other users are made owner-only, with a warning", async () => {
    const home = join(tmp, "home-modes");
    writeLoopbackPlanet(home);
    const a = await Service.start({ home, port: 0 });
    await a.stop();
    chmodSync(join(home, "identity.secret"), 0o644);
    chmodSync(join(home, "authtoken.secret"), 0o640);
    const warnings: string[] = [];
    const reporter = { log: (o: LogObject) => void (o.type === "warn" && warnings.push(o.args.map(String).join(" "))) };
    consola.addReporter(reporter);
    try {
      const b = await Service.start({ home, port: 0 });
      await b.stop();
    } finally {
      consola.removeReporter(reporter);
    }
    expect(statSync(join(home, "identity.secret")).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, "authtoken.secret")).mode & 0o777).toBe(0o600);
    expect(warnings.filter((w) => w.includes("readable by other users")).length).toBe(2);
    expect(warnings.some((w) => w.includes("identity.secret was readable by other users (mode 0644)"))).toBe(true);
  });

  test("an identity whose address does not match its key is refused", async () => {
    const home = join(tmp, "home-v");
    writeLoopbackPlanet(home);
    const s = await Service.start({ home, port: 0 });
    const secret = s.identity.toString(true);
    await s.stop();
    // Change the address digit: parsing succeeds, validation must not.
    const first = secret[0] === "1" ? "2" : "1";
    writeFileSync(join(home, "identity.secret"), first + secret.slice(1));
    const r = runService(["-d", home, "-p", "0"]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("fails validation");
  });

  test("a home path that is a file, and a bad port, exit 1", () => {
    const f = join(tmp, "not-a-dir");
    writeFileSync(f, "x");
    const r = runService(["-d", f, "-p", "0"]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("not a directory");
    const p = runService(["-d", join(tmp, "home-p"), "-p", "70000"]);
    expect(p.code).toBe(1);
    expect(p.out).toContain("invalid port");
  });

  test("invalid local.conf is refused with the key named", () => {
    const home = join(tmp, "home-l");
    writeLoopbackPlanet(home);
    writeFileSync(join(home, "local.conf"), JSON.stringify({ settings: { primaryPort: "9993" } }));
    const r = runService(["-d", home, "-p", "0"]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("primaryPort");
  });

  test("local.conf settings.bind limits the UDP sockets to the listed addresses", async () => {
    const home = join(tmp, "home-bind");
    writeLoopbackPlanet(home);
    writeFileSync(join(home, "local.conf"), JSON.stringify({ settings: { bind: ["127.0.0.1"] } }));
    const s = await Service.start({ home, port: 0 });
    try {
      const token = readFileSync(join(home, "authtoken.secret"), "utf8");
      const st = (await (await fetch(`http://127.0.0.1:${s.port}/status`, { headers: { "X-ZT1-Auth": token } })).json()) as {
        config: { settings: { listeningOn: string[] } };
      };
      expect(st.config.settings.listeningOn).toEqual([`127.0.0.1/${s.port}`]);
    } finally {
      await s.stop();
    }
  });

  test("SIGTERM shuts down cleanly with exit 0", async () => {
    const home = join(tmp, "home-s");
    writeLoopbackPlanet(home);
    const argv = [bun, join(ROOT, "src/cli/service.ts"), "-d", home, "-p", "0"];
    const proc = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe", env: process.env });
    await portFileWritten(home);
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
  });

  test("the daemon runs with Bun's GC timer off and JavaScriptCore's lower thresholds: it execs itself once, same pid and arguments; ZT_BUN_GC_TIMER=keep and ZT_JSC_TIERS=default leave them", async () => {
    const environOf = async (extra: Record<string, string>, name: string): Promise<{ environ: string[]; cmdline: string[] }> => {
      const home = join(tmp, name);
      writeLoopbackPlanet(home);
      const env: Record<string, string | undefined> = { ...process.env, ...extra };
      delete env.BUN_GC_TIMER_DISABLE;
      for (const k of Object.keys(JIT_TIERS)) delete env[k];
      const argv = [bun, join(ROOT, "src/cli/service.ts"), "-d", home, "-p", "0"];
      const proc = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe", env });
      try {
        await portFileWritten(home);
        // the pid Bun.spawn gave is the daemon's own: exec kept it
        const environ = readFileSync(`/proc/${proc.pid}/environ`, "utf8").split("\0");
        const cmdline = readFileSync(`/proc/${proc.pid}/cmdline`, "utf8").split("\0").filter((x) => x !== "");
        return { environ, cmdline };
      } finally {
        proc.kill("SIGTERM");
        expect(await proc.exited).toBe(0);
      }
    };
    const off = await environOf({}, "home-gc-off");
    expect(off.environ).toContain("BUN_GC_TIMER_DISABLE=1");
    expect(off.cmdline.slice(-4)).toEqual(["-d", join(tmp, "home-gc-off"), "-p", "0"]);
    const kept = await environOf({ ZT_BUN_GC_TIMER: "keep" }, "home-gc-keep");
    expect(kept.environ.some((v) => v.startsWith("BUN_GC_TIMER_DISABLE="))).toBe(false);
    for (const [k, v] of Object.entries(JIT_TIERS)) {
      expect(off.environ).toContain(`${k}=${v}`);
      expect(kept.environ).toContain(`${k}=${v}`);
    }
    const own = await environOf({ ZT_JSC_TIERS: "default" }, "home-jsc-default");
    expect(own.environ).toContain("BUN_GC_TIMER_DISABLE=1");
    expect(own.environ.some((v) => v.startsWith("BUN_JSC_threshold"))).toBe(false);
  });

  test("without a planet file, tests refuse to fall back to the public default planet", () => {
    const r = runService(["-d", join(tmp, "home-noplanet"), "-p", "0"]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("ZT_NC_FORBID_DEFAULT_PLANET");
  });

  test("a corrupt planet file stops start-up", () => {
    const home = join(tmp, "home-badplanet");
    mkdirSync(home);
    writeFileSync(join(home, "planet"), new Uint8Array([1, 2, 3]));
    const r = runService(["-d", home, "-p", "0"]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("is not a valid planet");
  });

  test("zerotier-cli reports a service that is not running", async () => {
    const home = join(tmp, "home-n");
    mkdirSync(home);
    writeFileSync(join(home, "zerotier-one.port"), "1");
    writeFileSync(join(home, "authtoken.secret"), "abc");
    const r = await runCli([`-D${home}`, "info"]);
    expect(r.code).toBe(1);
    expect(r.out).toStartWith("Error connecting to the ZeroTier service");
  });
});
