/**
 * The networks a node has joined: join/leave, persistence in networks.d (re-joined at start, the
 * saved config applied until a fresh one arrives, as 1.14 does), the once-a-second timer, and the
 * VL2 dispatcher that routes each packet VL1 hands over to the network it names.
 */
import { consola } from "consola";
import type { Address } from "../vl1/address.ts";
import { IDX_PAYLOAD, VERB_MASK, Verb } from "../vl1/packet.ts";
import { decodeNetworkCredentials } from "./credentials/network-credentials.ts";
import { type NetworkLocalSettings, DEFAULT_LOCAL_SETTINGS, encodeLocalConf, parseLocalConf } from "./local-conf.ts";
import { parseMulticastLikes } from "./multicast-codec.ts";
import { Network, type NetworkEnv } from "./network.ts";
import { networkConfigFromBytes } from "./network-config.ts";
import { networkIdToString } from "./network-id.ts";
import { ReasonCounters } from "./network-state.ts";
import { Stage, STAGE_TIMING, stageEnd, stageStart } from "../util/stage-timing.ts";

/** networks.d: `<nwid>.conf` (config dictionary) and `<nwid>.local.conf` (local settings). */
export interface NetworksStore {
  /** Network IDs with a `<nwid>.conf` file. */
  list(): bigint[];
  read(name: string): Uint8Array | null;
  write(name: string, data: Uint8Array): void;
  remove(name: string): void;
}

export type NetworksEnv = Omit<NetworkEnv, "saveConfig">;

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function packetId(pkt: Uint8Array, start: number): bigint {
  return (BigInt(u32(pkt, start)) << 32n) | BigInt(u32(pkt, start + 4));
}

export class Networks {
  private readonly nets: Network[] = [];
  readonly env: NetworkEnv;
  /** Packets that named no joined network or were malformed, by reason. */
  readonly ignored: ReasonCounters;

  constructor(
    env: NetworksEnv,
    private readonly store: NetworksStore,
  ) {
    this.env = { ...env, saveConfig: (nwid, bytes) => this.saveConfig(nwid, bytes) };
    this.ignored = new ReasonCounters("vl2: packet ignored", () => env.clock.now());
  }

  /** Re-join every network in networks.d, applying its saved config. */
  restore(): void {
    for (const nwid of this.store.list()) {
      const n = this.join(nwid);
      const saved = this.store.read(`${networkIdToString(nwid)}.conf`);
      if (saved === null || saved.length <= 1) continue;
      const nc = networkConfigFromBytes(saved);
      if (nc.ok && nc.value.networkId === nwid && nc.value.issuedTo === this.env.address) {
        n.applyConfig(nc.value, false);
        // as 1.14: the saved config is used, but a fresh one is still wanted right away
        n.lastConfigUpdate = -Infinity;
      }
      else consola.warn(`networks.d/${networkIdToString(nwid)}.conf is not a config for us; requesting a new one`);
    }
  }

  get all(): readonly Network[] {
    return this.nets;
  }

  get(nwid: bigint): Network | null {
    return this.nets.find((n) => n.id === nwid) ?? null;
  }

  private byHalves(hi: number, lo: number): Network | null {
    for (const n of this.nets) if (n.halves.lo === lo && n.halves.hi === hi) return n;
    return null;
  }

  /** Join (idempotent). `settings` (from the API body) are saved to <nwid>.local.conf. */
  join(nwid: bigint, settings?: Partial<NetworkLocalSettings>): Network {
    const name = networkIdToString(nwid);
    let n = this.get(nwid);
    let local = this.loadSettings(name);
    if (settings !== undefined && Object.keys(settings).length > 0) {
      local = { ...local, ...settings };
      this.store.write(`${name}.local.conf`, encodeLocalConf(local));
    }
    if (n !== null) {
      if (settings !== undefined) n.setSettings(local);
      return n;
    }
    n = new Network(nwid, this.env, local);
    this.nets.push(n);
    n.openPort();
    if (this.store.read(`${name}.conf`) === null) this.store.write(`${name}.conf`, new Uint8Array([0x0a]));
    n.requestConfiguration(this.env.clock.now());
    consola.info(`joined network ${name}`);
    return n;
  }

  private loadSettings(name: string): NetworkLocalSettings {
    const b = this.store.read(`${name}.local.conf`);
    if (b === null) return DEFAULT_LOCAL_SETTINGS;
    const s = parseLocalConf(b);
    if (!s.ok) {
      consola.warn(`networks.d/${name}.local.conf: ${s.error}; using defaults`);
      return DEFAULT_LOCAL_SETTINGS;
    }
    return s.value;
  }

  /** Leave: the port goes, both files are deleted. False if not joined. */
  async leave(nwid: bigint): Promise<boolean> {
    const i = this.nets.findIndex((n) => n.id === nwid);
    if (i < 0) return false;
    const n = this.nets[i]!;
    this.nets.splice(i, 1);
    await n.destroy();
    const name = networkIdToString(nwid);
    this.store.remove(`${name}.conf`);
    this.store.remove(`${name}.local.conf`);
    consola.info(`left network ${name}`);
    return true;
  }

