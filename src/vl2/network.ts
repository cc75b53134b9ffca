/**
 * One joined network on a member (1.14's Network): its config (requested from the controller,
 * assembled from signed chunks, persisted), status, memberships of other members (credentials and
 * the gate), Ethernet frames both ways through the rules engine, multicast (LIKE, GATHER,
 * MULTICAST_FRAME) and the port that consumes the frames. The frame paths live in
 * network-frames.ts and the multicast paths in network-multicast.ts (helpers owned by the Network,
 * reaching its state through the members marked @internal).
 *
 * Inbound verbs arrive from the Networks dispatcher with the whole packet (header at `start`,
 * payload at start + 28) and may be modified in place (the Ethernet header of a delivered frame is
 * written over the end of the ZeroTier header). Outbound frames come from the port with
 * FRAME_HEADROOM before them and are copied once, into VL1's packet buffer.
 */
import { consola } from "consola";
import type { Clock } from "../util/clock.ts";
import type { Rng } from "../util/random.ts";
import type { Address } from "../vl1/address.ts";
import type { Identity } from "../vl1/identity.ts";
import { type InetAddress, inetAddressToString, ipToString } from "../vl1/inet-address.ts";
import { IpScope, ipScope } from "../vl1/ip-scope.ts";
import { ErrorCode, Verb } from "../vl1/packet.ts";
import { type NetworkPort, PortError, type PortFactory } from "./port.ts";
import { comIssuedTo, encodeCom } from "./com.ts";
import { ConfigAssembler } from "./config-chunks.ts";
import { type RequestMetadata, encodeConfigRequest } from "./config-request.ts";
import { credentialPushPayloads } from "./credentials/network-credentials.ts";
import type { NetworkCredentials } from "./credentials/network-credentials.ts";
import { splitNetworkId } from "./frame-codec.ts";
import type { NetworkIdHalves } from "./frame-codec.ts";
import { DEFAULT_LOCAL_SETTINGS, type NetworkLocalSettings } from "./local-conf.ts";
import { type Mac, macFromAddress, macToString } from "./mac.ts";
import { Membership } from "./membership.ts";
import type { MulticastGroup } from "./multicast-group.ts";
import { MULTICAST_ANNOUNCE_PERIOD, MulticastSubscriber } from "./multicast-subscriber.ts";
import {
  type NetworkConfig,
  type Route,
  DEFAULT_MTU,
  activeBridges,
  broadcastEnabled,
  encodeNetworkConfig,
  isPrivateNetwork,
} from "./network-config.ts";
import { controllerOf, isAdHocNetworkId, networkIdToString } from "./network-id.ts";
import { adHocNetworkConfig } from "./adhoc.ts";
import { type AuthInfo, parseAuthInfo } from "./auth-info.ts";
import { type ConfigFailure, NO_CAPS, NetworkStatus, ReasonCounters, writeNwid } from "./network-state.ts";
import { NetworkRuleContext } from "./rule-context.ts";
import { NetworkFrames } from "./network-frames.ts";
import { NetworkMulticast } from "./network-multicast.ts";
import type { Rule } from "./rules.ts";

/** ZT_NETWORK_AUTOCONF_DELAY: refresh the config this often. */
export const NETWORK_AUTOCONF_DELAY = 60_000;
/** Re-request this often while we have no (fresh) config (the 5 s ping tick). */
export const CONFIG_RETRY_INTERVAL = 5_000;
/** Re-push our credentials to a member at least this often (spec 6.12). */
export const CREDENTIAL_PUSH_PERIOD = 500_000;
/** ZT_PEER_CREDENTIALS_REQUEST_RATE_LIMIT: re-push on NEED_MEMBERSHIP_CERTIFICATE at most this often. */
export const CREDENTIAL_REPUSH_MIN = 1_000;
const MAX_MEMBERSHIPS = 65_536;
const GROUP_SCAN_INTERVAL = 5_000;
const DEFERRED_CREDENTIALS_TIMEOUT = 5_000;
const MAX_DEFERRED_CREDENTIALS = 16;

