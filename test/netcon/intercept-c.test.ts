/**
 * The C programs in test/netcon/c/, compiled here and run under libzerotierintercept.so against
 * test/netcon/fixture-service.ts (a netcon endpoint whose stack is 10.9.0.1 with an in-memory
 * peer 10.9.0.2). Each program prints "ok"/"not ok" lines and exits non-zero on a failure; its
 * output is shown when it fails.
 *
 * ZT_INTERCEPT_ASAN=1 runs everything with the AddressSanitizer+UBSan build of the library.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { IoUring } from "../../ffi/io-uring.ts";
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { LIBRARY_NAME, asanRuntimePreload, ensureInterceptLibrary } from "../../intercept/build.ts";

const ROOT = join(import.meta.dir, "../..");
const C_DIR = join(import.meta.dir, "c");
const FIXTURE = join(import.meta.dir, "fixture-service.ts");
const ASAN = process.env.ZT_INTERCEPT_ASAN === "1";
const CFLAGS = ["-Wall", "-Wextra", "-Werror", "-O1", "-g", "-D_GNU_SOURCE", "-pthread"];

/** Collects a stream's text and lets a caller wait for a pattern in it. */
class Output {
  text = "";
  readonly closed: Promise<void>;
  private ended = false;
  private waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void; reject: (e: Error) => void }[] = [];

  constructor(stream: ReadableStream<Uint8Array>) {
    this.closed = this.pump(stream);
  }

  private async pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    const dec = new TextDecoder();
    for await (const chunk of stream) {
      this.text += dec.decode(chunk, { stream: true });
      this.settle();
    }
    this.ended = true;
    this.settle();
  }

  private settle(): void {
    this.waiters = this.waiters.filter((w) => {
      const m = this.text.match(w.re);
      if (m !== null) w.resolve(m);
      else if (this.ended) w.reject(new Error(`output ended without ${w.re}:\n${this.text}`));
      else return true;
      return false;
    });
  }

  /** Resolves when the text matches; fails after ms (a deadline, not a wait for readiness). */
  waitFor(re: RegExp, ms: number): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${re} within ${ms} ms:\n${this.text}`)), ms);
      this.waiters.push({
        re,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.settle();
    });
  }
}

interface Run {
  code: number;
  out: string;
  err: string;
}

interface Started {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  out: Output;
  err: Output;
}

function start(argv: string[], env: Record<string, string | undefined>): Started {
  const proc = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe", env });
  return { proc, out: new Output(proc.stdout), err: new Output(proc.stderr) };
}

async function finish(s: Started, timeoutMs: number): Promise<Run> {
  const timer = setTimeout(() => s.proc.kill("SIGKILL"), timeoutMs);
  const code = await s.proc.exited;
  clearTimeout(timer);
  await Promise.all([s.out.closed, s.err.closed]);
  return { code, out: s.out.text, err: s.err.text };
}

function expectExit(name: string, r: Run, code = 0): void {
  if (r.code !== code) throw new Error(`${name} exited ${r.code}, expected ${code}\n--- stdout\n${r.out}--- stderr\n${r.err}`);
  expect(r.out).not.toMatch(/^not ok /m);
}

/** Environment without any intercept setting of the caller's. */
function baseEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const k of ["LD_PRELOAD", "ZT_NC_NWID", "ZT_NC_HOME", "ZT_NC_DEBUG", "ZT_NC_LIBRARY"]) delete env[k];
  return env;
}

let work = "";
let home = "";
let preload = "";
let plainLibrary = "";
/** For programs not ours: curl hangs in setlocale() with any ASan runtime preloaded (even
 * without this library), so it always gets the plain build; python3 gets the ASan build but
 * its own leaks are not ours to report. */
let thirdPartyPreload: (program: string) => Record<string, string> = () => ({});
/** A running fixture service: its home, network and pid, and how it serves program sockets. */
interface Target {
  proc: Started;
  home: string;
  nwid: string;
  pid: string;
  io: string;
}
/** The default way (our epoll set where io_uring works), and Bun's event loop (ZT_NETCON_IO=bun). */
let fixture: Target | null = null;
let fixtureBun: Target | null = null;
let nwid = "";
let servicePid = "";

async function startFixture(dir: string, extra: Record<string, string>): Promise<Target> {
  const proc = start([process.execPath, FIXTURE, "--home", dir], { ...process.env, ...extra });
  const m = await proc.out.waitFor(/^READY ([0-9a-f]{16}) (\d+) (epoll|bun)$/m, 30_000);
  return { proc, home: dir, nwid: m[1] ?? "", pid: m[2] ?? "", io: m[3] ?? "" };
}

const bin = (name: string): string => join(work, "bin", name);

function interceptEnv(extra: Record<string, string> = {}, to: Target | null = null): Record<string, string | undefined> {
  return {
    ...baseEnv(),
    LD_PRELOAD: preload,
    ZT_NC_NWID: to?.nwid ?? nwid,
    ZT_NC_HOME: to?.home ?? home,
    ZT_TEST_SERVICE_PID: to?.pid ?? servicePid,
    ...(ASAN ? { UBSAN_OPTIONS: "halt_on_error=1:print_stacktrace=1" } : {}),
    ...extra,
  };
}

async function runProgram(name: string, args: string[] = [], timeoutMs = 60_000, to: Target | null = null): Promise<Run> {
  return finish(start([bin(name), ...args], interceptEnv({}, to)), timeoutMs);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "zt-intercept-"));
  home = join(work, "home");
  plainLibrary = ensureInterceptLibrary();
  const lib = ASAN ? ensureInterceptLibrary({ asan: true }) : plainLibrary;
  preload = (ASAN ? [...asanRuntimePreload(), lib] : [lib]).join(" ");
  thirdPartyPreload = (program): Record<string, string> =>
    ASAN && !program.endsWith("curl") ? { LD_PRELOAD: preload, ASAN_OPTIONS: "detect_leaks=0" } : { LD_PRELOAD: plainLibrary };
  const sources = readdirSync(C_DIR).filter((f) => f.endsWith(".c"));
  mkdirSync(join(work, "bin"));
  const builds = sources.map((f) => {
    const out = bin(f.slice(0, -2));
    return start(["cc", ...CFLAGS, "-o", out, join(C_DIR, f)], baseEnv());
  });
  const results = await Promise.all(builds.map((b) => finish(b, 60_000)));
  results.forEach((r, i) => expectExit(`cc ${sources[i]}`, r));
  [fixture, fixtureBun] = await Promise.all([startFixture(home, {}), startFixture(join(work, "home-bun"), { ZT_NETCON_IO: "bun" })]);
  nwid = fixture.nwid;
  servicePid = fixture.pid;
}, 120_000);

afterAll(() => {
  fixture?.proc.proc.kill("SIGKILL");
  fixtureBun?.proc.proc.kill("SIGKILL");
  if (work !== "") rmSync(work, { recursive: true, force: true });
});

describe(`intercept C programs${ASAN ? " (ASan)" : ""}`, () => {
  const programs = [
    "connect",
    "readiness",
    "accept",
    "accept_fork",
    "bind",
    "sockname",
    "fdreuse",
    "sockopt",
    "shutdown",
    "exec",
    "bulk",
    "backpressure",
    "refuse",
    "syscall",
    "threads",
    "privdrop",
    "sndbuf",
  ];
  for (const name of programs) {
    test(name, async () => {
      expectExit(name, await runProgram(name));
    }, 90_000);
  }

  test("the default service reads program sockets from its own epoll set where io_uring works", () => {
    const ring = IoUring.open(4);
    const uring = typeof ring !== "string";
    if (uring) ring.close();
    expect(fixture?.io).toBe(uring ? "epoll" : "bun");
    expect(fixtureBun?.io).toBe("bun");
  });

  // The same programs against a service whose program sockets Bun's event loop serves (the way
  // where io_uring is refused): both ports keep the kernel's semantics.
  for (const name of programs) {
    test(`${name} (ZT_NETCON_IO=bun)`, async () => {
      expectExit(name, await runProgram(name, [], 60_000, fixtureBun));
    }, 90_000);
  }

  test("without ZT_NC_NWID the library is inert (host sockets)", async () => {
    const r = await finish(start([bin("inert")], { ...baseEnv(), LD_PRELOAD: preload }), 30_000);
    expectExit("inert", r);
    expect(r.err).toBe("");
  });

  test("a bad ZT_NC_NWID refuses IPv4/IPv6 sockets with EACCES and says so once", async () => {
    const r = await finish(start([bin("inert"), "badnwid"], { ...baseEnv(), LD_PRELOAD: preload, ZT_NC_NWID: "not-hex" }), 30_000);
    expectExit("inert badnwid", r);
    expect(r.err.match(/zerotier-intercept: .*ZT_NC_NWID/g)?.length).toBe(1);
  });

  const python = Bun.which("python3");
  const curl = Bun.which("curl");

  test.skipIf(python === null || curl === null)("without ZT_NC_NWID, python3 and curl behave as without the library", async () => {
    const py = [python ?? "", "-c", "import socket; s=socket.socket(); print(s)"];
    const cu = [curl ?? "", "-s", "file:///etc/hostname"];
    for (const argv of [py, cu]) {
      const plain = await finish(start(argv, baseEnv()), 30_000);
      const loaded = await finish(start(argv, { ...baseEnv(), ...thirdPartyPreload(argv[0] ?? "") }), 30_000);
      expect(loaded).toEqual(plain);
    }
  });

  test.skipIf(python === null || curl === null)("python3 -m http.server on :: serves curl, both intercepted", async () => {
    const server = start([python ?? "", "-u", "-m", "http.server", "--bind", "::", "0", "--directory", C_DIR], interceptEnv(thirdPartyPreload(python ?? "")));
    try {
      const m = await server.out.waitFor(/port (\d+)/, 20_000);
      const r = await finish(start([curl ?? "", "-sS", `http://10.9.0.1:${m[1]}/ztest.h`], interceptEnv(thirdPartyPreload(curl ?? ""))), 30_000);
      expectExit("curl", r);
      expect(r.out).toContain("#ifndef ZTEST_H");
    } finally {
      server.proc.kill("SIGTERM");
      await finish(server, 10_000);
    }
  }, 60_000);

  test("launchers: zerotier-intercept (bun and sh) run a program under the library", async () => {
    const env = { ...baseEnv(), ZT_NC_NWID: nwid, ZT_NC_HOME: home };
    const viaBun = await finish(start([process.execPath, join(ROOT, "src/cli/intercept.ts"), bin("sockopt")], env), 60_000);
    expectExit("bun src/cli/intercept.ts sockopt", viaBun);
    const viaSh = await finish(start([join(ROOT, "intercept/zerotier-intercept"), "--", bin("sockopt")], { ...env, ZT_NC_LIBRARY: plainLibrary }), 60_000);
    expectExit("intercept/zerotier-intercept sockopt", viaSh);
    const status = await finish(start([process.execPath, join(ROOT, "src/cli/intercept.ts"), "sh", "-c", "kill -TERM $$"], env), 30_000);
    expect(status.code).toBe(128 + 15);
    for (const argv of [[process.execPath, join(ROOT, "src/cli/intercept.ts"), "true"], [join(ROOT, "intercept/zerotier-intercept"), "true"]]) {
      const bad = await finish(start(argv, { ...env, ZT_NC_NWID: "12345", ZT_NC_LIBRARY: plainLibrary }), 30_000);
      expect(bad.code).toBe(2);
      expect(bad.err).toContain("ZT_NC_NWID");
    }
    expect(plainLibrary.endsWith(LIBRARY_NAME)).toBe(true);
  }, 120_000);

  // Last: kills the fixture.
  test("service_death: ENETDOWN, EPIPE and no hang when the service dies", async () => {
    const s = start([bin("service_death")], interceptEnv());
    await s.out.waitFor(/^KILL-SERVICE-NOW$/m, 30_000);
    fixture?.proc.proc.kill("SIGKILL");
    expectExit("service_death", await finish(s, 30_000));
  }, 60_000);
});
