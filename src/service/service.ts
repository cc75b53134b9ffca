import { consola } from "consola";
import { networkInterfaces } from "node:os";
import { systemClock, type Clock } from "../util/clock.ts";
import { envChoice, parseOnOff } from "../util/env-choice.ts";
import { DEFAULT_COALESCE_US, DEFAULT_SPIN_US, hotLoop, parseCoalesceMicros, parseHotLoopChoice, parseSpinMicros } from "../../ffi/hot-loop.ts";
import { backJitCodeWithHugePages } from "../../ffi/jit-huge-pages.ts";
import { parseProgramIoChoice, setProgramIo } from "../netcon/program-port.ts";
import { systemRng, type Rng } from "../util/random.ts";
import type { Identity } from "../vl1/identity.ts";
import type { InetAddress } from "../vl1/inet-address.ts";
import { parseReceiveChoice, PortInUseError, type ReceiveChoice, UdpTransport } from "../transport/udp.ts";
import { loadOrCreateToken } from "./authtoken.ts";
import { HomeDir, HomeDirError } from "./home.ts";
import { loadOrCreateIdentity } from "./identity-store.ts";
import { isJsonObject, type JsonObject } from "../util/json.ts";
import { emptyLocalConf, type LocalConf, LocalConfError, parseLocalConf, parseLocalConfObject, unsupportedSettings } from "./local-conf.ts";
import { MetricsRegistry } from "./metrics.ts";
import { type InterfaceTable, localInterfaceAddresses } from "./local-interfaces.ts";
import { NodeHost } from "./node-host.ts";
import { pathCheck } from "./path-policy.ts";
import { moonRoutes } from "./api/moon-routes.ts";
import { type EmbeddedController, startEmbeddedController } from "../controller/embedded.ts";
import { MulticastDirectory } from "../vl2/multicast-directory.ts";
import { MulticastDirectoryResponder } from "../vl2/multicast-directory-responder.ts";
import { nodeRoutes, type ServiceView } from "./api/routes.ts";
import { networkRoutes } from "./api/network-routes.ts";
import { NetworksDir } from "./networks-dir.ts";
import { registerNetworkMetrics } from "./network-metrics.ts";
import { registerDatapathMetrics } from "./datapath-metrics.ts";
import { registerNetconMetrics } from "./netcon-metrics.ts";
import { registerTapMetrics } from "./tap-metrics.ts";
import { registerHotLoopMetrics } from "./hot-loop-metrics.ts";
import { registerUdpMetrics } from "./udp-metrics.ts";
import { Networks } from "../vl2/networks.ts";
import { defaultRequestMetadata } from "../vl2/config-request.ts";
import type { PortFactory } from "../port/port.ts";
import { netconPortFactory } from "../netcon/netcon-port.ts";
import { netconCongestionControl } from "../netcon/host-congestion.ts";
import type { CongestionName } from "../stack/tcp/congestion/index.ts";
import { tapPortFactory } from "../port/tap-port.ts";
import { Verb } from "../vl1/packet.ts";
import { Router } from "../util/router.ts";
import { aesGmacSivBackend } from "../crypto/aes-gmac-siv.ts";
import { ApiServer } from "./api/server.ts";

export const DEFAULT_PORT = 9993;

export interface ServiceOptions {
  home: string;
  /** UDP and API port; 0 picks a free one. Default: local.conf primaryPort, else 9993. */
  port?: number;
  clock?: Clock;
  rng?: Rng;
  /** Give every joined network a kernel tap (root only); otherwise frames go nowhere until the netcon stack attaches. */
  tap?: boolean;
  /** Ports for joined networks (overrides `tap`; tests). */
  portFactory?: PortFactory;
  /** The host's interfaces (default os.networkInterfaces; tests give a fixed table). */
  networkInterfaces?: () => InterfaceTable;
}

/** Files that must be readable by their owner only (zerotier-one locks these down at start too). */
const SECRET_FILES = ["identity.secret", "authtoken.secret", "metricstoken.secret"];

/** How often local interface addresses are re-read (zerotier-one's ZT_LOCAL_INTERFACE_CHECK_INTERVAL). */
const LOCAL_INTERFACE_CHECK_INTERVAL = 60_000;