/** Result of asking the embedded controller for our own network (no packets). */
export type LocalConfigAnswer = { readonly kind: "ok"; readonly config: NetworkConfig } | { readonly kind: "not-found" | "access-denied" | "ignored" | "error"; readonly reason: string };

/** What a network needs from the node and the service around it. */
export interface NetworkEnv {
  readonly address: Address;
  readonly clock: Clock;
  readonly rng: Rng;
  /** VL1's packet build buffer (payload from IDX_PAYLOAD), sent with sendTxTo. */
  readonly tx: Uint8Array;
  send(dest: Address, verb: number, payload: Uint8Array, start: number, end: number, opts?: { compress?: boolean; expectReply?: boolean }): boolean;
  sendTxTo(dest: Address, verb: number, end: number, flags: number): boolean;
  /** A peer's identity if VL1 knows it. */
  identityOf(a: Address): Identity | null;
  requestWhois(a: Address): void;
  /** Roots, best first. */
  upstreams(): readonly Address[];
  /** For networks whose controller is this node (answered without packets), else null. */
  localConfig: ((nwid: bigint, metadata: RequestMetadata) => Promise<LocalConfigAnswer>) | null;
  readonly portFactory: PortFactory;
  readonly metadata: RequestMetadata;
  /** Persist networks.d/<nwid>.conf (the config as 1.14 writes it). */
  saveConfig(nwid: bigint, bytes: Uint8Array): void;
}

export interface NetworkTraffic {
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  multicastIn: number;
  multicastOut: number;
}

export class Network {
  readonly id: bigint;
  readonly idString: string;
  readonly halves: NetworkIdHalves;
  readonly controller: Address;
  readonly mac: Mac;
  private readonly macTop: number;
  private readonly maskHi: number;
  private readonly maskLo: number;
  config: NetworkConfig | null = null;
  failure: ConfigFailure = "none";
  /** What the controller sent with NETWORK_AUTHENTICATION_REQUIRED (SSO), for the API. */
  authInfo: AuthInfo | null = null;
  settings: NetworkLocalSettings;
  port: NetworkPort | null = null;
  portError: string | null = null;
  portErrorCode = 0;
  lastConfigUpdate = -Infinity;
  lastConfigRequest = -Infinity;
  /** Dropped frames by reason. */
  readonly drops: ReasonCounters;
  /** Rejected config chunks / configs by reason. */
  readonly configRejects: ReasonCounters;
  /** Rejected credentials by reason. */
  readonly credentialRejects: ReasonCounters;
  readonly traffic: NetworkTraffic = { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, multicastIn: 0, multicastOut: 0 };
  readonly multicast: MulticastSubscriber;
  readonly memberships = new Map<Address, Membership>();

  /** @internal */
  readonly env: NetworkEnv;
  private readonly assembler: ConfigAssembler;
  /** @internal */
  ruleCtx: NetworkRuleContext | null = null;
  /** For the short control replies sent from here (ERROR NEED_MEMBERSHIP_CERTIFICATE). */
  private readonly scratch = new Uint8Array(64);
  private credentialsPayload: Uint8Array[] | null = null;
  /** Rule tables of our own capabilities (outbound filtering), cached per config. */
  ourCapabilities: readonly (readonly Rule[])[] = [];
  /** @internal Our COM serialized (attached to GATHERs). */
  comBytes: Uint8Array | null = null;
  private lastNeedCert = new Map<Address, number>();
  /** Bumped per applied config: credentials are re-pushed to each member after a config change. */
  private configGeneration = 0;
  private requestInFlight = false;
  /** Credentials waiting for a signer's identity (bounded, retried each tick until their deadline). */
  private deferred: { creds: NetworkCredentials; until: number }[] = [];
  /** @internal */
  destroyed = false;
  readonly frames: NetworkFrames;
  readonly mc: NetworkMulticast;
  private readonly portSink = { sendFrame: (buf: Uint8Array, start: number, end: number) => this.frames.fromPort(buf, start, end) };

