/**
 * iperf3 over the tap, both ways round: the kernel's iperf3 client against an iperf3-protocol
 * server on our stack (normal, reverse -R, parallel -P 4), and our iperf3 client against the
 * kernel's `iperf3 -s` (normal and reverse). Needs root and iperf3.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ipv4ToString } from "../../src/stack/link.ts";
import { attachStack, createKernelNet, type AttachedStack, type KernelNet } from "./kernel-harness.ts";
import { runIperf3Client } from "./iperf3-client.ts";
import { Iperf3Server } from "./iperf3-server.ts";

let net: KernelNet;
let att: AttachedStack;
let srv: Iperf3Server;

interface Iperf3Json {
  error?: string;
  end: { sum_sent: { bytes: number; bits_per_second: number }; sum_received: { bytes: number; bits_per_second: number } };
}

async function iperf3(args: string[]): Promise<Iperf3Json> {
  const r = await net.exec(["iperf3", "-c", ipv4ToString(net.stackIp), "-J", ...args], { timeoutMs: 30_000, allowFail: true });
  const j = JSON.parse(r.stdout) as Iperf3Json;
  expect(j.error).toBeUndefined();
  expect(r.code).toBe(0);
  return j;
}

beforeAll(async () => {
  net = await createKernelNet({ mtu: 2800 });
  att = attachStack(net, { tcp: { recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 } });
  srv = new Iperf3Server(att.stack);
});

afterAll(async () => {
  srv?.close();
  att?.stop();
  await net?.close();
});

describe("kernel iperf3 client -> our iperf3 server", () => {
  test("kernel sends for 2 s: both sides agree on the bytes we received", async () => {
    const j = await iperf3(["-t", "2"]);
    const ours = srv.results.at(-1)!;
    expect(ours.reverse).toBe(false);
    expect(j.end.sum_received.bytes).toBe(ours.bytes);
    expect(ours.bytes).toBeGreaterThan(10 << 20);
    expect(j.end.sum_sent.bytes).toBeGreaterThanOrEqual(ours.bytes);
    console.log(`iperf3 kernel -> stack: ${(j.end.sum_received.bits_per_second / 8e6).toFixed(0)} MB/s`);
  }, 30_000);

  test("reverse (-R): we send for 2 s and the kernel receives", async () => {
    const j = await iperf3(["-t", "2", "-R"]);
    const ours = srv.results.at(-1)!;
    expect(ours.reverse).toBe(true);
    expect(j.end.sum_received.bytes).toBeGreaterThan(10 << 20);
    expect(j.end.sum_received.bytes).toBeLessThanOrEqual(ours.bytes);
    console.log(`iperf3 stack -> kernel: ${(j.end.sum_received.bits_per_second / 8e6).toFixed(0)} MB/s`);
  }, 30_000);

  test("4 parallel streams", async () => {
    const j = await iperf3(["-t", "1", "-P", "4"]);
    const ours = srv.results.at(-1)!;
    expect(ours.streams).toBe(4);
    expect(j.end.sum_received.bytes).toBe(ours.bytes);
    expect(ours.bytes).toBeGreaterThan(4 << 20);
  }, 30_000);
});

describe("our iperf3 client -> kernel iperf3 -s", () => {
  async function kernelServer(port: number): Promise<Bun.Subprocess<"pipe" | "ignore", "pipe", "pipe">> {
    const p = net.spawn(["iperf3", "-s", "-1", "-J", "-B", ipv4ToString(net.kernelIp), "-p", String(port)]);
    for (let i = 0; i < 100; i++) {
      const ss = await net.exec(["ss", "-ltnH", `sport = :${port}`]);
      if (ss.stdout.includes(String(port))) break;
      await Bun.sleep(20);
    }
    return p;
  }

  for (const reverse of [false, true]) {
    test(`${reverse ? "reverse: the kernel sends" : "we send"} for 2 s; the kernel's report agrees`, async () => {
      const port = reverse ? 5212 : 5211;
      const p = await kernelServer(port);
      const r = await runIperf3Client(att.stack, net.kernelIp, { port, seconds: 2, reverse });
      const out = JSON.parse(await new Response(p.stdout).text()) as Iperf3Json;
      expect(out.error).toBeUndefined();
      expect(r.ourBytes).toBeGreaterThan(10 << 20);
      if (reverse) {
        // The kernel sent; we counted what arrived during the test.
        expect(r.serverBytes).toBe(out.end.sum_sent.bytes);
        expect(r.ourBytes).toBeLessThanOrEqual(r.serverBytes);
      } else {
        expect(r.serverBytes).toBe(out.end.sum_received.bytes);
        expect(r.serverBytes).toBeLessThanOrEqual(r.ourBytes);
        expect(r.serverBytes).toBeGreaterThan(10 << 20);
      }
      console.log(`our iperf3 client ${reverse ? "<-" : "->"} kernel: ${((reverse ? r.ourBytes : r.serverBytes) / r.seconds / 1e6).toFixed(0)} MB/s`);
    }, 30_000);
  }
});
