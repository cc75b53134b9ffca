/**
 * Kernel test harness: a network namespace of our own holding the kernel end of a tap whose fd
 * stays in this process. Everything the kernel side does (ping, curl, nc, nft) runs inside the
 * namespace, so the host's networking is never touched. Names are unique per run; close() removes
 * the tap and the namespace.
 */
import { TapDevice, type TapOptions } from "../../ffi/tap.ts";
import { ipv4ToString } from "../../src/stack/link.ts";
import { NetStack, type NetStackOptions } from "../../src/stack/stack.ts";
import { FaultLink, type FaultConfig } from "../../src/stack/link/fault-link.ts";
import { pumpRealTime } from "../../src/stack/link/realtime.ts";
import { systemClock } from "../../src/util/clock.ts";
import { SeededRng } from "../../src/util/random.ts";

let counter = 0;

export interface KernelNet {
  ns: string;
  tap: TapDevice;
  /** The tap's name inside the namespace. */
  ifname: string;
  /** 10.251.X.1: the kernel's address; 10.251.X.2: the stack's. */
  kernelIp: number;
  stackIp: number;
  prefixLen: number;
  mtu: number;
  kernelMac: number;
  /** Run a command inside the namespace; resolves with its output (throws on non-zero exit unless allowFail). */
  exec(cmd: string[], opts?: { allowFail?: boolean; timeoutMs?: number; stdin?: Uint8Array }): Promise<ExecResult>;
  /** Start a long-running command inside the namespace. */
  spawn(cmd: string[], opts?: { stdin?: "pipe" | "ignore" }): Bun.Subprocess<"pipe" | "ignore", "pipe", "pipe">;
  close(): Promise<void>;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string[], opts: { allowFail?: boolean; timeoutMs?: number; stdin?: Uint8Array } = {}): Promise<ExecResult> {
  const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", stdin: opts.stdin ?? "ignore" });
  const timer = setTimeout(() => p.kill(), opts.timeoutMs ?? 30_000);
  return (async () => {
    const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    clearTimeout(timer);
    if (code !== 0 && !opts.allowFail) throw new Error(`${cmd.join(" ")} exited ${code}: ${stderr.trim()}`);
    return { code, stdout, stderr };
  })();
}

/** Write a sysctl inside the namespace through /proc/sys (no procps needed). */
export async function setSysctl(ns: string, key: string, value: string): Promise<void> {
  await run(["ip", "netns", "exec", ns, "sh", "-c", `echo ${value} > /proc/sys/${key}`]);
}

/** True when this process may create namespaces and taps (root with /dev/net/tun). */
export function kernelTestsPossible(): boolean {
  return process.getuid?.() === 0 && Bun.spawnSync(["ip", "netns", "list"]).exitCode === 0;
}

/** Remove namespaces left by earlier runs of this harness whose process is gone (killed mid-test). */
async function sweepStale(): Promise<void> {
  const list = await run(["ip", "netns", "list"], { allowFail: true });
  for (const line of list.stdout.split("\n")) {
    const m = /^t1s(\d+)x[0-9a-z]+\b/.exec(line.trim());
    if (m === null || Number(m[1]) === process.pid) continue;
    let alive = true;
    try {
      process.kill(Number(m[1]), 0);
    } catch {
      alive = false;
    }
    if (!alive) await run(["ip", "netns", "del", m[0]], { allowFail: true });
  }
}