  constructor(id: bigint, env: NetworkEnv, settings: NetworkLocalSettings = DEFAULT_LOCAL_SETTINGS) {
    this.id = id;
    this.idString = networkIdToString(id);
    this.halves = splitNetworkId(id);
    this.controller = controllerOf(id);
    this.env = env;
    this.settings = settings;
    this.mac = macFromAddress(env.address, id);
    const base = macFromAddress(0, id);
    this.macTop = Math.floor(base / 0x10000000000) * 0x10000000000;
    const mask = base - this.macTop;
    this.maskHi = Math.floor(mask / 0x100000000);
    this.maskLo = mask >>> 0;
    const now = () => env.clock.now();
    this.drops = new ReasonCounters(`network ${this.idString}: frame dropped`, now);
    this.configRejects = new ReasonCounters(`network ${this.idString}: config rejected`, now, 1000);
    this.credentialRejects = new ReasonCounters(`network ${this.idString}: credential rejected`, now);
    this.multicast = new MulticastSubscriber(env.address, env.rng);
    this.assembler = new ConfigAssembler(id, env.address, () => this.env.identityOf(this.controller));
    this.frames = new NetworkFrames(this);
    this.mc = new NetworkMulticast(this);
  }

  /** MAC(member, this network) without the per-call bigint work of macFromAddress (same result). */
  macOf(a: Address): Mac {
    const hi = (Math.floor(a / 0x100000000) ^ this.maskHi) & 0xff;
    const lo = ((a >>> 0) ^ this.maskLo) >>> 0;
    return this.macTop + hi * 0x100000000 + lo;
  }

  /** The member address behind a MAC of this network, or null (addressFromMac without bigints). */
  addressOfMac(mac: Mac): Address | null {
    if (mac - (mac % 0x10000000000) !== this.macTop) return null;
    const low = mac % 0x10000000000;
    const hi = (Math.floor(low / 0x100000000) ^ this.maskHi) & 0xff;
    const lo = ((low >>> 0) ^ this.maskLo) >>> 0;
    return hi * 0x100000000 + lo;
  }

  // ------------------------------------------------------------------ status, API

  get status(): NetworkStatus {
    if (this.portError !== null) return NetworkStatus.PORT_ERROR;
    switch (this.failure) {
      case "access-denied":
        return NetworkStatus.ACCESS_DENIED;
      case "not-found":
        return NetworkStatus.NOT_FOUND;
      case "authentication-required":
        return NetworkStatus.AUTHENTICATION_REQUIRED;
      default:
        return this.config === null ? NetworkStatus.REQUESTING_CONFIGURATION : NetworkStatus.OK;
    }
  }

  /** The network object of the local API (spec 8.9). */
  toJson(): Record<string, unknown> {
    const c = this.config;
    const s = this.settings;
    return {
      id: this.idString,
      nwid: this.idString,
      mac: macToString(this.mac),
      name: c?.name ?? "",
      status: this.status,
      type: c === null ? "PRIVATE" : isPrivateNetwork(c) ? "PRIVATE" : "PUBLIC",
      mtu: c?.mtu ?? 2800,
      dhcp: false,
      bridge: c !== null && activeBridges(c).includes(this.env.address),
      broadcastEnabled: c !== null && broadcastEnabled(c),
      portError: this.portErrorCode,
      netconfRevision: c?.revision ?? 0,
      portDeviceName: this.port?.deviceName ?? "",
      allowManaged: s.allowManaged,
      allowGlobal: s.allowGlobal,
      allowDefault: s.allowDefault,
      allowDNS: s.allowDNS,
      assignedAddresses: c === null ? [] : c.staticIps.map(inetAddressToString),
      routes: c === null ? [] : c.routes.filter((r) => r.target !== null).map((r) => ({ target: inetAddressToString(r.target!), via: r.via === null ? null : ipToString(r.via), flags: r.flags, metric: r.metric })),
      multicastSubscriptions: this.multicast.subscriptions.map((g) => ({ mac: macToString(g.mac), adi: g.adi })),
      dns: { domain: c?.dns.domain ?? "", servers: c === null ? [] : c.dns.servers.map(ipToString) },
      ...this.ssoJson(),
    };
  }

