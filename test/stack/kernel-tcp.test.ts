/**
 * Our TCP against the Linux kernel's, over a tap into a private network namespace: curl and nc
 * talk to servers on our stack and our stack connects to kernel servers; large transfers compare
 * sha256 digests; half-close; 1,000 concurrent connections each way; refused connections.
 * Needs root (CI runs as root).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ipv4ToString } from "../../src/stack/link.ts";
import { attachStack, createKernelNet, type AttachedStack, type KernelNet } from "./kernel-harness.ts";
import { clientExchange, echoServer, hashingServer, httpServer, sha256, sourceServer } from "./stack-apps.ts";
import { waitForTcpListener } from "../support/tcp-listener.ts";

const BIG_MB = Number(process.env.STACK_KERNEL_MB ?? 100);
const PEER = new URL("./kernel-peer.ts", import.meta.url).pathname;

let net: KernelNet;
let att: AttachedStack;
let ip: string;
let kip: string;
let dataFile: string;
let dataSha: string;

function randomBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(b.subarray(i, Math.min(n, i + 65536)));
  return b;
}

/** Start the kernel-side echo server (node:net in the namespace) and wait until it listens. */
async function kernelEchoServer(port: number): Promise<{ kill(): void }> {
  const p = net.spawn([process.execPath, PEER, "echo-server", kip, String(port)]);
  const reader = p.stdout.getReader();
  const { value } = await reader.read();
  expect(new TextDecoder().decode(value)).toContain("ready");
  reader.releaseLock();
  return { kill: () => p.kill() };
}

beforeAll(async () => {
  net = await createKernelNet({ mtu: 1500 });
  att = attachStack(net);
  ip = ipv4ToString(net.stackIp);
  kip = ipv4ToString(net.kernelIp);
  dataFile = `/tmp/${net.ns}.data`;
  await net.exec(["sh", "-c", `head -c ${BIG_MB}M /dev/urandom > ${dataFile}`]);
  dataSha = (await net.exec(["sha256sum", dataFile])).stdout.split(" ")[0]!;
});

afterAll(async () => {
  att?.stop();
  if (dataFile) await net?.exec(["rm", "-f", dataFile], { allowFail: true });
  await net?.close();
});

describe("kernel clients -> our servers", () => {
  test("curl fetches a 1 MB body from our HTTP responder", async () => {
    const body = randomBytes(1 << 20);
    const srv = httpServer(att.stack, 80, body);
    const r = await net.exec(["sh", "-c", `curl -sS -m 20 http://${ip}/file | sha256sum`]);
    expect(r.stdout.split(" ")[0]).toBe(sha256(body));
    expect(srv.requests).toBe(1);
    srv.close();
  }, 60_000);

  test(`nc sends ${BIG_MB} MB; digests match`, async () => {
    const srv = hashingServer(att.stack, 5001);
    const t0 = performance.now();
    await net.exec(["sh", "-c", `nc -N ${ip} 5001 < ${dataFile}`], { timeoutMs: 110_000 });
    const got = await srv.results[0]!;
    const s = (performance.now() - t0) / 1000;
    console.log(`kernel -> stack ${BIG_MB} MB: ${(BIG_MB / s).toFixed(0)} MiB/s`);
    expect(got.error).toBeNull();
    expect(got.bytes).toBe(BIG_MB << 20);
    expect(got.sha256).toBe(dataSha);
    srv.close();
  }, 60_000);

  test("half-close: the kernel shuts its write side, then reads our answer", async () => {
    const srv = hashingServer(att.stack, 5003, (r) => new TextEncoder().encode(`got ${r.bytes} ${r.sha256}\n`));
    const msg = "hello, half-closed world";
    const r = await net.exec(["sh", "-c", `printf '${msg}' | nc -N ${ip} 5003`]);
    expect(r.stdout).toBe(`got ${msg.length} ${sha256(new TextEncoder().encode(msg))}\n`);
    srv.close();
  }, 60_000);

  test("1,000 concurrent kernel connections to our echo server", async () => {
    const srv = echoServer(att.stack, 7);
    const r = await net.exec([process.execPath, PEER, "clients", ip, "7", "1000", "3000"], { timeoutMs: 90_000, allowFail: true });
    const res = JSON.parse(r.stdout.trim().split("\n").pop()!) as { ok: number; failed: number; errors: Record<string, number> };
    expect(res.errors).toEqual({});
    expect(res.ok).toBe(1000);
    expect(srv.accepted).toBe(1000);
    srv.close();
  }, 60_000);

  test("a closed port refuses the kernel's connection", async () => {
    const r = await net.exec(["nc", "-z", "-w", "2", ip, "5999"], { allowFail: true });
    expect(r.code).not.toBe(0);
    expect(att.stack.tcp.stats.resetsSent).toBeGreaterThan(0);
  });
});