/** A start-up problem to report in one line and exit non-zero. */
export class StartupError extends Error {}

/**
 * One running service per home directory: identity, tokens, local.conf, the UDP underlay, and the
 * local JSON API on the same port number (TCP, loopback only).
 */
export class Service {
  readonly metrics = new MetricsRegistry();
  private api: ApiServer | null = null;
  private host: NodeHost | null = null;
  private controller: EmbeddedController | null = null;
  private networksRef: Networks | null = null;
  private networkTimer: ReturnType<typeof setInterval> | null = null;
  private portFactory: PortFactory | null = null;
  private housekeeping: ReturnType<typeof setInterval> | null = null;
  private udp: UdpTransport | null = null;
  private interfaceTimer: ReturnType<typeof setInterval> | null = null;
  private interfaces: () => InterfaceTable = networkInterfaces;
  private stopped = false;
  readonly router = new Router();

  private constructor(
    readonly home: HomeDir,
    readonly identity: Identity,
    private conf: LocalConf,
    readonly clock: Clock,
    readonly rng: Rng,
  ) {
    const mem = this.metrics.gauge("process_resident_memory_bytes", "Resident set size of the service process");
    mem.collect = (m) => m.labels().set(process.memoryUsage().rss);
    const heap = this.metrics.gauge("zt_js_heap_used_bytes", "JavaScript heap in use");
    heap.collect = (m) => m.labels().set(process.memoryUsage().heapUsed);
  }

  static async start(opts: ServiceOptions): Promise<Service> {
    const home = new HomeDir(opts.home);
    const rng = opts.rng ?? systemRng;
    let svc: Service;
    try {
      home.ensure();
      const confText = home.readText("local.conf");
      const conf = confText === null ? emptyLocalConf() : parseLocalConf(confText);
      for (const w of unsupportedSettings(conf.raw)) consola.warn(`local.conf: ${w}`);
      for (const name of SECRET_FILES) {
        const old = home.lockDown(name);
        if (old !== null) {
          const was = old.toString(8).padStart(4, "0");
          consola.warn(`${home.path(name)} was readable by other users (mode ${was}); made owner-only. If anyone read it, replace it.`);
        }
      }
      const { identity, created } = loadOrCreateIdentity(home, rng);
      if (created) consola.info(`generated new identity ${identity.addressString}`);
      svc = new Service(home, identity, conf, opts.clock ?? systemClock, rng);
      if (opts.networkInterfaces !== undefined) svc.interfaces = opts.networkInterfaces;
      // Without --tap every joined network is a network container (user-space stack + endpoint).
      svc.portFactory = opts.portFactory ?? (opts.tap ? tapPortFactory : netconPortFactory(home.root, netconCongestion(conf)));
      // Program sockets of network containers: our epoll set where io_uring works, else Bun's loop.
      setProgramIo(envChoice("ZT_NETCON_IO", parseProgramIoChoice, "auto", "auto, epoll or bun"));
      // The datapath polls by itself while traffic flows (ffi/hot-loop.ts), and spins a little after it.
      const hot = envChoice("ZT_HOT_LOOP", parseHotLoopChoice, "auto", "auto, on or off");
      // auto: on for taps and network containers alike, now that program sockets are loop sources
      hotLoop.setEnabled(hot !== "off");
      hotLoop.setSpin(envChoice("ZT_HOT_SPIN_US", parseSpinMicros, DEFAULT_SPIN_US, "a whole number of µs, 0..10000"));
      // ... and lets bulk batches fill up before it wakes for them (interrupt moderation).
      hotLoop.setCoalesce(envChoice("ZT_RX_COALESCE_US", parseCoalesceMicros, DEFAULT_COALESCE_US, "a whole number of µs, 0..10000"));
      // The JIT's code in 2 MiB pages: fewer TLB misses when sparse traffic finds the datapath cold.
      if (envChoice("ZT_JIT_HUGE_PAGES", parseOnOff, "on", "on or off") === "on") {
        const h = backJitCodeWithHugePages();
        consola.debug(`JIT code in huge pages: ${h.reason ?? `${h.region}, ${h.collapsed} chunks collapsed, ${h.failed} failed`}`);
      }
      // Suite 3's implementation chosen (and the AES-NI library built when stale) now, not during the first packet.
      consola.debug(`AES-GMAC-SIV: ${aesGmacSivBackend()}`);
      if (opts.tap && opts.portFactory === undefined && process.getuid?.() !== 0) {
        consola.error("--tap needs root (CAP_NET_ADMIN): joined networks will report PORT_ERROR");
      }
      // local.conf physical.<cidr>.mtu: the node has one physical MTU, so the smallest one given.
      const physical = [...conf.settings.physical.values()];
      const mtus = physical.map((p) => p.mtu).filter((m): m is number => m !== null);
      const trustedPaths = physical.flatMap((p) => (p.trustedPathId === null ? [] : [{ network: p.network, id: p.trustedPathId }]));
      svc.host = new NodeHost({
        mtu: mtus.length > 0 ? Math.min(...mtus) : undefined,
        identity,
        home,
        clock: svc.clock,
        rng,
        metrics: svc.metrics,
        allowLoopbackPaths: conf.settings.allowLoopbackPaths,
        // No path inside a network we joined (ZeroTier over ZeroTier) nor in a local.conf blacklist.
        pathCheck: pathCheck({ settings: () => svc.conf.settings, networkRanges: () => svc.networkRanges() }),
        trustedPaths,
      });
    } catch (e) {
      if (e instanceof HomeDirError || e instanceof LocalConfError) throw new StartupError(e.message);
      throw new StartupError(`cannot initialize home directory ${home.root}: ${(e as Error).message}`);
    }
    await svc.open(opts.port ?? svc.conf.settings.primaryPort ?? DEFAULT_PORT);
    return svc;
  }

