/**
 * The embedded network controller: networks and members in memory (persisted through a
 * ControllerStore before any change is acknowledged), revisions, authorization decisions for
 * NETWORK_CONFIG_REQUESTs, IP assignment, and change events for pushing configs.
 *
 * Every mutation runs through one promise queue, so decisions (IP picks above all) never see a
 * half-applied change even with an asynchronous store.
 */

import { consola } from "consola";
import type { JsonObject, JsonValue } from "../util/json.ts";
import { Identity } from "../vl1/identity.ts";
import { ipToString } from "../vl1/inet-address.ts";
import { type Rng, systemRng } from "../util/random.ts";
import { buildGrant } from "./config-build.ts";
import type { ConfigDecision } from "./config-grant.ts";
import { controllerOf, networkIdFromBigInt, networkIdToBigInt, parseMemberAddress, parseNetworkId } from "./ids.ts";
import { FieldError } from "./json-fields.ts";
import { jsonEqual, sortedJson } from "./json-order.ts";
import { applyMemberPost, initMember } from "./member-json.ts";
import { MemberIndex } from "./member-index.ts";
import { applyNetworkPost, type NetworkSettings, networkSettings } from "./network-json.ts";
import type { RequestMetadata } from "./request-metadata.ts";
import type { ControllerStore } from "./store.ts";

/** A member that requested within this window counts as online (2 × the 60 s refresh). */
export const ONLINE_WINDOW_MS = 120_000;
/** Requests from one member for one network closer together than this are dropped. */
export const MIN_REQUEST_INTERVAL_MS = 1000;

export type ChangeSource = "api" | "request";

export type ControllerEvent =
  | { readonly kind: "network-changed"; readonly nwid: string; readonly source: ChangeSource }
  /** `online`: members that were online (they get revocations of every member's COM, as in the reference). */
  | {
      readonly kind: "network-deleted";
      readonly nwid: string;
      readonly members: readonly string[];
      readonly online: readonly OnlineMember[];
    }
  | { readonly kind: "member-changed"; readonly nwid: string; readonly address: string; readonly source: ChangeSource }
  | { readonly kind: "member-deauthorized"; readonly nwid: string; readonly address: string }
  | { readonly kind: "member-deleted"; readonly nwid: string; readonly address: string };

export type ControllerListener = (e: ControllerEvent) => void;

/** A member that asked recently: what a push re-runs handleConfigRequest with. */
export interface OnlineMember {
  readonly nwid: string;
  readonly address: string;
  readonly identity: Identity;
  readonly metadata: RequestMetadata;
  readonly lastRequest: number;
}

export interface ConfigRequest {
  /** bigint or 16-hex string. */
  readonly networkId: bigint | string;
  /** The requester's full identity (as learned by VL1 from HELLO). */
  readonly identity: Identity;
  readonly metadata: RequestMetadata;
  /** True for a controller-initiated push (no request packet): skips rate limiting and bookkeeping. */
  readonly push?: boolean;
}

export type ApiOutcome =
  | { readonly ok: true; readonly record: JsonObject }
  | { readonly ok: false; readonly status: number; readonly error: string };

export interface ControllerOptions {
  /** This node's 10-hex address: it serves network IDs starting with it. */
  readonly address: string;
  readonly store: ControllerStore;
  /** Wall-clock milliseconds (record times, config timestamps). Default Date.now. */
  readonly now?: () => number;
  readonly rng?: Rng;
  /** Identity proof-of-work check for members seen for the first time. Default locallyValidate. */
  readonly validateIdentity?: (id: Identity) => boolean;
}

interface NetworkEntry {
  record: JsonObject;
  /** Typed view of `record`, parsed on first use after each change. */
  settings: NetworkSettings | null;
  members: Map<string, JsonObject>;
  index: MemberIndex;
}

function newEntry(record: JsonObject): NetworkEntry {
  return { record, settings: null, members: new Map(), index: new MemberIndex() };
}

export class Controller {
  private readonly networks = new Map<string, NetworkEntry>();
  private readonly online = new Map<string, OnlineMember>();
  private readonly listeners = new Set<ControllerListener>();
  private queue: Promise<unknown> = Promise.resolve();
  readonly address: string;
  private readonly store: ControllerStore;
  private readonly now: () => number;
  private readonly rng: Rng;
  private readonly validateIdentity: (id: Identity) => boolean;