  /** SSO fields zerotier-one adds to the network object when SSO is involved. */
  private ssoJson(): Record<string, unknown> {
    const a = this.authInfo;
    const sso = this.config?.sso;
    if (this.failure === "authentication-required" && a !== null) {
      return { ssoEnabled: true, authenticationURL: a.version === 0 ? a.authenticationUrl : a.centralAuthUrl, authenticationExpiryTime: 0 };
    }
    if (sso !== undefined && sso.enabled) return { ssoEnabled: true, authenticationURL: sso.authenticationUrl, authenticationExpiryTime: sso.authenticationExpiryTime };
    return {};
  }

  // ------------------------------------------------------------------ timers

  /** Called about every second: config requests, multicast announcements, housekeeping. */
  tick(now: number): void {
    if (this.destroyed) return;
    const due = this.config === null ? this.lastConfigRequest + CONFIG_RETRY_INTERVAL : Math.max(this.lastConfigUpdate + NETWORK_AUTOCONF_DELAY, this.lastConfigRequest + CONFIG_RETRY_INTERVAL);
    if (now >= due) this.requestConfiguration(now);
    if (this.config !== null) {
      // 1.14's service scans the port's multicast memberships every 5 s
      if (now - this.mc.lastGroupScan >= GROUP_SCAN_INTERVAL) this.mc.refreshSubscriptions(now);
      if (now - this.multicast.lastAnnounce >= MULTICAST_ANNOUNCE_PERIOD) this.mc.announceMulticastGroups(now, null);
    }
    this.multicast.clean(now);
    this.retryDeferredCredentials(now);
    if (this.lastNeedCert.size > 1024) this.lastNeedCert.clear();
  }

  // ------------------------------------------------------------------ configuration

  /** NETWORK_CONFIG_REQUEST to the controller, or the embedded controller when it is us. */
  requestConfiguration(now: number): void {
    this.lastConfigRequest = now;
    const env = this.env;
    if (isAdHocNetworkId(this.id)) {
      // 0xff… networks are configured locally, as 1.14 does (spec 6.13)
      const r = adHocNetworkConfig(this.id, env.address, Date.now());
      if (r.kind === "config") this.applyConfig(r.config, true);
      else if (r.kind === "not-found") this.failure = "not-found";
      return;
    }
    if (this.controller === env.address) {
      if (env.localConfig === null || this.requestInFlight) return;
      this.requestInFlight = true;
      void env
        .localConfig(this.id, env.metadata)
        .then((r) => this.onLocalConfig(r))
        .catch((e: unknown) => this.configRejects.add("local controller failed", (e as Error).message, "warn"))
        .finally(() => {
          this.requestInFlight = false;
        });
      return;
    }
    const c = this.config;
    const p = encodeConfigRequest(this.id, env.metadata, BigInt(c?.revision ?? 0), BigInt(c?.timestamp ?? 0));
    if (!p.ok) {
      this.configRejects.add("cannot encode request", p.error, "warn");
      return;
    }
    env.send(this.controller, Verb.NETWORK_CONFIG_REQUEST, p.value, 0, p.value.length, { compress: true, expectReply: true });
  }

  /** A config (or refusal) from the embedded controller for our own network, pulled or pushed. */
  onLocalConfig(r: LocalConfigAnswer): void {
    if (this.destroyed) return;
    switch (r.kind) {
      case "ok":
        if (r.config.networkId !== this.id || r.config.issuedTo !== this.env.address) {
          this.configRejects.add("local controller config for another network or member", "", "warn");
          return;
        }
        this.applyConfig(r.config, true);
        return;
      case "not-found":
        this.failure = "not-found";
        return;
      case "access-denied":
        this.failure = "access-denied";
        return;
      case "ignored":
        return; // a repeated request within the controller's rate limit: the earlier answer stands
      default:
        this.configRejects.add(`local controller: ${r.kind}`, r.reason);
    }
  }