  private saveConfig(nwid: bigint, bytes: Uint8Array): void {
    if (this.get(nwid) === null) return;
    try {
      this.store.write(`${networkIdToString(nwid)}.conf`, bytes);
    } catch (e) {
      consola.warn(`cannot save the config of ${networkIdToString(nwid)}: ${(e as Error).message}`);
    }
  }

  tick(): void {
    const now = this.env.clock.now();
    for (const n of this.nets) n.tick(now);
  }

  /** Shutdown: remove every port (files stay for the next start). */
  async stop(): Promise<void> {
    await Promise.all(this.nets.map((n) => n.destroy()));
    this.nets.length = 0;
  }

  // ------------------------------------------------------------------ dispatch

  /**
   * A VL2 packet (header at start, payload at start + 28). Returns true if the sender passed a
   * network's membership gate (VL1 then trusts the path for PUSH_DIRECT_PATHS).
   */
  onPacket(from: Address, verb: number, pkt: Uint8Array, start: number, end: number): boolean {
    const p = start + IDX_PAYLOAD;
    switch (verb) {
      case Verb.FRAME:
      case Verb.EXT_FRAME:
      case Verb.MULTICAST_FRAME:
      case Verb.MULTICAST_GATHER: {
        if (end - p < 8) return this.ignore("truncated VL2 packet");
        const n = this.byHalves(u32(pkt, p), u32(pkt, p + 4));
        if (n === null) return this.ignore("frame for a network we have not joined");
        if (verb === Verb.FRAME || verb === Verb.EXT_FRAME) {
          const t0 = STAGE_TIMING ? stageStart() : 0;
          const r = verb === Verb.FRAME ? n.onFrame(from, pkt, start, end) : n.onExtFrame(from, pkt, start, end);
          if (STAGE_TIMING) stageEnd(Stage.vl2_frame, t0);
          return r;
        }
        if (verb === Verb.MULTICAST_FRAME) return n.onMulticastFrame(from, pkt, start, end);
        return n.onGather(from, pkt, start, end);
      }
      case Verb.MULTICAST_LIKE: {
        let trusted = false;
        const err = parseMulticastLikes(pkt, p, end, (nw, g) => {
          const n = this.byHalves(nw.hi, nw.lo);
          if (n !== null && n.onLike(from, g)) trusted = true;
        });
        if (err !== null) this.ignore("malformed MULTICAST_LIKE");
        return trusted;
      }
      case Verb.NETWORK_CREDENTIALS: {
        const d = decodeNetworkCredentials(pkt, p, end);
        if (!d.ok) return this.ignore("malformed NETWORK_CREDENTIALS", d.error);
        const c = d.value;
        let trusted = false;
        for (const n of this.nets) {
          const mine = {
            coms: c.coms.filter((x) => x.qualifiers.some((q) => q.id === 1n && q.value === n.id)),
            capabilities: c.capabilities.filter((x) => x.networkId === n.id),
            tags: c.tags.filter((x) => x.networkId === n.id),
            revocations: c.revocations.filter((x) => x.networkId === n.id),
            certificatesOfOwnership: c.certificatesOfOwnership.filter((x) => x.networkId === n.id),
          };
          if (mine.coms.length + mine.capabilities.length + mine.tags.length + mine.revocations.length + mine.certificatesOfOwnership.length === 0) continue;
          if (n.addCredentials(mine)) trusted = true;
        }
        return trusted;
      }
      case Verb.NETWORK_CONFIG: {
        if (end - p < 8) return this.ignore("truncated NETWORK_CONFIG");
        const n = this.byHalves(u32(pkt, p), u32(pkt, p + 4));
        if (n === null) return this.ignore("config for a network we have not joined");
        const updateId = n.handleConfigChunk(from, packetId(pkt, start), pkt, p, end, false);
        if (updateId !== null) {
          // 1.14 acknowledges an applied push with an OK whose in-re verb is ECHO (spec 4.13).
          const out = new Uint8Array(25);
          out[0] = Verb.ECHO;
          out.set(pkt.subarray(start, start + 8), 1);
          out.set(pkt.subarray(p, p + 8), 9);
          new DataView(out.buffer).setBigUint64(17, updateId);
          this.env.send(from, Verb.OK, out, 0, out.length);
        }
        return false;
      }
      case Verb.OK: {
        if (end - p < 9 + 8) return false;
        const inRe = pkt[p]! & VERB_MASK;
        const body = p + 9;
        const n = this.byHalves(u32(pkt, body), u32(pkt, body + 4));
        if (n === null) return false;
        if (inRe === Verb.NETWORK_CONFIG_REQUEST) n.handleConfigChunk(from, packetId(pkt, start), pkt, body, end, true);
        else if (inRe === Verb.MULTICAST_GATHER) n.onGatherResults(pkt, body, end);
        else if (inRe === Verb.MULTICAST_FRAME) n.onMulticastFrameOk(pkt, body, end);
        return false;
      }
      case Verb.ERROR: {
        if (end - p < 10 + 8) return false;
        const inRe = pkt[p]! & VERB_MASK;
        const code = pkt[p + 9]!;
        const n = this.byHalves(u32(pkt, p + 10), u32(pkt, p + 14));
        if (n !== null) n.onError(from, inRe, code, pkt, p + 10, end);
        return false;
      }
      default:
        return false;
    }
  }

  private ignore(reason: string, detail = ""): boolean {
    this.ignored.add(reason, detail);
    return false;
  }
}
