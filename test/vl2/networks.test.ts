/** Joined networks: networks.d persistence, re-join at start, leave, and the VL2 dispatcher. */
import { describe, expect, test } from "bun:test";
import { Verb } from "../../src/vl1/packet.ts";
import { encodeLocalConf, DEFAULT_LOCAL_SETTINGS } from "../../src/vl2/local-conf.ts";
import { Networks, type NetworksStore } from "../../src/vl2/networks.ts";
import { PortError } from "../../src/port/port.ts";
import { NetworkStatus } from "../../src/vl2/network-state.ts";
import { splitNetworkId, writeFrameHeader } from "../../src/vl2/frame-codec.ts";
import { chunksOf, configFor, dictOf, makeFixture, packet } from "./network-support.ts";

class MemoryStore implements NetworksStore {
  readonly files = new Map<string, Uint8Array>();
  list(): bigint[] {
    return [...this.files.keys()].filter((n) => /^[0-9a-f]{16}\.conf$/.test(n)).map((n) => BigInt(`0x${n.slice(0, 16)}`));
  }
  read(name: string): Uint8Array | null {
    return this.files.get(name) ?? null;
  }
  write(name: string, data: Uint8Array): void {
    this.files.set(name, data.slice());
  }
  remove(name: string): void {
    this.files.delete(name);
  }
}

function setup(store = new MemoryStore()) {
  const f = makeFixture();
  const { saveConfig: _drop, ...env } = f.env;
  const nets = new Networks(env, store);
  return { f, nets, store, name: f.nwid.toString(16).padStart(16, "0") };
}

describe("Networks", () => {
  test("join persists, a config pushed by the controller is applied, saved and acknowledged as 1.14 does", () => {
    const { f, nets, store, name } = setup();
    const n = nets.join(f.nwid, { allowDefault: true });
    expect(nets.join(f.nwid)).toBe(n);
    expect(Array.from(store.read(`${name}.conf`)!)).toEqual([0x0a]);
    expect(new TextDecoder().decode(store.read(`${name}.local.conf`)!)).toContain("allowDefault=1");
    expect(f.sent.filter((s) => s.verb === Verb.NETWORK_CONFIG_REQUEST).length).toBe(1);
    const chunk = chunksOf(f, dictOf(configFor(f, f.me)))[0]!;
    const pkt = packet(chunk, 0x1122334455667788n);
    nets.onPacket(f.ctl.address, Verb.NETWORK_CONFIG, pkt, 0, pkt.length);
    expect(n.status).toBe(NetworkStatus.OK);
    expect(new TextDecoder().decode(store.read(`${name}.conf`)!)).toContain(`nwid=${name}`);
    const ack = f.sent.find((s) => s.verb === Verb.OK)!;
    expect(ack.dest).toBe(f.ctl.address);
    expect(ack.payload[0]).toBe(Verb.ECHO);
    expect(ack.payload.length).toBe(25);
    expect(nets.all.map((x) => x.toJson().status)).toEqual(["OK"]);
  });

  test("re-joined at start with the saved config; leave deletes the files", async () => {
    const store = new MemoryStore();
    const first = setup(store);
    first.nets.join(first.f.nwid);
    const chunk = chunksOf(first.f, dictOf(configFor(first.f, first.f.me)))[0]!;
    first.nets.onPacket(first.f.ctl.address, Verb.NETWORK_CONFIG, packet(chunk), 0, packet(chunk).length);
    store.write(`${first.name}.local.conf`, encodeLocalConf({ ...DEFAULT_LOCAL_SETTINGS, allowManaged: false }));
    const again = setup(store);
    again.nets.restore();
    const n = again.nets.get(again.f.nwid)!;
    expect(n.status).toBe(NetworkStatus.OK);
    expect(n.settings.allowManaged).toBe(false);
    // allowManaged=0: no addresses on the port
    expect(again.f.port.configs.at(-1)!.addresses).toEqual([]);
    expect(await again.nets.leave(again.f.nwid)).toBe(true);
    expect(again.f.port.closed).toBe(true);
    expect(store.files.size).toBe(0);
    expect(await again.nets.leave(again.f.nwid)).toBe(false);
  });

  test("a saved config issued to someone else is not applied", () => {
    const store = new MemoryStore();
    const s = setup(store);
    store.write(`${s.name}.conf`, dictOf(configFor(s.f, s.f.other)));
    s.nets.restore();
    expect(s.nets.get(s.f.nwid)!.status).toBe(NetworkStatus.REQUESTING_CONFIGURATION);
  });

  test("frames for networks we have not joined are ignored and counted", () => {
    const { f, nets } = setup();
    const body = new Uint8Array(20);
    writeFrameHeader(body, 0, splitNetworkId(f.nwid + 5n), 0x0800);
    const pkt = packet(body);
    expect(nets.onPacket(f.other.address, Verb.FRAME, pkt, 0, pkt.length)).toBe(false);
    expect(nets.ignored.get("frame for a network we have not joined")).toBe(1);
    const short = packet(new Uint8Array(3));
    nets.onPacket(f.other.address, Verb.FRAME, short, 0, short.length);
    expect(nets.ignored.get("truncated VL2 packet")).toBe(1);
    const garbage = packet(new Uint8Array([1, 2, 3, 4, 5]));
    nets.onPacket(f.other.address, Verb.NETWORK_CREDENTIALS, garbage, 0, garbage.length);
    expect(nets.ignored.get("malformed NETWORK_CREDENTIALS")).toBe(1);
  });
});

describe("ports at join", () => {
  test("the port is created when the network is joined; a port that cannot be made is PORT_ERROR at once", () => {
    const ok = setup();
    ok.nets.join(ok.f.nwid);
    expect(ok.f.port.configs.length).toBe(1);
    expect(ok.f.port.configs[0]!.addresses).toEqual([]);
    expect(ok.nets.get(ok.f.nwid)!.toJson().portDeviceName).toBe("rec0");
    const bad = makeFixture();
    const { saveConfig: _s, ...env } = bad.env;
    const nets = new Networks({ ...env, portFactory: { create: () => { throw new PortError("tap mode needs root", 1); } } }, new MemoryStore());
    const n = nets.join(bad.nwid);
    expect(n.status).toBe(NetworkStatus.PORT_ERROR);
    expect(n.toJson().portError).toBe(1);
  });
});