export async function createKernelNet(
  opts: { mtu?: number; subnet?: number; tap?: Pick<TapOptions, "slots" | "ringStart" | "reader"> } = {},
): Promise<KernelNet> {
  if (counter === 0) await sweepStale();
  // pid + counter: unique per run, and tells sweepStale() whose namespace it is (ifname <= 15 bytes).
  const id = `${process.pid}x${(counter++).toString(36)}`;
  const ns = `t1s${id}`;
  const ifname = `t1t${id}`;
  const third = opts.subnet ?? 1 + ((process.pid + counter * 37) % 250);
  const kernelIp = ((10 << 24) | (251 << 16) | (third << 8) | 1) >>> 0;
  const stackIp = (kernelIp + 1) >>> 0;
  const mtu = opts.mtu ?? 1500;
  await run(["ip", "netns", "add", ns]);
  let tap: TapDevice | undefined;
  try {
    tap = TapDevice.open({ name: ifname, maxFrame: mtu + 14, ...opts.tap });
    await run(["ip", "link", "set", ifname, "netns", ns]);
    const nsx = (args: string[]) => run(["ip", "-n", ns, ...args]);
    await nsx(["link", "set", "lo", "up"]);
    // A server meant for 1,000 simultaneous connects gets a SYN queue that holds them (namespace-local settings).
    await setSysctl(ns, "net/ipv4/tcp_max_syn_backlog", "4096");
    await setSysctl(ns, "net/core/somaxconn", "4096");
    await nsx(["link", "set", ifname, "mtu", String(mtu)]);
    await nsx(["addr", "add", `${ipv4ToString(kernelIp)}/24`, "dev", ifname]);
    await nsx(["link", "set", ifname, "up"]);
    const link = await nsx(["-j", "link", "show", ifname]);
    const parsed: unknown = JSON.parse(link.stdout);
    const addr = Array.isArray(parsed) && typeof parsed[0]?.address === "string" ? (parsed[0].address as string) : "";
    const kernelMac = parseInt(addr.replaceAll(":", ""), 16);
    const t = tap;
    const spawned: Bun.Subprocess[] = [];
    return {
      ns,
      tap: t,
      ifname,
      kernelIp,
      stackIp,
      prefixLen: 24,
      mtu,
      kernelMac,
      exec: (cmd, o) => run(["ip", "netns", "exec", ns, ...cmd], o),
      spawn: (cmd, o) => {
        const p = Bun.spawn(["ip", "netns", "exec", ns, ...cmd], { stdin: o?.stdin ?? "ignore", stdout: "pipe", stderr: "pipe" });
        spawned.push(p);
        return p;
      },
      close: async () => {
        // Kernel-side peers we started and that are still running (a failed test) go first.
        for (const p of spawned) if (p.exitCode === null) p.kill();
        t.close();
        await run(["ip", "netns", "del", ns], { allowFail: true });
      },
    };
  } catch (e) {
    tap?.close();
    await run(["ip", "netns", "del", ns], { allowFail: true });
    throw e;
  }
}

export const STACK_MAC = 0x02aabbcc0002;

export interface AttachedStack {
  stack: NetStack;
  /** Present when faults were requested: tap -> stack and stack -> tap. */
  inbound?: FaultLink;
  outbound?: FaultLink;
  stop(): void;
}

/**
 * A NetStack on the tap, addressed net.stackIp. With `faults`, a FaultLink in each direction sits
 * between the tap and the stack (delay, reordering, duplication the kernel cannot do here).
 */
export function attachStack(net: KernelNet, opts: Partial<NetStackOptions> = {}, faults?: FaultConfig, seed = 1): AttachedStack {
  if (faults === undefined) {
    const stack = new NetStack(net.tap, { mac: STACK_MAC, mtu: net.mtu, ...opts });
    stack.addAddress(net.stackIp, net.prefixLen);
    net.tap.onBatchEnd = () => stack.kick();
    net.tap.start(stack);
    stack.start();
    return { stack, stop: () => stack.stop() };
  }
  const rng = new SeededRng(seed);
  const maxFrame = net.mtu + 14;
  const outbound = new FaultLink(systemClock, rng, { ...faults, maxFrame }, { receiveFrame: (b, s, e) => net.tap.sendFrame(b, s, e) });
  const stack = new NetStack(outbound, { mac: STACK_MAC, mtu: net.mtu, ...opts });
  stack.addAddress(net.stackIp, net.prefixLen);
  const inbound = new FaultLink(systemClock, rng, { ...faults, maxFrame }, stack);
  const pin = pumpRealTime(inbound, systemClock, () => stack.kick());
  const pout = pumpRealTime(outbound, systemClock);
  net.tap.start({ receiveFrame: (b, s, e) => inbound.sendFrame(b, s, e) });
  stack.start();
  return {
    stack,
    inbound,
    outbound,
    stop: () => {
      pin.stop();
      pout.stop();
      stack.stop();
    },
  };
}