  private async open(port: number): Promise<void> {
    let authToken: string;
    let metricsToken: string;
    try {
      authToken = loadOrCreateToken(this.home, "authtoken.secret", this.rng);
      metricsToken = loadOrCreateToken(this.home, "metricstoken.secret", this.rng);
    } catch (e) {
      throw new StartupError((e as Error).message);
    }
    try {
      // local.conf settings.bind: the first IPv4 and first IPv6 address listed (zerotier-one binds
      // each listed address; one per family covers hosts that must not answer on every interface).
      const bind = this.conf.settings.bind;
      const v4 = bind.find((a) => !a.includes(":"));
      const v6 = bind.find((a) => a.includes(":"));
      this.udp = await UdpTransport.open({
        port,
        bindV4: bind.length === 0 ? undefined : (v4 ?? "127.0.0.1"),
        bindV6: bind.length === 0 ? undefined : (v6 ?? null),
        receive: udpReceiveChoice(),
        onDatagram: (d, start, end, from) => this.host?.onDatagram(d, start, end, from),
      });
    } catch (e) {
      if (e instanceof PortInUseError) throw new StartupError(e.message);
      throw new StartupError(`cannot open UDP port ${port}: ${(e as Error).message}`);
    }
    nodeRoutes(this.router, this.view());
    if (this.host) {
      moonRoutes(this.router, this.host);
      await this.startController(this.host);
    }
    this.api = new ApiServer({ port: this.udp.port, authToken, metricsToken, router: this.router });
    try {
      this.api.start();
    } catch (e) {
      this.udp.close();
      throw new StartupError(`cannot listen on TCP 127.0.0.1:${this.udp.port} for the local API: ${(e as Error).message}`);
    }
    this.home.write("zerotier-one.port", String(this.udp.port), 0o644);
    this.host?.start(this.udp);
    this.refreshLocalAddresses();
    this.interfaceTimer = setInterval(() => this.refreshLocalAddresses(), LOCAL_INTERFACE_CHECK_INTERVAL);
    this.interfaceTimer.unref();
    consola.info(`${this.identity.addressString} listening on UDP/TCP port ${this.udp.port}, home ${this.home.root}`);
    consola.debug(`UDP receive path: ${this.udp.receivePath}`);
  }

  get port(): number {
    return this.udp?.port ?? 0;
  }