  private constructor(opts: ControllerOptions) {
    this.address = opts.address.toLowerCase();
    this.store = opts.store;
    this.now = opts.now ?? Date.now;
    this.rng = opts.rng ?? systemRng;
    this.validateIdentity = opts.validateIdentity ?? ((id) => id.locallyValidate());
  }

  /** Load the store and return a ready controller. */
  static async open(opts: ControllerOptions): Promise<Controller> {
    const c = new Controller(opts);
    const { networks, members } = await c.store.load();
    for (const n of networks) {
      const nwid = typeof n.id === "string" ? parseNetworkId(n.id) : null;
      if (nwid !== null) c.networks.set(nwid, newEntry(n));
    }
    for (const m of members) {
      const nwid = typeof m.nwid === "string" ? parseNetworkId(m.nwid) : null;
      const addr = typeof m.id === "string" ? parseMemberAddress(m.id) : null;
      const entry = nwid === null ? undefined : c.networks.get(nwid);
      if (entry !== undefined && addr !== null) {
        entry.members.set(addr, m);
        entry.index.add(m);
      }
    }
    return c;
  }

  // ---- events ----

  /** Subscribe to changes; returns the unsubscribe function. Listeners must not throw. */
  onEvent(listener: ControllerListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: ControllerEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        // The change is already stored; a failing listener must not turn it into an API error.
        consola.error(`controller: event listener failed on ${e.kind}: ${(err as Error).stack ?? err}`);
      }
    }
  }

  /** Members of a network (or one member) that requested within ONLINE_WINDOW_MS. */
  onlineMembers(nwid: string, address?: string): OnlineMember[] {
    const now = this.now();
    const out: OnlineMember[] = [];
    for (const m of this.online.values()) {
      if (m.nwid !== nwid || (address !== undefined && m.address !== address)) continue;
      if (now - m.lastRequest < ONLINE_WINDOW_MS) out.push(m);
    }
    return out;
  }

  /**
   * Who should get a fresh NETWORK_CONFIG after an event (the reference pushes to online members
   * on every network or member change made through the API). Re-run handleConfigRequest with
   * push: true for each and send the grant as NETWORK_CONFIG; other decisions send nothing.
   */
  pushTargets(e: ControllerEvent): OnlineMember[] {
    switch (e.kind) {
      case "network-changed":
        return e.source === "api" ? this.onlineMembers(e.nwid) : [];
      case "member-changed":
        return e.source === "api" ? this.onlineMembers(e.nwid, e.address) : [];
      default:
        return [];
    }
  }

  // ---- reads (API) ----

  listNetworks(): string[] {
    return [...this.networks.keys()].sort();
  }

  getNetwork(nwid: string): JsonObject | null {
    const n = this.networks.get(nwid);
    return n === undefined ? null : sortedJson(structuredClone(n.record));
  }

  /** `{address: revision}` or null if there is no such network. */
  memberRevisions(nwid: string): JsonObject | null {
    const n = this.networks.get(nwid);
    if (n === undefined) return null;
    const out: JsonObject = {};
    for (const a of [...n.members.keys()].sort()) out[a] = n.members.get(a)!.revision ?? 0;
    return out;
  }

  listMembers(nwid: string): JsonObject[] | null {
    const n = this.networks.get(nwid);
    if (n === undefined) return null;
    return [...n.members.keys()].sort().map((a) => sortedJson(structuredClone(n.members.get(a)!)));
  }

  getMember(nwid: string, address: string): JsonObject | null {
    const m = this.networks.get(nwid)?.members.get(address);
    return m === undefined ? null : sortedJson(structuredClone(m));
  }

  // ---- writes (API) ----

  /** Create or update a network. The ID must start with this controller's address. */
  postNetwork(nwid: string, body: JsonValue): Promise<ApiOutcome> {
    return this.serial(async () => {
      if (controllerOf(nwid) !== this.address) {
        return { ok: false, status: 400, error: `network ID ${nwid} does not belong to this controller (${this.address})` };
      }
      return this.applyNetwork(nwid, body);
    });
  }

  /** Create a network with a random 24-bit number under this controller's address. */
  createNetwork(body: JsonValue): Promise<ApiOutcome> {
    return this.serial(async () => {
      for (let i = 0; i < 1000; i++) {
        let low = this.rng.u32() & 0xffffff;
        if (low === 0) low = 1;
        const nwid = this.address + low.toString(16).padStart(6, "0");
        if (!this.networks.has(nwid)) return this.applyNetwork(nwid, body);
      }
      return { ok: false, status: 503, error: "no free network ID" };
    });
  }

  private async applyNetwork(nwid: string, body: JsonValue): Promise<ApiOutcome> {
    const existing = this.networks.get(nwid);
    let next: JsonObject;
    try {
      next = applyNetworkPost(existing?.record ?? null, body, nwid, this.now());
    } catch (e) {
      if (e instanceof FieldError) return { ok: false, status: 400, error: e.message };
      throw e;
    }
    const record = await this.saveNetwork(nwid, existing?.record ?? null, next, "api");
    return { ok: true, record: sortedJson(structuredClone(record)) };
  }

  deleteNetwork(nwid: string): Promise<JsonObject | null> {
    return this.serial(async () => {
      const n = this.networks.get(nwid);
      if (n === undefined) return null;
      await this.store.deleteNetwork(nwid);
      const online = this.onlineMembers(nwid);
      this.networks.delete(nwid);
      for (const [k, m] of this.online) if (m.nwid === nwid) this.online.delete(k);
      this.emit({ kind: "network-deleted", nwid, members: [...n.members.keys()].sort(), online });
      return sortedJson(n.record);
    });
  }

  /** Create or update a member (the network must exist: 404 otherwise). */
  postMember(nwid: string, address: string, body: JsonValue): Promise<ApiOutcome> {
    return this.serial(async () => {
      const n = this.networks.get(nwid);
      if (n === undefined) return { ok: false, status: 404, error: `no network ${nwid}` };
      const existing = n.members.get(address) ?? null;
      let next: JsonObject;
      try {
        next = applyMemberPost(existing, body, nwid, address, this.now());
      } catch (e) {
        if (e instanceof FieldError) return { ok: false, status: 400, error: e.message };
        throw e;
      }
      const record = await this.saveMember(n, existing, next, "api");
      return { ok: true, record: sortedJson(structuredClone(record)) };
    });
  }

  deleteMember(nwid: string, address: string): Promise<JsonObject | null> {
    return this.serial(async () => {
      const n = this.networks.get(nwid);
      const m = n?.members.get(address);
      if (n === undefined || m === undefined) return null;
      await this.store.deleteMember(nwid, address);
      n.members.delete(address);
      n.index.remove(m);
      this.online.delete(`${nwid}/${address}`);
      if (m.authorized === true) this.emit({ kind: "member-deauthorized", nwid, address });
      this.emit({ kind: "member-deleted", nwid, address });
      return sortedJson(m);
    });
  }

  // ---- config requests (node) ----

  /**
   * Decide on a NETWORK_CONFIG_REQUEST (spec 6.10). Records the member (identity, versions,
   * auto-authorization, assigned IPs) before answering, so the answer is never ahead of the store.
   */
  handleConfigRequest(req: ConfigRequest): Promise<ConfigDecision> {
    return this.serial(() => this.decide(req));
  }

  private async decide(req: ConfigRequest): Promise<ConfigDecision> {
    const nwid = typeof req.networkId === "bigint" ? networkIdFromBigInt(req.networkId) : parseNetworkId(req.networkId);
    if (nwid === null || controllerOf(nwid) !== this.address) return { kind: "ignored", reason: "not a network of this controller" };
    const address = req.identity.addressString;
    const key = `${nwid}/${address}`;
    const now = this.now();
    const push = req.push === true;
    if (!push) {
      const last = this.online.get(key);
      if (last !== undefined && now - last.lastRequest < MIN_REQUEST_INTERVAL_MS && last.lastRequest <= now) {
        return { kind: "ignored", reason: "repeated request" };
      }
    }
    const n = this.networks.get(nwid);
    if (n === undefined) return { kind: "not-found" };

    const existing = n.members.get(address) ?? null;
    const member = initMember(existing ?? {}, now);
    const known = typeof member.identity === "string" && member.identity.length > 0 ? member.identity : null;
    if (known !== null) {
      const parsed = Identity.parse(known);
      if (!parsed.ok || !parsed.identity.equals(req.identity)) {
        return { kind: "access-denied", reason: "identity differs from the one on record" };
      }
    } else {
      if (!this.validateIdentity(req.identity)) return { kind: "access-denied", reason: "identity failed validation" };
      member.identity = req.identity.toString(false);
    }
    member.id = address;
    member.address = address;
    member.nwid = nwid;

    const net = (n.settings ??= networkSettings(n.record));
    let authorized = member.authorized === true;
    if (!authorized) {
      let how: string | null = null;
      let credential: string | null = null;
      if (!net.private) how = "public";
      else if (req.metadata.authToken !== null) {
        const exp = net.authTokens.get(req.metadata.authToken);
        if (exp !== undefined && (exp === 0 || exp > now)) {
          how = "token";
          credential = req.metadata.authToken;
        }
      }
      if (how !== null) {
        authorized = true;
        member.authorized = true;
        member.lastAuthorizedTime = now;
        member.lastAuthorizedCredentialType = how;
        member.lastAuthorizedCredential = credential;
      }
    }
    if (!authorized) {
      await this.saveMember(n, existing, member, "request");
      return { kind: "access-denied", reason: "not authorized" };
    }
    if (!push) {
      member.vMajor = req.metadata.vMajor;
      member.vMinor = req.metadata.vMinor;
      member.vRev = req.metadata.vRev;
      member.vProto = req.metadata.protocolVersion;
      this.online.set(key, { nwid, address, identity: req.identity, metadata: req.metadata, lastRequest: now });
    }

    const bridges = n.index.activeBridges();
    const built = buildGrant({
      nwid,
      identity: req.identity,
      metadata: req.metadata,
      now,
      net,
      member,
      // as 1.14: only a member with no record at all is new (a record made by POST or by a denied request is not)
      newMember: existing === null,
      taken: n.index,
      activeBridges: member.activeBridge === true && !bridges.includes(address) ? [...bridges, address].sort() : bridges,
    });
    for (const ip of built.assignment.added) {
      const list = Array.isArray(member.ipAssignments) ? member.ipAssignments : [];
      member.ipAssignments = [...list, ipToString(ip)];
    }
    const saved = await this.saveMember(n, existing, member, "request");
    return {
      ...built.grant,
      networkId: networkIdToBigInt(nwid),
      network: sortedJson(structuredClone(n.record)),
      member: sortedJson(structuredClone(saved)),
    };
  }

  // ---- persistence ----

  /** Store a changed network record with revision + 1; unchanged records are not written. */
  private async saveNetwork(nwid: string, old: JsonObject | null, next: JsonObject, source: ChangeSource): Promise<JsonObject> {
    if (old !== null && jsonEqual(old, next, ["revision"])) return old;
    const rec = sortedJson<JsonObject>({ ...next, revision: revisionOf(old ?? next) + 1 });
    await this.store.putNetwork(rec);
    const entry = this.networks.get(nwid);
    if (entry === undefined) this.networks.set(nwid, newEntry(rec));
    else {
      entry.record = rec;
      entry.settings = null;
    }
    this.emit({ kind: "network-changed", nwid, source });
    return rec;
  }

  private async saveMember(n: NetworkEntry, old: JsonObject | null, next: JsonObject, source: ChangeSource): Promise<JsonObject> {
    if (old !== null && jsonEqual(old, next, ["revision"])) return old;
    const rec = sortedJson<JsonObject>({ ...next, revision: revisionOf(old ?? next) + 1 });
    await this.store.putMember(rec);
    const address = String(rec.id);
    const nwid = String(rec.nwid);
    if (old !== null) n.index.remove(old);
    n.members.set(address, rec);
    n.index.add(rec);
    this.emit({ kind: "member-changed", nwid, address, source });
    if (old !== null && old.authorized === true && rec.authorized !== true) this.emit({ kind: "member-deauthorized", nwid, address });
    return rec;
  }

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.queue.then(f, f);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function revisionOf(r: JsonObject): number {
  return typeof r.revision === "number" && Number.isSafeInteger(r.revision) && r.revision >= 0 ? r.revision : 0;
}
