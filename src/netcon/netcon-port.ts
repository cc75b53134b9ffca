/**
 * A network's port as a network container: a user-space TCP/IPv4 stack (src/stack) in place of a
 * kernel tap, served to intercepted programs through the network's netcon endpoint. No root, no
 * device, nothing changed on the host.
 *
 * The network configures it like a tap: MAC, MTU, managed addresses and routes (IPv4; IPv6 is not
 * built yet and is ignored with one log line). An address taken away resets what used it.
 */
import { consola } from "consola";
import type { FrameReceiver, FrameSink } from "../stack/link.ts";
import { NetStack } from "../stack/stack.ts";
import type { InetAddress } from "../vl1/inet-address.ts";
import type { Mac } from "../vl2/mac.ts";
import type { MulticastGroup } from "../vl2/multicast-group.ts";
import type { NetworkPort, PortConfig, PortFactory } from "../port/port.ts";
import { PortError } from "../port/port.ts";
import { NetconEndpoint } from "./endpoint.ts";
import type { CongestionName } from "../stack/tcp/congestion/index.ts";
import { Stage, STAGE_TIMING, stageEnd, stageStart } from "../util/stage-timing.ts";

function v4(a: InetAddress): number {
  const ip = a.ip;
  return ((ip[0]! << 24) | (ip[1]! << 16) | (ip[2]! << 8) | ip[3]!) >>> 0;
}

interface AppliedRoute {
  dest: number;
  prefixLen: number;
}

/** Most in-order segments a container's stack leaves unacknowledged within one input batch. */
const ACK_STRETCH = 16;

export class NetconPort implements NetworkPort {
  readonly deviceName = "";
  readonly stack: NetStack;
  readonly endpoint: NetconEndpoint;
  readonly deliver: FrameReceiver;
  private toNetwork: FrameSink | null = null;
  private addrs = new Map<number, number>();
  private routes: AppliedRoute[] = [];
  private started = false;
  private warnedV6 = false;
  private closed = false;

  constructor(home: string, nwid: bigint, mac: Mac, mtu: number, congestion: CongestionName = "cubic") {
    const sink: FrameSink = {
      sendFrame: (buf, start, end) => {
        const t0 = STAGE_TIMING ? stageStart() : 0;
        this.toNetwork?.sendFrame(buf, start, end);
        if (STAGE_TIMING) stageEnd(Stage.frame_out, t0);
      },
    };
    // Programs in a container talk to each other over 127.0.0.1 as on any host. Stretch ACKs: one
    // per input batch (up to ACK_STRETCH segments), as bench -- datapath measured each ACK's cost.
    this.stack = new NetStack(sink, { mac: Number(mac), mtu, hostLoopback: true, tcp: { ackCoalescing: ACK_STRETCH, congestion } });
    this.deliver = {
      receiveFrame: (buf, start, end) => {
        const t0 = STAGE_TIMING ? stageStart() : 0;
        this.stack.receiveFrame(buf, start, end);
        this.stack.kick();
        if (STAGE_TIMING) stageEnd(Stage.stack_input, t0);
      },
    };
    try {
      this.endpoint = new NetconEndpoint({ home, nwid, stack: this.stack });
    } catch (e) {
      throw new PortError(`cannot open the netcon endpoint: ${(e as Error).message}`, 2);
    }
  }

  start(toNetwork: FrameSink): void {
    this.toNetwork = toNetwork;
  }

  configure(c: PortConfig): Promise<void> {
    if (this.closed) return Promise.resolve();
    const iface = this.stack.iface;
    if (c.mtu !== iface.mtu) iface.setMtu(c.mtu);
    const want = new Map<number, number>();
    for (const a of c.addresses) {
      if (a.family === 4) want.set(v4(a), a.port);
      else if (!this.warnedV6) {
        this.warnedV6 = true;
        consola.warn("netcon: IPv6 addresses are not supported by the user-space stack yet; ignored");
      }
    }
    for (const [addr] of this.addrs) {
      if (want.get(addr) !== undefined) continue;
      iface.removeAddress(addr);
      const n = this.stack.tcp.abortLocalAddress(addr);
      if (n > 0) consola.info(`netcon: address removed, ${n} connection(s) reset`);
    }
    const fresh: number[] = [];
    for (const [addr, bits] of want) {
      if (this.addrs.get(addr) === bits) continue;
      if (this.addrs.has(addr)) iface.removeAddress(addr);
      iface.addAddress(addr, bits);
      fresh.push(addr);
    }
    this.addrs = want;
    // Routes through gateways (on-link routes come with the addresses).
    for (const r of this.routes) iface.routes.remove(r.dest, r.prefixLen);
    this.routes = [];
    for (const r of c.routes) {
      if (r.target === null || r.target.family !== 4 || r.via === null || r.via.family !== 4) continue;
      iface.addRoute(v4(r.target), r.target.port, v4(r.via));
      this.routes.push({ dest: v4(r.target), prefixLen: r.target.port });
    }
    if (!this.started && this.addrs.size > 0) {
      this.started = true;
      this.stack.start();
    } else if (fresh.length > 0) {
      iface.start(); // announce the new addresses (gratuitous ARP)
    }
    return Promise.resolve();
  }

  multicastGroups(): MulticastGroup[] {
    return [];
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.endpoint.close();
    this.stack.tcp.destroy();
    this.stack.stop();
    return Promise.resolve();
  }
}

/**
 * Ports for a service without --tap: every joined network becomes a network container, whose TCP
 * uses `congestion` unless a program picks another (TCP_CONGESTION).
 */
export function netconPortFactory(home: string, congestion: CongestionName = "cubic"): PortFactory {
  return { create: (nwid, mac, mtu) => new NetconPort(home, nwid, mac, mtu, congestion) };
}