  /**
   * A config chunk: from OK(NETWORK_CONFIG_REQUEST) (legacy form allowed from the controller) or a
   * NETWORK_CONFIG push. buf[chunkStart, end) is the chunk structure. Returns the update ID of a
   * config that was completed and applied, else null.
   */
  handleConfigChunk(from: Address, packetId: bigint, buf: Uint8Array, chunkStart: number, end: number, fromOk: boolean): bigint | null {
    const r = this.assembler.accept(buf, chunkStart, end, { from, packetId, legacyAllowed: fromOk });
    switch (r.kind) {
      case "rejected":
        if (r.reason === "controller identity unknown") this.env.requestWhois(this.controller);
        this.configRejects.add(r.reason, `chunk from ${from.toString(16).padStart(10, "0")}`, "warn");
        return null;
      case "duplicate":
        return null;
      case "incomplete":
        if (r.fastPropagate) this.propagateChunk(from, buf, chunkStart, end);
        return null;
      case "complete":
        if (r.fastPropagate) this.propagateChunk(from, buf, chunkStart, end);
        this.applyConfig(r.config, true);
        return r.updateId;
    }
  }

  /** A verified chunk flagged "fast propagate": pass it on as NETWORK_CONFIG to recently associated members. */
  private propagateChunk(from: Address, buf: Uint8Array, start: number, end: number): void {
    // "recently associated" compares COM timestamps, which are the controller's wall clock: use our config's
    const t = this.config?.timestamp ?? 0;
    for (const [a, m] of this.memberships) {
      if (a === from || a === this.controller || !m.recentlyAssociated(t)) continue;
      this.env.send(a, Verb.NETWORK_CONFIG, buf, start, end, { compress: true });
    }
  }

  /** ERROR in reply to our NETWORK_CONFIG_REQUEST: only the controller may refuse us. */
  handleConfigError(from: Address, code: number): void {
    if (from !== this.controller) {
      this.configRejects.add("config error not from the controller", `code ${code}`);
      return;
    }
    if (code === ErrorCode.OBJ_NOT_FOUND || code === ErrorCode.UNSUPPORTED_OPERATION) this.failure = "not-found";
    else if (code === ErrorCode.NETWORK_ACCESS_DENIED) this.failure = "access-denied";
    else if (code === ErrorCode.NETWORK_AUTHENTICATION_REQUIRED) this.failure = "authentication-required";
  }

  /** Installs a verified config: status, persisted copy, credentials, port, multicast. */
  applyConfig(nc: NetworkConfig, save: boolean): void {
    if (this.destroyed) return;
    const now = this.env.clock.now();
    this.config = nc;
    this.failure = "none";
    this.authInfo = null;
    this.lastConfigUpdate = now;
    this.credentialsPayload = null;
    this.configGeneration++;
    this.comBytes = nc.com === null ? null : encodeCom(nc.com);
    this.ourCapabilities = nc.capabilities.map((x) => x.rules);
    this.ruleCtx = this.ruleCtx === null ? new NetworkRuleContext(this.env.address, nc, this.env.rng) : this.ruleCtx;
    // the members' cached gate, capability and push answers name the old generation: stale now
    for (const m of this.memberships.values()) m.clean(nc);
    if (save) {
      const bytes = encodeNetworkConfig(nc);
      if (bytes.ok) this.env.saveConfig(this.id, bytes.value);
    }
    this.setUpPort(nc);
    this.mc.refreshSubscriptions(now);
  }

  /**
   * Creates the port (as zerotier-one creates the tap when a network is joined, before any config:
   * MAC and default MTU, no addresses). A failure is status PORT_ERROR; retried on each config.
   */
  openPort(mtu = DEFAULT_MTU): boolean {
    if (this.port !== null) return true;
    if (this.destroyed) return false;
    try {
      this.port = this.env.portFactory.create(this.id, this.mac, mtu);
      this.port.start(this.portSink);
      this.portError = null;
      this.portErrorCode = 0;
    } catch (e) {
      this.portError = (e as Error).message;
      this.portErrorCode = e instanceof PortError ? e.code : -1;
      consola.warn(`network ${this.idString}: port error (status PORT_ERROR): ${this.portError}`);
      return false;
    }
    if (this.config === null) void this.port.configure({ mac: this.mac, mtu, addresses: [], routes: [] });
    return true;
  }

