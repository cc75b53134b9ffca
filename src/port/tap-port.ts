/**
 * A network's port as a Linux kernel tap (`--tap`, root only): /dev/net/tun with
 * TUNSETIFF IFF_TAP|IFF_NO_PI through bun:ffi (ffi/tap.ts), MAC, MTU, addresses and routes set with
 * iproute2, multicast memberships read from /proc/net/dev_mcast (what zerotier-one's
 * LinuxEthernetTap scans). The device disappears when the port is closed (its fd closed).
 */
import { readFileSync } from "node:fs";
import { consola } from "consola";
import { deferToTurnEnd } from "../../ffi/hot-loop.ts";
import { parseTapReaderChoice, TapDevice, type TapReaderChoice } from "../../ffi/tap.ts";
import { TapCoalescer } from "./tap-gro.ts";
import { TapSegmenter } from "./tap-gso.ts";
import type { FrameReceiver, FrameSink } from "../stack/link.ts";
import { type InetAddress, inetAddressToString, ipToString } from "../vl1/inet-address.ts";
import { type Mac, macToString } from "../vl2/mac.ts";
import type { MulticastGroup } from "../vl2/multicast-group.ts";
import type { Route } from "../vl2/network-config.ts";
import { type NetworkPort, type PortConfig, PortError, type PortFactory } from "./port.ts";
import { envChoice } from "../util/env-choice.ts";
import { Stage, STAGE_TIMING, stageEnd, stageStart } from "../util/stage-timing.ts";

/** Runs one command; resolves with its exit code and stderr. */
export type CommandRunner = (argv: string[]) => Promise<{ code: number; stderr: string }>;