describe("our clients -> kernel servers", () => {
  test(`we send ${BIG_MB} MB to nc -l; digests match`, async () => {
    const data = await Bun.file(dataFile).bytes();
    const p = net.spawn(["sh", "-c", `nc -l ${kip} 5002 | sha256sum`]);
    await waitForTcpListener(net.ns, 5002);
    const t0 = performance.now();
    const r = await clientExchange(att.stack, net.kernelIp, 5002, data);
    const out = await new Response(p.stdout).text();
    const s = (performance.now() - t0) / 1000;
    console.log(`stack -> kernel ${BIG_MB} MB: ${(BIG_MB / s).toFixed(0)} MiB/s`);
    expect(r.error).toBeNull();
    expect(out.split(" ")[0]).toBe(dataSha);
  }, 60_000);

  test(`we fetch ${BIG_MB} MB from a kernel nc server; digests match`, async () => {
    const p = net.spawn(["sh", "-c", `nc -N -l ${kip} 5004 < ${dataFile}`]);
    await waitForTcpListener(net.ns, 5004);
    const r = await clientExchange(att.stack, net.kernelIp, 5004, new Uint8Array(0), { halfClose: false });
    await p.exited;
    expect(r.error).toBeNull();
    expect(r.bytes).toBe(BIG_MB << 20);
    expect(r.sha256).toBe(dataSha);
  }, 60_000);

  test("half-close: we shut our write side and still receive the whole echo", async () => {
    const echo = await kernelEchoServer(6001);
    const data = randomBytes(2 << 20);
    const r = await clientExchange(att.stack, net.kernelIp, 6001, data);
    echo.kill();
    expect(r.error).toBeNull();
    expect(r.bytes).toBe(data.length);
    expect(r.sha256).toBe(sha256(data));
  }, 60_000);

  test("1,000 concurrent connections from us to a kernel echo server", async () => {
    const echo = await kernelEchoServer(6002);
    const jobs: Promise<{ ok: boolean; error: string | null }>[] = [];
    for (let i = 0; i < 1000; i++) {
      const data = randomBytes(2000);
      const want = sha256(data);
      jobs.push(
        clientExchange(att.stack, net.kernelIp, 6002, data, { recvBufferSize: 16384, sendBufferSize: 16384 }).then((r) => ({
          ok: r.sha256 === want && r.bytes === 2000,
          error: r.error,
        })),
      );
    }
    const res = await Promise.all(jobs);
    echo.kill();
    const errors = res.filter((r) => r.error !== null).map((r) => r.error);
    expect(errors).toEqual([]);
    expect(res.filter((r) => r.ok).length).toBe(1000);
  }, 60_000);

  test("connecting to a closed kernel port fails with ECONNREFUSED", async () => {
    const r = await clientExchange(att.stack, net.kernelIp, 5998, new Uint8Array(10));
    expect(r.error).toBe("ECONNREFUSED");
  });
});

describe("many short HTTP requests", () => {
  test("curl --parallel: 300 requests, 100 at a time", async () => {
    const body = new TextEncoder().encode("ok\n");
    const srv = httpServer(att.stack, 8080, body);
    const curl = ["curl", "-sS", "-Z", "--parallel-max", "100", "-m", "20", "-o", "/dev/null", "-w", "%{http_code}\\n"];
    const r = await net.exec([...curl, `http://${ip}:8080/[1-300]`], {
      timeoutMs: 60_000,
    });
    const codes = r.stdout.trim().split("\n");
    expect(codes.length).toBe(300);
    expect(codes.every((c) => c === "200")).toBe(true);
    expect(srv.requests).toBe(300);
    srv.close();
  }, 60_000);
});