  private setUpPort(nc: NetworkConfig): void {
    if (!this.openPort(nc.mtu)) return;
    void this.port!.configure({ mac: this.mac, mtu: nc.mtu, addresses: this.managedAddresses(nc), routes: this.managedRoutes(nc) });
  }

  /** Static IPs the local settings allow (allowManaged, its whitelist, allowGlobal). */
  managedAddresses(nc: NetworkConfig): InetAddress[] {
    const s = this.settings;
    if (!s.allowManaged) return [];
    return nc.staticIps.filter((a) => {
      if (s.allowManagedWhitelist.length > 0 && !s.allowManagedWhitelist.some((w) => w.family === a.family && ipToString(w) === ipToString(a))) return false;
      return s.allowGlobal || !isGlobal(a);
    });
  }

  managedRoutes(nc: NetworkConfig): Route[] {
    const s = this.settings;
    if (!s.allowManaged) return [];
    return nc.routes.filter((r) => {
      if (r.target === null) return false;
      if (r.target.port === 0) return s.allowDefault;
      return s.allowGlobal || !isGlobal(r.target);
    });
  }

  setSettings(s: NetworkLocalSettings): void {
    this.settings = s;
    if (this.config !== null && this.port !== null) this.setUpPort(this.config);
  }

  // ------------------------------------------------------------------ credentials and the gate

  membership(a: Address, create: boolean): Membership | null {
    let m = this.memberships.get(a);
    if (m === undefined && create) {
      if (this.memberships.size >= MAX_MEMBERSHIPS) return null;
      m = new Membership();
      this.memberships.set(a, m);
    }
    return m ?? null;
  }

  /** Spec 6.12: we have a config and the network is public or the peer's COM agrees with ours. */
  gate(peer: Address): boolean {
    const c = this.config;
    if (c === null) return false;
    if (!isPrivateNetwork(c)) return true;
    const m = this.memberships.get(peer);
    if (m === undefined) return false;
    // COM agreement hashes the peer's identity: cache the answer per (COM held, our config).
    const com = m.certificateOfMembership;
    if (m.gateGeneration === this.configGeneration && m.gateCom === com) return m.gateOk;
    const id = this.env.identityOf(peer);
    if (id === null) return false;
    const ok = m.isAllowedOnNetwork(c, id);
    m.gateGeneration = this.configGeneration;
    m.gateCom = com;
    m.gateOk = ok;
    return ok;
  }

  /** After a passed gate: announce our groups to that member once per period (spec 6.12). */
  /** @internal */
  afterGate(peer: Address, now: number): void {
    const m = this.membership(peer, true);
    if (m === null || now - m.lastMulticastAnnounce < MULTICAST_ANNOUNCE_PERIOD) return;
    m.lastMulticastAnnounce = now;
    this.mc.sendLikes(peer, this.multicast.subscriptions);
  }

