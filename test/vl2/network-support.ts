/** A Network on a fake VL1 (every packet recorded), a controller identity that signs, recording ports. */
import { ManualClock } from "../../src/util/clock.ts";
import { SeededRng } from "../../src/util/random.ts";
import type { Address } from "../../src/vl1/address.ts";
import type { Identity } from "../../src/vl1/identity.ts";
import { IDX_PAYLOAD, MAX_PACKET_LENGTH, Verb } from "../../src/vl1/packet.ts";
import { type InetAddress, ipv4 } from "../../src/vl1/inet-address.ts";
import type { NetworkPort, PortConfig, PortFactory } from "../../src/port/port.ts";
import { FRAME_HEADROOM, type FrameSink } from "../../src/stack/link.ts";
import { makeCom, signCom } from "../../src/vl2/com.ts";
import { makeConfigChunks } from "../../src/vl2/config-chunks.ts";
import { defaultRequestMetadata } from "../../src/vl2/config-request.ts";
import { Network, type NetworkEnv } from "../../src/vl2/network.ts";
import { type NetworkConfig, encodeNetworkConfig, makeNetworkConfig } from "../../src/vl2/network-config.ts";
import type { Rule } from "../../src/vl2/rules.ts";
import { ACCEPT_ALL } from "../../src/vl2/rules.ts";
import { labIdentities } from "../vl1/sim/setup.ts";

export interface Sent {
  dest: Address;
  verb: number;
  payload: Uint8Array;
  expectReply: boolean;
}

export class RecordingPort implements NetworkPort {
  readonly deviceName = "rec0";
  readonly configs: PortConfig[] = [];
  readonly delivered: Uint8Array[] = [];
  sink: FrameSink | null = null;
  closed = false;
  groups: { mac: number; adi: number }[] = [];
  readonly deliver = { receiveFrame: (b: Uint8Array, s: number, e: number) => void this.delivered.push(b.slice(s, e)) };
  configure(c: PortConfig): Promise<void> {
    this.configs.push(c);
    return Promise.resolve();
  }
  start(s: FrameSink): void {
    this.sink = s;
  }
  multicastGroups() {
    return this.groups;
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
  /** Send an Ethernet frame from our side, with headroom as a tap ring gives it. */
  send(frame: Uint8Array): void {
    const b = new Uint8Array(FRAME_HEADROOM + frame.length);
    b.set(frame, FRAME_HEADROOM);
    this.sink!.sendFrame(b, FRAME_HEADROOM, b.length);
  }
}

export interface Fixture {
  ctl: Identity;
  me: Identity;
  other: Identity;
  stranger: Identity;
  nwid: bigint;
  clock: ManualClock;
  sent: Sent[];
  whois: Address[];
  saved: Uint8Array[];
  port: RecordingPort;
  env: NetworkEnv;
  known: Map<Address, Identity>;
  network: Network;
}

export function makeFixture(): Fixture {
  const ids = labIdentities();
  const ctl = ids[1]!;
  const me = ids[2]!;
  const other = ids[3]!;
  const stranger = ids[4]!;
  const nwid = (BigInt(ctl.address) << 24n) | 0x000001n;
  const clock = new ManualClock(1_000_000);
  const sent: Sent[] = [];
  const whois: Address[] = [];
  const saved: Uint8Array[] = [];
  const port = new RecordingPort();
  const known = new Map<Address, Identity>([
    [ctl.address, ctl.publicOnly()],
    [other.address, other.publicOnly()],
    [stranger.address, stranger.publicOnly()],
  ]);
  const tx = new Uint8Array(MAX_PACKET_LENGTH);
  const portFactory: PortFactory = { create: () => port };
  const env: NetworkEnv = {
    address: me.address,
    clock,
    rng: new SeededRng(3),
    tx,
    send: (dest, verb, payload, start, end, opts) => {
      sent.push({ dest, verb, payload: payload.slice(start, end), expectReply: opts?.expectReply ?? false });
      return true;
    },
    sendTxTo: (dest, verb, end) => {
      sent.push({ dest, verb, payload: tx.slice(IDX_PAYLOAD, end), expectReply: false });
      return true;
    },
    identityOf: (a) => known.get(a) ?? null,
    requestWhois: (a) => void whois.push(a),
    upstreams: () => [],
    localConfig: null,
    portFactory,
    metadata: defaultRequestMetadata("linux/x86_64"),
    saveConfig: (_n, b) => void saved.push(b),
  };
  const network = new Network(nwid, env);
  return { ctl, me, other, stranger, nwid, clock, sent, whois, saved, port, env, known, network };
}

export const MANAGED_IP: InetAddress = ipv4(10, 147, 17, 5, 24);

/** A config for `member` as our controller would issue it (COM signed by `signer`). */
export function configFor(f: Fixture, member: Identity, o: { type?: number; rules?: readonly Rule[]; timestamp?: number; signer?: Identity } = {}): NetworkConfig {
  const ts = o.timestamp ?? 1_700_000_000_000;
  return makeNetworkConfig({
    networkId: f.nwid,
    issuedTo: member.address,
    timestamp: ts,
    credentialTimeMaxDelta: 1_800_000,
    revision: 3,
    flags: 0x2,
    multicastLimit: 32,
    type: o.type ?? 0,
    name: "unit",
    mtu: 2800,
    com: signCom(makeCom(ts, 1_800_000, f.nwid, member), o.signer ?? f.ctl),
    staticIps: [MANAGED_IP],
    routes: [{ target: ipv4(10, 147, 17, 0, 24), via: null, flags: 0, metric: 0 }],
    rules: o.rules ?? ACCEPT_ALL,
  });
}

/** Signed chunks of a config's dictionary (or of any bytes), as OK(NETWORK_CONFIG_REQUEST) bodies would carry them. */
export function chunksOf(f: Fixture, dict: Uint8Array, signer: Identity = f.ctl, maxData?: number, nwid = f.nwid): Uint8Array[] {
  return makeConfigChunks(nwid, dict, signer, 0x1234n, maxData);
}

export function dictOf(nc: NetworkConfig): Uint8Array {
  const b = encodeNetworkConfig(nc);
  if (!b.ok) throw new Error(b.error);
  return b.value;
}

/** Give the network its config through signed chunks, as from the controller. */
export function configure(f: Fixture, nc: NetworkConfig): void {
  for (const c of chunksOf(f, dictOf(nc))) f.network.handleConfigChunk(f.ctl.address, 1n, c, 0, c.length, true);
}

/** A whole packet (28-byte header, payload after) as VL1 hands it to VL2. */
export function packet(payload: Uint8Array, id = 0x0102030405060708n): Uint8Array {
  const p = new Uint8Array(IDX_PAYLOAD + payload.length);
  new DataView(p.buffer).setBigUint64(0, id);
  p.set(payload, IDX_PAYLOAD);
  return p;
}

export const VERBS = Verb;
