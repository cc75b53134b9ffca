/**
 * The Linux kernel and our iface over a tap in a private network namespace: ARP both ways,
 * gratuitous ARP, ICMP echo (kernel pings us, we ping the kernel), fragmented pings.
 * Needs root (CI runs as root).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Iface } from "../../src/stack/iface.ts";
import { ipv4ToString } from "../../src/stack/link.ts";
import { macToString } from "../../src/stack/wire/ethernet.ts";
import { systemClock } from "../../src/util/clock.ts";
import { createKernelNet, setSysctl, type KernelNet } from "./kernel-harness.ts";

const STACK_MAC = 0x02aabbcc0001;

let net: KernelNet;
let iface: Iface;
let tick: ReturnType<typeof setInterval>;

beforeAll(async () => {
  net = await createKernelNet({ mtu: 1500 });
  // Let the kernel create neighbour entries from gratuitous ARP, so we can observe ours arrive.
  await setSysctl(net.ns, `net/ipv4/conf/${net.ifname}/arp_accept`, "1");
  iface = new Iface({ mac: STACK_MAC, sink: net.tap, clock: systemClock, mtu: net.mtu });
  iface.addAddress(net.stackIp, net.prefixLen);
  net.tap.start(iface);
  tick = setInterval(() => iface.poll(), 50);
});

afterAll(async () => {
  clearInterval(tick);
  await net?.close();
});

/** Poll `check` until it holds or `ms` pass (a deadline, not a guess at how long the kernel takes). */
async function until(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check()) && Date.now() < deadline) await Bun.sleep(10);
}

async function neighbour(ip: number): Promise<string> {
  const r = await net.exec(["ip", "neigh", "show", ipv4ToString(ip), "dev", net.ifname]);
  return r.stdout.trim();
}

describe("kernel <-> iface over a tap", () => {
  test("gratuitous ARP on start reaches the kernel", async () => {
    expect(await neighbour(net.stackIp)).toBe("");
    iface.start();
    let seen = "";
    await until(async () => (seen = await neighbour(net.stackIp)).includes(macToString(STACK_MAC)));
    expect(seen).toContain(`lladdr ${macToString(STACK_MAC)}`);
    expect(iface.stats.gratuitousArpSent).toBe(1);
  });

  test("we ping the kernel: our ARP request resolves its MAC", async () => {
    expect(iface.arpPeek(net.kernelIp)).toBe(-1);
    const got: number[] = [];
    iface.onEchoReply = (src, id, seq) => {
      if (src === net.kernelIp && id === 4242) got.push(seq);
    };
    // Each ping after the previous reply: the first one waits for ARP, the others go straight out.
    for (let seq = 1; seq <= 3; seq++) {
      iface.sendPing(net.kernelIp, 4242, seq, 56);
      await until(() => got.length >= seq);
    }
    expect(got).toEqual([1, 2, 3]);
    expect(iface.arpPeek(net.kernelIp)).toBe(net.kernelMac);
  });

  test("the kernel pings us: every echo answered, RTT logged (bounded only loosely: a loaded machine stalls)", async () => {
    const r = await net.exec(["ping", "-c", "20", "-i", "0.01", "-W", "5", ipv4ToString(net.stackIp)]);
    expect(r.stdout).toContain("20 packets transmitted, 20 received, 0% packet loss");
    const m = /rtt min\/avg\/max\/mdev = ([\d.]+)\/([\d.]+)\/([\d.]+)/.exec(r.stdout);
    expect(m).not.toBeNull();
    console.log(`kernel -> stack ping rtt min/avg/max ms: ${m![1]}/${m![2]}/${m![3]}`);
    // Typically well under a millisecond; only a stack that answers from a slow timer instead of at
    // once would come near this.
    expect(Number(m![2])).toBeLessThan(500);
    expect(await neighbour(net.stackIp)).toMatch(new RegExp(`lladdr ${macToString(STACK_MAC)} (REACHABLE|STALE|DELAY|PROBE)`));
  });

  test("fragmented pings reassemble in both directions (4000 bytes at MTU 1500)", async () => {
    const before = iface.stats.fragmentsReassembled;
    const r = await net.exec(["ping", "-c", "3", "-i", "0.05", "-W", "1", "-s", "4000", ipv4ToString(net.stackIp)]);
    expect(r.stdout).toContain("3 received");
    expect(r.stdout).toContain("4008 bytes from");
    expect(iface.stats.fragmentsReassembled - before).toBe(3);
    expect(iface.stats.datagramsFragmented).toBeGreaterThanOrEqual(3);
  });

  test("a ping flood gets every reply", async () => {
    const r = await net.exec(["ping", "-f", "-c", "2000", "-W", "1", ipv4ToString(net.stackIp)], { timeoutMs: 20_000 });
    expect(r.stdout).toContain("2000 packets transmitted, 2000 received");
  });

  test("nothing was dropped as malformed", () => {
    for (const k of ["ipv4-bad-checksum", "ipv4-truncated", "ipv4-bad-total-length", "icmp-bad-checksum", "arp-truncated"] as const) {
      expect(iface.drops[k]).toBe(0);
    }
  });
});