  /** Credentials a member pushed; returns true if anything was accepted (trust established). */
  addCredentials(creds: NetworkCredentials, retryUntil = -1): boolean {
    const c = this.config;
    if (c === null) return false;
    const ctl = this.env.identityOf(this.controller);
    let accepted = false;
    let deferred = false;
    const note = (kind: string, r: { kind: string; reason?: string; whois?: Address }) => {
      if (r.kind === "accepted-new" || r.kind === "accepted-redundant") accepted = true;
      else if (r.kind === "deferred") {
        deferred = true;
        this.env.requestWhois(r.whois!);
        this.credentialRejects.add(`${kind} deferred (signer unknown)`);
      } else this.credentialRejects.add(`${kind}: ${r.reason ?? "rejected"}`, "", "info");
    };
    for (const com of creds.coms) {
      if (com.qualifiers.length === 0) continue;
      const m = this.membership(comIssuedTo(com), true);
      if (m !== null) note("COM", m.addCom(c, com, ctl));
    }
    for (const t of creds.tags) {
      const m = this.membership(t.issuedTo, true);
      if (m !== null) note("tag", m.addTag(c, t, ctl));
    }
    for (const coo of creds.certificatesOfOwnership) {
      const m = this.membership(coo.issuedTo, true);
      if (m !== null) note("certificate of ownership", m.addCoo(c, coo, ctl));
    }
    for (const cap of creds.capabilities) {
      const holder = cap.custody.length > 0 ? cap.custody[cap.custody.length - 1]!.to : 0;
      const m = this.membership(holder, true);
      if (m !== null) note("capability", m.addCapability(c, cap, (a) => this.env.identityOf(a)));
      if (m !== null) m.capsGeneration = -1;
    }
    for (const rev of creds.revocations) {
      const m = this.membership(rev.target, true);
      if (m !== null) note("revocation", m.addRevocation(c, rev, ctl));
      if (m !== null) m.capsGeneration = -1;
      if (m !== null) m.gateGeneration = -1;
    }
    if (deferred) {
      // 1.14 keeps the packet and retries once the signer's identity arrives (WHOIS): so do we, for 5 s
      const now = this.env.clock.now();
      const until = retryUntil < 0 ? now + DEFERRED_CREDENTIALS_TIMEOUT : retryUntil;
      if (until > now && this.deferred.length < MAX_DEFERRED_CREDENTIALS) this.deferred.push({ creds, until });
    }
    return accepted;
  }

  private retryDeferredCredentials(now: number): void {
    if (this.deferred.length === 0) return;
    const list = this.deferred;
    this.deferred = [];
    for (const d of list) if (d.until > now) this.addCredentials(d.creds, d.until);
  }

  /** Our credential push as 1.14 sends it (COM if private, capabilities, tags, CoOs; split to fit packets). */
  private credentials(): Uint8Array[] | null {
    const c = this.config;
    if (c === null) return null;
    if (this.credentialsPayload === null) {
      this.credentialsPayload = credentialPushPayloads({
        com: isPrivateNetwork(c) ? c.com : null,
        capabilities: c.capabilities,
        tags: c.tags,
        certificatesOfOwnership: c.certificatesOfOwnership,
      });
    }
    return this.credentialsPayload;
  }

  /** Push our COM/tags/capabilities/CoOs to a member if not done since our config changed or for 500 s. */
  pushCredentialsIfNeeded(to: Address, now: number): void {
    const m = this.membership(to, true);
    if (m === null) return;
    if (m.pushedGeneration === this.configGeneration && now - m.lastPushedCredentials < CREDENTIAL_PUSH_PERIOD) return;
    this.pushCredentials(to, m, now);
  }

  private pushCredentials(to: Address, m: Membership, now: number): void {
    const payloads = this.credentials();
    if (payloads === null) return;
    m.lastPushedCredentials = now;
    m.pushedGeneration = this.configGeneration;
    for (const p of payloads) this.env.send(to, Verb.NETWORK_CREDENTIALS, p, 0, p.length, { compress: true });
  }

  /** ERROR NEED_MEMBERSHIP_CERTIFICATE from a member: push again (rate limited). */
  handleNeedCertificate(from: Address): void {
    const now = this.env.clock.now();
    const m = this.membership(from, true);
    if (m === null) return;
    if (m.pushedGeneration === this.configGeneration && now - m.lastPushedCredentials < CREDENTIAL_REPUSH_MIN) return;
    this.pushCredentials(from, m, now);
  }