  /**
   * Every service can host networks whose ID starts with its address (as zerotier-one can): the
   * /controller API, records in controller.d, and NETWORK_CONFIG_REQUESTs answered over VL1.
   */
  private async startController(host: NodeHost): Promise<void> {
    const node = host.node;
    const ctl = await startEmbeddedController({
      onLocalConfig: (nwid, result) => this.networksRef?.get(nwid)?.onLocalConfig(result),
      home: this.home.root,
      identity: this.identity,
      router: this.router,
      rng: this.rng,
      transport: { send: (dest, verb, payload) => void node.send(dest, verb, payload, 0, payload.length, { compress: true }) },
    });
    this.controller = ctl;
    // Roots are everyone's multicast directory; a controller is one for its own networks' members.
    const directory = new MulticastDirectory(this.rng);
    const hex = (n: number, w: number) => n.toString(16).padStart(w, "0");
    const multicast = new MulticastDirectoryResponder(directory, node, Date.now, (hi, lo, requester) => {
      if (node.topology.amUpstream) return true;
      if (hi * 256 + (lo >>> 24) !== node.address) return false;
      const member = ctl.controller.getMember(hex(hi, 8) + hex(lo, 8), hex(requester, 10));
      return member !== null && member.authorized === true;
    });
    this.housekeeping = setInterval(() => directory.expire(Date.now()), 60_000);
    this.housekeeping.unref();
    const networks = this.startNetworks(host, ctl);
    node.setVl2Handler({
      onPacket: (peer, verb, pkt, start, end) => {
        if (ctl.onPacket(peer, verb, pkt, start, end)) return false;
        // LIKEs and GATHERs feed both the directory (roots, controllers) and the joined networks.
        if (verb === Verb.MULTICAST_LIKE || verb === Verb.MULTICAST_GATHER) multicast.onPacket(peer.address, verb, pkt, start, end);
        return networks.onPacket(peer.address, verb, pkt, start, end);
      },
    });
  }

  /** Joined networks: re-joined from networks.d, /network API, a 1 s timer. */
  private startNetworks(host: NodeHost, ctl: EmbeddedController): Networks {
    const node = host.node;
    const self = this.identity.publicOnly();
    const networks = new Networks(
      {
        address: node.address,
        clock: this.clock,
        rng: this.rng,
        tx: node.tx,
        send: (d, v, p, s, e, o) => node.send(d, v, p, s, e, o),
        sendTxTo: (d, v, end, flags) => node.sendTxTo(d, v, end, flags),
        identityOf: (a) => (a === node.address ? self : (node.getPeer(a)?.identity ?? null)),
        requestWhois: (a) => node.requestWhois(a),
        upstreams: () => {
          const best = node.topology.bestRoot(this.clock.now());
          const all = node.topology.upstreamAddresses.filter((a) => a !== best?.address);
          return best === null ? all : [best.address, ...all];
        },
        localConfig: (nwid, m) =>
          ctl.requestLocal(nwid, {
            configVersion: m.configVersion,
            protocolVersion: m.protocolVersion,
            vMajor: m.majorVersion,
            vMinor: m.minorVersion,
            vRev: m.revision,
            rulesEngineRev: m.rulesEngineRevision,
            authToken: m.auth !== null && m.auth.startsWith("token:") ? m.auth.slice(6) : null,
          }),
        portFactory: this.portFactory ?? netconPortFactory(this.home.root, netconCongestion(this.conf)),
        metadata: defaultRequestMetadata(),
      },
      new NetworksDir(this.home),
    );
    this.networksRef = networks;
    networks.restore();
    networkRoutes(this.router, networks);
    registerNetworkMetrics(this.metrics, networks);
    registerNetconMetrics(this.metrics, networks);
    registerTapMetrics(this.metrics, networks);
    registerDatapathMetrics(this.metrics);
    registerUdpMetrics(this.metrics, () => this.udp);
    registerHotLoopMetrics(this.metrics);
    this.networkTimer = setInterval(() => {
      try {
        networks.tick();
      } catch (e) {
        consola.error(`network timer: ${(e as Error).stack ?? e}`);
      }
    }, 1000);
    return networks;
  }

