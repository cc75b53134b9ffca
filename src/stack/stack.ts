/**
 * NetStack: one network interface (iface: ARP, IPv4, ICMP) with a TCP layer on top, fed Ethernet
 * frames by a link (a ZeroTier port, a kernel tap, an in-memory or fault-injecting link).
 *
 * Time: with a real clock, start() runs the timers itself (TimerDriver); with a ManualClock the
 * stack is just a Pollable and a Simulator (or test) calls poll() at nextDeadline().
 */
import { systemClock, type Clock } from "../util/clock.ts";
import { systemRng, type Rng } from "../util/random.ts";
import type { ArpCacheOptions } from "./arp-cache.ts";
import { Iface } from "./iface.ts";
import type { ReassemblyOptions } from "./ipv4-reassembly.ts";
import { IPPROTO_TCP, type FrameReceiver, type FrameSink } from "./link.ts";
import type { Pollable } from "./pollable.ts";
import { TcpLayer, type ConnectOptions, type ListenOptions, type TcpLayerOptions, type TcpListener, type TcpSocket } from "./tcp/index.ts";
import { TimerDriver } from "./timer-driver.ts";

export interface NetStackOptions {
  mac: number;
  /** Link MTU (largest IPv4 datagram). ZeroTier networks default to 2800. */
  mtu?: number;
  clock?: Clock;
  rng?: Rng;
  tcp?: Partial<TcpLayerOptions>;
  arp?: ArpCacheOptions;
  reassembly?: ReassemblyOptions;
  /** Run timers with setTimeout after start() (default: true unless a custom clock is given). */
  realTime?: boolean;
  /** 127.0.0.0/8 as this host's own loopback (see IfaceOptions.hostLoopback). */
  hostLoopback?: boolean;
}

export class NetStack implements FrameReceiver, Pollable {
  readonly iface: Iface;
  readonly tcp: TcpLayer;
  readonly clock: Clock;
  private readonly driver: TimerDriver | undefined;

  constructor(sink: FrameSink, opts: NetStackOptions) {
    this.clock = opts.clock ?? systemClock;
    const rng = opts.rng ?? systemRng;
    this.iface = new Iface({
      mac: opts.mac,
      sink,
      clock: this.clock,
      mtu: opts.mtu ?? 1500,
      hostLoopback: opts.hostLoopback ?? false,
      ...(opts.arp !== undefined ? { arp: opts.arp } : {}),
      ...(opts.reassembly !== undefined ? { reassembly: opts.reassembly } : {}),
    });
    this.tcp = new TcpLayer({ ...opts.tcp, ip: this.iface, clock: this.clock, rng });
    this.iface.registerProtocol(IPPROTO_TCP, this.tcp);
    const realTime = opts.realTime ?? opts.clock === undefined;
    this.driver = realTime ? new TimerDriver(this, this.clock) : undefined;
  }

  addAddress(addr: number, prefixLen: number): this {
    this.iface.addAddress(addr, prefixLen);
    return this;
  }

  addRoute(dest: number, prefixLen: number, gateway = 0): this {
    this.iface.addRoute(dest, prefixLen, gateway);
    return this;
  }

  /** Announce our addresses and, in real time, start the timers. */
  start(): void {
    this.iface.start();
    this.driver?.start();
  }

  stop(): void {
    this.driver?.stop();
  }

  receiveFrame(buf: Uint8Array, start: number, end: number): void {
    this.iface.receiveFrame(buf, start, end);
  }

  /** Re-aim the real-time timer after activity that may have armed an earlier deadline. */
  kick(): void {
    this.driver?.kick();
  }

  poll(): void {
    this.iface.poll();
    this.tcp.poll();
  }

  nextDeadline(): number {
    return Math.min(this.iface.nextDeadline(), this.tcp.nextDeadline());
  }

  connect(remoteAddr: number, remotePort: number, opts?: ConnectOptions): TcpSocket {
    const s = this.tcp.connect(remoteAddr, remotePort, opts);
    this.kick();
    return s;
  }

  listen(port: number, opts?: ListenOptions): TcpListener {
    return this.tcp.listen(port, opts);
  }
}