  /** ERROR(inReVerb, NEED_MEMBERSHIP_CERTIFICATE, nwid) to a sender that failed the gate (1/s per sender). */
  /** @internal */
  needCertificate(peer: Address, inReVerb: number, pkt: Uint8Array, start: number): void {
    const now = this.env.clock.now();
    const last = this.lastNeedCert.get(peer);
    if (last !== undefined && now - last < CREDENTIAL_REPUSH_MIN) return;
    this.lastNeedCert.set(peer, now);
    const out = this.scratch;
    out[0] = inReVerb;
    out.set(pkt.subarray(start, start + 8), 1);
    out[9] = ErrorCode.NEED_MEMBERSHIP_CERTIFICATE;
    writeNwid(out, 10, this.halves);
    this.env.send(peer, Verb.ERROR, out, 0, 18);
  }

  // ------------------------------------------------------------------ frames and multicast (network-frames.ts, network-multicast.ts)

  /** FRAME from a member (whole packet at pkt[start, end)); true if the sender passed the gate. */
  onFrame(peer: Address, pkt: Uint8Array, start: number, end: number): boolean {
    return this.frames.onFrame(peer, pkt, start, end);
  }

  onExtFrame(peer: Address, pkt: Uint8Array, start: number, end: number): boolean {
    return this.frames.onExtFrame(peer, pkt, start, end);
  }

  onMulticastFrame(peer: Address, pkt: Uint8Array, start: number, end: number): boolean {
    return this.frames.onMulticastFrame(peer, pkt, start, end);
  }

  /** An Ethernet frame from our side (FRAME_HEADROOM free before start). */
  fromPort(buf: Uint8Array, start: number, end: number): void {
    this.frames.fromPort(buf, start, end);
  }

  onLike(peer: Address, group: MulticastGroup): boolean {
    return this.mc.onLike(peer, group);
  }

  onGather(peer: Address, pkt: Uint8Array, start: number, end: number): boolean {
    return this.mc.onGather(peer, pkt, start, end);
  }

  onGatherResults(pkt: Uint8Array, bodyStart: number, end: number): void {
    this.mc.onGatherResults(pkt, bodyStart, end);
  }

  onMulticastFrameOk(pkt: Uint8Array, bodyStart: number, end: number): void {
    this.mc.onMulticastFrameOk(pkt, bodyStart, end);
  }

  /** The peer's valid capability rule tables, cached until our config or its credentials change. */
  /** @internal */
  peerCapabilities(m: Membership, c: NetworkConfig): readonly (readonly Rule[])[] {
    if (m.capsGeneration !== this.configGeneration) {
      const found = m.capabilityRules(c);
      m.capsRules = found.length === 0 ? NO_CAPS : found;
      m.capsGeneration = this.configGeneration;
    }
    return m.capsRules;
  }

  /** Handles ERROR codes about this network from `from` (payload at errPayload = nwid…). */
  onError(from: Address, inReVerb: number, code: number, pkt: Uint8Array, errPayload: number, end: number): void {
    if (inReVerb === Verb.NETWORK_CONFIG_REQUEST) {
      this.handleConfigError(from, code);
      // nwid(8) then optionally len(2) + auth-info dictionary (spec 4.2)
      if (code === ErrorCode.NETWORK_AUTHENTICATION_REQUIRED && from === this.controller && end - errPayload >= 10) {
        const len = (pkt[errPayload + 8]! << 8) | pkt[errPayload + 9]!;
        if (errPayload + 10 + len <= end) {
          const a = parseAuthInfo(pkt, errPayload + 10, errPayload + 10 + len);
          if (a.ok) this.authInfo = a.value;
          else this.configRejects.add("bad auth info", a.error);
        }
      }
      return;
    }
    if (code === ErrorCode.NEED_MEMBERSHIP_CERTIFICATE) this.handleNeedCertificate(from);
    else if (code === ErrorCode.UNWANTED_MULTICAST) this.mc.onUnwantedMulticast(from, pkt, errPayload, end);
  }

  // ------------------------------------------------------------------ leaving

  /** Leave: the port is removed. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    const p = this.port;
    this.port = null;
    if (p !== null) await p.close();
  }
}

/** Global (public) IP space: what allowGlobal guards. */
function isGlobal(a: InetAddress): boolean {
  return ipScope(a) === IpScope.GLOBAL;
}
