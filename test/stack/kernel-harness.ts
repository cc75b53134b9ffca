/**
 * Kernel test harness: a network namespace of our own holding the kernel end of a tap whose fd
 * stays in this process. Everything the kernel side does (ping, curl, nc, nft) runs inside the
 * namespace, so the host's networking is never touched. Names are unique per run; close() removes
 * the tap and the namespace.
 */
import { TapDevice } from "../../ffi/tap.ts";
import { ipv4ToString } from "../../src/stack/link.ts";

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

/** True when this process may create namespaces and taps (root with /dev/net/tun). */
export function kernelTestsPossible(): boolean {
  return process.getuid?.() === 0 && Bun.spawnSync(["ip", "netns", "list"]).exitCode === 0;
}

export async function createKernelNet(opts: { mtu?: number; subnet?: number } = {}): Promise<KernelNet> {
  const id = `${process.pid % 100000}${(counter++).toString(36)}`;
  const ns = `t1s${id}`;
  const ifname = `t1t${id}`;
  const third = opts.subnet ?? 1 + ((process.pid + counter * 37) % 250);
  const kernelIp = ((10 << 24) | (251 << 16) | (third << 8) | 1) >>> 0;
  const stackIp = (kernelIp + 1) >>> 0;
  const mtu = opts.mtu ?? 1500;
  await run(["ip", "netns", "add", ns]);
  let tap: TapDevice | undefined;
  try {
    tap = TapDevice.open({ name: ifname, maxFrame: mtu + 14 });
    await run(["ip", "link", "set", ifname, "netns", ns]);
    const nsx = (args: string[]) => run(["ip", "-n", ns, ...args]);
    await nsx(["link", "set", "lo", "up"]);
    await nsx(["link", "set", ifname, "mtu", String(mtu)]);
    await nsx(["addr", "add", `${ipv4ToString(kernelIp)}/24`, "dev", ifname]);
    await nsx(["link", "set", ifname, "up"]);
    const link = await nsx(["-j", "link", "show", ifname]);
    const parsed: unknown = JSON.parse(link.stdout);
    const addr = Array.isArray(parsed) && typeof parsed[0]?.address === "string" ? (parsed[0].address as string) : "";
    const kernelMac = parseInt(addr.replaceAll(":", ""), 16);
    const t = tap;
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
      spawn: (cmd, o) =>
        Bun.spawn(["ip", "netns", "exec", ns, ...cmd], { stdin: o?.stdin ?? "ignore", stdout: "pipe", stderr: "pipe" }),
      close: async () => {
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