  /** Tell the node which local interface addresses to advertise (see local-interfaces.ts). */
  private refreshLocalAddresses(): void {
    if (this.host === null || this.udp === null) return;
    const s = this.conf.settings;
    const v4 = s.bind.find((a) => !a.includes(":"));
    const v6 = s.bind.find((a) => a.includes(":"));
    const wildcard = (a: string): string => (a === "0.0.0.0" || a === "::" ? "any" : a);
    let table: InterfaceTable = {};
    try {
      table = this.interfaces();
    } catch (e) {
      consola.warn(`cannot list network interfaces: ${(e as Error).message}`);
    }
    const addrs = localInterfaceAddresses(table, {
      port: this.udp.port,
      // As UdpTransport binds: no bind list = wildcard; otherwise the first address per family.
      v4: s.bind.length === 0 ? "any" : wildcard(v4 ?? "127.0.0.1"),
      v6: s.bind.length === 0 ? (this.udp.hasIpv6 ? "any" : null) : v6 === undefined || !this.udp.hasIpv6 ? null : wildcard(v6),
      interfacePrefixBlacklist: s.interfacePrefixBlacklist,
      blacklist: [...s.physical.values()].filter((p) => p.blacklist).map((p) => p.network),
      ownAddresses: [...this.networkRanges()],
    });
    this.host.node.setLocalAddresses(addrs);
  }

  /** Managed address ranges of the joined networks that have a configuration. */
  private *networkRanges(): Iterable<InetAddress> {
    for (const n of this.networksRef?.all ?? []) yield* n.config?.staticIps ?? [];
  }

  /** The joined networks. */
  get networks(): Networks {
    if (this.networksRef === null) throw new Error("service has no networks");
    return this.networksRef;
  }

  /** The embedded network controller (every service has one). */
  get embeddedController(): EmbeddedController {
    if (this.controller === null) throw new Error("service has no controller");
    return this.controller;
  }

  get node(): NodeHost {
    if (this.host === null) throw new Error("service has no node");
    return this.host;
  }

  private view(): ServiceView {
    return {
      address: () => this.identity.addressString,
      publicIdentity: () => this.identity.toString(false),
      online: () => this.host?.node.online ?? false,
      homeDir: () => this.home.root,
      primaryPort: () => this.port,
      listeningOn: () => this.udp?.listeningOn() ?? [],
      surfaceAddresses: () => this.host?.node.statusInfo().surfaceAddresses ?? [],
      planet: () => {
        const st = this.host?.node.statusInfo();
        return { id: st?.planetWorldId ?? 0, timestamp: st?.planetWorldTimestamp ?? 0 };
      },
      localConf: () => this.conf.raw,
      updateSettings: (patch) => this.updateSettings(patch),
      peers: () => this.host?.peers() ?? [],
      peer: (a) => this.host?.peer(a) ?? null,
      metrics: this.metrics,
      wallClock: () => Date.now(),
    };
  }

  private updateSettings(patch: JsonObject): JsonObject | string {
    const current = isJsonObject(this.conf.raw.settings) ? this.conf.raw.settings : {};
    const raw: JsonObject = { ...this.conf.raw, settings: { ...current, ...patch } };
    try {
      this.conf = parseLocalConfObject(raw);
    } catch (e) {
      return (e as Error).message;
    }
    for (const w of unsupportedSettings(raw, Object.keys(patch))) consola.warn(`local.conf: ${w}`);
    this.home.write("local.conf", JSON.stringify(raw, null, 2) + "\n", 0o644);
    return raw;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.api?.stop();
    if (this.networkTimer !== null) clearInterval(this.networkTimer);
    if (this.interfaceTimer !== null) clearInterval(this.interfaceTimer);
    await this.networksRef?.stop();
    this.controller?.stop();
    if (this.housekeeping !== null) clearInterval(this.housekeeping);
    this.host?.stop();
    this.udp?.close();
    consola.info("stopped");
  }
}

/** The network containers' TCP congestion control: local.conf's, else the host kernel's default. */
function netconCongestion(conf: LocalConf): CongestionName {
  const c = netconCongestionControl(conf.settings.netconTcpCongestion);
  if (c.warning !== null) consola.warn(c.warning);
  return c.name;
}

/** ZT_UDP_RECEIVE: auto (default), recvmmsg or bun (src/transport/udp.ts). */
function udpReceiveChoice(): ReceiveChoice {
  return envChoice("ZT_UDP_RECEIVE", parseReceiveChoice, "auto", "auto, recvmmsg or bun");
}