const spawnRunner: CommandRunner = async (argv) => {
  const p = Bun.spawn(argv, { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
  return { code, stderr };
};

/** ZT_TAP_READER: auto (default), doorbell or thread (ffi/tap.ts). */
export function tapReaderChoice(): TapReaderChoice {
  return envChoice("ZT_TAP_READER", parseTapReaderChoice, "auto", "auto, doorbell or thread");
}

/** zt + the network ID folded to 40 bits in base 36: stable per network, ≤ 10 characters. */
export function tapDeviceName(nwid: bigint): string {
  const folded = (nwid ^ (nwid >> 24n)) & 0xffffffffffn;
  return `zt${folded.toString(36).padStart(8, "0")}`;
}

function cidr(a: InetAddress): string {
  return `${ipToString(a)}/${a.port}`;
}

function routeKey(r: Route): string {
  return `${r.target === null ? "" : cidr(r.target)} via ${r.via === null ? "-" : ipToString(r.via)} metric ${r.metric}`;
}

/** The network address of an interface address (for skipping routes the kernel adds itself). */
function networkOf(a: InetAddress): string {
  const ip = new Uint8Array(a.ip);
  let bits = a.port;
  for (let i = 0; i < ip.length; i++) {
    const keep = bits >= 8 ? 8 : bits > 0 ? bits : 0;
    ip[i]! &= (0xff << (8 - keep)) & 0xff;
    bits -= 8;
  }
  return `${ipToString({ ...a, ip } as InetAddress)}/${a.port}`;
}

export class TapPort implements NetworkPort {
  readonly deviceName: string;
  readonly deliver: FrameReceiver;
  /** Receive offload: frames of one TCP flow joined into trains (its counters for /metrics). */
  readonly gro: TapCoalescer;
  /** Send offload: the kernel's trains cut into frames, once started with offloads on. */
  gso: TapSegmenter | null = null;
  private applied: PortConfig | null = null;
  private closed = false;
  /** Serializes configure() calls so the diffs apply in order. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly tap: TapDevice,
    private readonly runCmd: CommandRunner = spawnRunner,
  ) {
    this.deviceName = tap.name;
    const gro = new TapCoalescer((buf, start, end) => tap.writeVnet(buf, start, end), tap.maxFrame);
    this.gro = gro;
    // A train is written at the latest at the end of the turn that began it (the event loop's, or
    // the hot loop's batch: ffi/hot-loop.ts).
    let armed = false;
    const flush = (): void => {
      armed = false;
      const t0 = STAGE_TIMING ? stageStart() : 0;
      gro.flush();
      if (STAGE_TIMING) stageEnd(Stage.tap_write, t0);
    };
    this.deliver = {
      receiveFrame: (buf, start, end) => {
        const t0 = STAGE_TIMING ? stageStart() : 0;
        gro.push(buf, start, end);
        if (gro.pending && !armed) {
          armed = true;
          deferToTurnEnd(flush);
        }
        if (STAGE_TIMING) stageEnd(Stage.tap_write, t0);
      },
    };
  }

  /** `uid` is injectable so the refusal without root can be tested as root. */
  static open(nwid: bigint, mtu: number, runCmd?: CommandRunner, uid = process.getuid?.()): TapPort {
    if (process.platform !== "linux") throw new PortError("tap ports need Linux");
    if (uid !== 0) throw new PortError("tap mode needs root (CAP_NET_ADMIN to create a tap device)", 1);
    try {
      const opts = { name: tapDeviceName(nwid), maxFrame: Math.max(mtu, 10000) + 18, offload: true, reader: tapReaderChoice() };
      return new TapPort(TapDevice.open(opts), runCmd);
    } catch (e) {
      throw new PortError(`cannot create tap device: ${(e as Error).message}`, 19);
    }
  }

  start(toNetwork: FrameSink): void {
    // The ring hands frames with FRAME_HEADROOM free bytes before them, as the sink expects; with
    // offloads on, the segmenter cuts the kernel's TSO trains and finishes partial checksums.
    if (this.tap.offload) this.gso = new TapSegmenter(toNetwork, this.tap.maxFrame);
    this.tap.start({
      receiveFrame: (buf, start, end) => {
        const t0 = STAGE_TIMING ? stageStart() : 0;
        if (this.gso !== null) this.gso.push(buf, start, end);
        else toNetwork.sendFrame(buf, start, end);
        if (STAGE_TIMING) stageEnd(Stage.tap_read, t0);
      },
    });
  }

  configure(c: PortConfig): Promise<void> {
    this.chain = this.chain.then(() => this.apply(c)).catch((e: unknown) => {
      consola.warn(`tap ${this.deviceName}: ${(e as Error).message}`);
    });
    return this.chain;
  }

  private async ip(args: string[], mayFail = false): Promise<void> {
    const r = await this.runCmd(["ip", ...args]);
    if (r.code !== 0 && !mayFail) throw new PortError(`ip ${args.join(" ")}: ${r.stderr.trim()}`);
  }

  private async apply(c: PortConfig): Promise<void> {
    if (this.closed) return;
    const dev = this.deviceName;
    const old = this.applied;
    if (old === null || old.mac !== c.mac) await this.ip(["link", "set", "dev", dev, "address", macToString(c.mac)]);
    if (old === null || old.mtu !== c.mtu) await this.ip(["link", "set", "dev", dev, "mtu", String(c.mtu)]);
    if (old === null) await this.ip(["link", "set", "dev", dev, "up"]);
    const oldAddrs = new Set((old?.addresses ?? []).map(cidr));
    const newAddrs = new Set(c.addresses.map(cidr));
    for (const a of oldAddrs) if (!newAddrs.has(a)) await this.ip(["addr", "del", a, "dev", dev], true);
    for (const a of c.addresses) if (!oldAddrs.has(cidr(a))) await this.ip(["addr", "add", cidr(a), "dev", dev, ...(a.family === 6 ? ["nodad"] : [])], true);
    // The kernel adds the on-link route of each address itself.
    const onLink = new Set(c.addresses.map(networkOf));
    const wanted = c.routes.filter((r) => r.target !== null && !(r.via === null && onLink.has(cidr(r.target))));
    const oldRoutes = new Map((old?.routes ?? []).filter((r) => r.target !== null).map((r) => [routeKey(r), r]));
    const newRoutes = new Map(wanted.map((r) => [routeKey(r), r]));
    for (const [k, r] of oldRoutes) if (!newRoutes.has(k)) await this.ip(["route", "del", cidr(r.target!), "dev", dev], true);
    for (const [k, r] of newRoutes) {
      if (oldRoutes.has(k)) continue;
      const via = r.via === null ? [] : ["via", ipToString(r.via)];
      await this.ip(["route", "replace", cidr(r.target!), ...via, "dev", dev, "metric", String(r.metric)], true);
    }
    // Remember only the routes we added ourselves: the kernel's on-link routes must never be deleted by a later diff.
    this.applied = { ...c, routes: wanted };
  }

  multicastGroups(): MulticastGroup[] {
    let text: string;
    try {
      text = readFileSync("/proc/net/dev_mcast", "utf8");
    } catch {
      return [];
    }
    const out: MulticastGroup[] = [];
    for (const line of text.split("\n")) {
      const f = line.trim().split(/\s+/);
      if (f.length < 5 || f[1] !== this.deviceName || !/^[0-9a-f]{12}$/.test(f[4]!)) continue;
      out.push({ mac: parseInt(f[4]!, 16), adi: 0 });
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.chain;
    this.tap.close();
  }

  /** For logs and tests. */
  describe(): string {
    return `${this.deviceName} ${this.applied === null ? "unconfigured" : this.applied.addresses.map(inetAddressToString).join(",")}`;
  }
}

export const tapPortFactory: PortFactory = {
  create: (nwid: bigint, _mac: Mac, mtu: number) => TapPort.open(nwid, mtu),
};
