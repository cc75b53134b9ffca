/**
 * The network runtime on a fake VL1: config requests and their timing, signed chunk assembly and
 * every kind of forged or corrupt config (rejected, counted, status unchanged), controller errors,
 * the membership gate on a private network, rules that drop on send and receive, credential
 * pushes, and multicast (ARP via the ADI group, GATHER, queued frames, LIKE).
 */
import { describe, expect, test } from "bun:test";
import { Dictionary } from "../../src/vl2/dictionary.ts";
import { makeCom, signCom } from "../../src/vl2/com.ts";
import { parseConfigRequest } from "../../src/vl2/config-request.ts";
import { decodeNetworkCredentials, encodeNetworkCredentials, NO_CREDENTIALS } from "../../src/vl2/credentials/network-credentials.ts";
import { splitNetworkId, writeFrameHeader } from "../../src/vl2/frame-codec.ts";
import { macFromAddress, writeMac } from "../../src/vl2/mac.ts";
import { writeOkMulticastGather, parseMulticastGather, parseMulticastFrame, MulticastFrameView, writeMulticastLike } from "../../src/vl2/multicast-codec.ts";
import { arpGroupForIpv4 } from "../../src/vl2/multicast-group.ts";
import { NetworkStatus } from "../../src/vl2/network-state.ts";
import { rulesFromJson } from "../../src/vl2/rules-json.ts";
import { chunksOf, configFor, configure, dictOf, type Fixture, makeFixture, packet, VERBS as Verb } from "./network-support.ts";

const V = Verb;

function frameFrom(f: Fixture, etherType: number, body: Uint8Array): Uint8Array {
  const p = new Uint8Array(10 + body.length);
  writeFrameHeader(p, 0, splitNetworkId(f.nwid), etherType);
  p.set(body, 10);
  return packet(p);
}

function ethernet(dest: number, src: number, etherType: number, body: Uint8Array): Uint8Array {
  const e = new Uint8Array(14 + body.length);
  writeMac(e, 0, dest);
  writeMac(e, 6, src);
  e[12] = etherType >> 8;
  e[13] = etherType & 0xff;
  e.set(body, 14);
  return e;
}

function credentialsWithCom(f: Fixture, member = f.other, signer = f.ctl, ts = 1_700_000_000_000) {
  return { ...NO_CREDENTIALS, coms: [signCom(makeCom(ts, 1_800_000, f.nwid, member), signer)] };
}

describe("config request timing", () => {
  test("asks the controller right away, every 5 s while it has no config, every 60 s after", () => {
    const f = makeFixture();
    f.network.tick(f.clock.now());
    const reqs = () => f.sent.filter((s) => s.verb === V.NETWORK_CONFIG_REQUEST);
    expect(reqs().length).toBe(1);
    const r = reqs()[0]!;
    expect(r.dest).toBe(f.ctl.address);
    expect(r.expectReply).toBe(true);
    const parsed = parseConfigRequest(r.payload);
    if (!parsed.ok) throw new Error(parsed.error);
    expect(parsed.value.networkId).toBe(f.nwid);
    expect(parsed.value.metadata.rulesEngineRevision).toBe(1);
    expect(f.network.status).toBe(NetworkStatus.REQUESTING_CONFIGURATION);
    f.clock.advance(4999);
    f.network.tick(f.clock.now());
    expect(reqs().length).toBe(1);
    f.clock.advance(1);
    f.network.tick(f.clock.now());
    expect(reqs().length).toBe(2);
    configure(f, configFor(f, f.me));
    expect(f.network.status).toBe(NetworkStatus.OK);
    f.clock.advance(59_000);
    f.network.tick(f.clock.now());
    expect(reqs().length).toBe(2);
    f.clock.advance(1000);
    f.network.tick(f.clock.now());
    expect(reqs().length).toBe(3);
    // the refresh tells the controller what we hold
    const again = parseConfigRequest(reqs()[2]!.payload);
    expect(again.ok && again.value.haveRevision).toBe(3n);
  });
});

describe("config assembly", () => {
  test("a multi-chunk signed config is applied: status OK, saved, port configured", () => {
    const f = makeFixture();
    const nc = configFor(f, f.me);
    const chunks = chunksOf(f, dictOf(nc), f.ctl, 300);
    expect(chunks.length).toBeGreaterThan(2);
    for (const c of chunks.reverse()) f.network.handleConfigChunk(f.ctl.address, 1n, c, 0, c.length, false);
    expect(f.network.status).toBe(NetworkStatus.OK);
    expect(f.network.config!.name).toBe("unit");
    expect(new TextDecoder().decode(f.saved.at(-1)!)).toContain(`nwid=${f.nwid.toString(16)}`);
    const pc = f.port.configs.at(-1)!;
    expect(pc.mtu).toBe(2800);
    expect(pc.mac).toBe(macFromAddress(f.me.address, f.nwid));
    expect(pc.addresses.map((a) => `${a.ip.join(".")}/${a.port}`)).toEqual(["10.147.17.5/24"]);
  });

  const forgeries: [string, (f: Fixture) => Uint8Array[], string][] = [
    ["bad signature (signed by another identity)", (f) => chunksOf(f, dictOf(configFor(f, f.me)), f.stranger), "chunk signature invalid"],
    ["corrupted byte after signing", (f) => chunksOf(f, dictOf(configFor(f, f.me))).map((c) => ((c[20] = c[20]! ^ 1), c)), "chunk signature invalid"],
    ["wrong network ID", (f) => chunksOf(f, dictOf(configFor(f, f.me)), f.ctl, undefined, f.nwid + 1n), "chunk for network"],
    [
      "chunk out of range (index past total, validly signed)",
      (f) => {
        const c = chunksOf(f, dictOf(configFor(f, f.me)))[0]!;
        const p = 10 + ((c[8]! << 8) | c[9]!);
        new DataView(c.buffer).setUint32(p + 13, 5000);
        c.set(f.ctl.sign(c.subarray(0, p + 17)), p + 20);
        return [c];
      },
      "outside config",
    ],
    [
      "oversized (total beyond the dictionary capacity, validly signed)",
      (f) => {
        const c = chunksOf(f, dictOf(configFor(f, f.me)))[0]!;
        const p = 10 + ((c[8]! << 8) | c[9]!);
        new DataView(c.buffer).setUint32(p + 9, 600_000);
        c.set(f.ctl.sign(c.subarray(0, p + 17)), p + 20);
        return [c];
      },
      "exceeds the dictionary capacity",
    ],
    // 1.14 skips the lines it cannot look up, so this is a config without nwid
    ["dictionary garbage (validly signed)", (f) => chunksOf(f, new TextEncoder().encode("v=7\nthis is not a dictionary\n\x01\x02=\\")), "missing nwid"],
    ["config issued to another member", (f) => chunksOf(f, dictOf(configFor(f, f.other))), "issued to another member"],
    ["config without nwid", (f) => chunksOf(f, new Dictionary().add("v", "7").add("id", f.me.addressString).toBytes()), "nwid"],
  ];

  for (const [name, make, reason] of forgeries) {
    test(`rejected and counted, status unchanged: ${name}`, () => {
      const f = makeFixture();
      for (const c of make(f)) f.network.handleConfigChunk(f.ctl.address, 1n, c, 0, c.length, true);
      expect(f.network.config).toBeNull();
      expect(f.network.status).toBe(NetworkStatus.REQUESTING_CONFIGURATION);
      const reasons = [...f.network.configRejects.counts.keys()].join(" | ");
      expect(reasons).toContain(reason);
      expect(f.network.configRejects.total()).toBeGreaterThanOrEqual(1);
      // a network that already has a config keeps it
      configure(f, configFor(f, f.me));
      const before = f.network.config;
      for (const c of make(f)) f.network.handleConfigChunk(f.ctl.address, 2n, c, 0, c.length, true);
      expect(f.network.config).toBe(before);
      expect(f.network.status).toBe(NetworkStatus.OK);
      expect(f.saved.length).toBe(1);
    });
  }

  test("a chunk before the controller's identity is known asks WHOIS and is counted", () => {
    const f = makeFixture();
    f.known.delete(f.ctl.address);
    const c = chunksOf(f, dictOf(configFor(f, f.me)))[0]!;
    f.network.handleConfigChunk(f.ctl.address, 1n, c, 0, c.length, true);
    expect(f.whois).toContain(f.ctl.address);
    expect(f.network.configRejects.get("controller identity unknown")).toBe(1);
  });
});

describe("controller errors", () => {
  test("only the controller sets ACCESS_DENIED / NOT_FOUND", () => {
    const f = makeFixture();
    f.network.onError(f.other.address, V.NETWORK_CONFIG_REQUEST, 0x07, new Uint8Array(0), 0, 0);
    expect(f.network.status).toBe(NetworkStatus.REQUESTING_CONFIGURATION);
    expect(f.network.configRejects.get("config error not from the controller")).toBe(1);
    f.network.onError(f.ctl.address, V.NETWORK_CONFIG_REQUEST, 0x07, new Uint8Array(0), 0, 0);
    expect(f.network.status).toBe(NetworkStatus.ACCESS_DENIED);
    f.network.onError(f.ctl.address, V.NETWORK_CONFIG_REQUEST, 0x03, new Uint8Array(0), 0, 0);
    expect(f.network.status).toBe(NetworkStatus.NOT_FOUND);
    configure(f, configFor(f, f.me));
    expect(f.network.status).toBe(NetworkStatus.OK);
  });

  test("a port that cannot be created reports PORT_ERROR", () => {
    const f = makeFixture();
    (f.env as { portFactory: unknown }).portFactory = {
      create: () => {
        throw new Error("no tun");
      },
    };
    configure(f, configFor(f, f.me));
    expect(f.network.status).toBe(NetworkStatus.PORT_ERROR);
    expect(f.network.toJson().status).toBe("PORT_ERROR");
  });
});

describe("membership gate on a private network", () => {
  test("frames from a non-member are dropped, counted and answered with NEED_MEMBERSHIP_CERTIFICATE; its COM opens the gate", () => {
    const f = makeFixture();
    configure(f, configFor(f, f.me));
    const pkt = frameFrom(f, 0x0800, new Uint8Array(40).fill(7));
    expect(f.network.onFrame(f.other.address, pkt, 0, pkt.length)).toBe(false);
    expect(f.port.delivered.length).toBe(0);
    expect(f.network.drops.get("sender is not a member (no agreeing COM)")).toBe(1);
    const err = f.sent.find((s) => s.verb === V.ERROR)!;
    expect(err.dest).toBe(f.other.address);
    expect(err.payload[0]).toBe(V.FRAME);
    expect(err.payload[9]).toBe(0x06);
    // a COM signed by someone else does not count
    expect(f.network.addCredentials(credentialsWithCom(f, f.other, f.stranger))).toBe(false);
    expect(f.network.credentialRejects.total()).toBe(1);
    const pkt2 = frameFrom(f, 0x0800, new Uint8Array(40).fill(7));
    expect(f.network.onFrame(f.other.address, pkt2, 0, pkt2.length)).toBe(false);
    expect(f.network.drops.get("sender is not a member (no agreeing COM)")).toBe(2);
    // the real one does
    expect(f.network.addCredentials(credentialsWithCom(f))).toBe(true);
    const pkt3 = frameFrom(f, 0x0800, new Uint8Array(40).fill(7));
    expect(f.network.onFrame(f.other.address, pkt3, 0, pkt3.length)).toBe(true);
    expect(f.port.delivered.length).toBe(1);
    const eth = f.port.delivered[0]!;
    expect(eth.length).toBe(54);
    expect(Array.from(eth.subarray(12, 14))).toEqual([0x08, 0x00]);
    // a COM too far from ours in time does not agree
    const g = makeFixture();
    configure(g, configFor(g, g.me));
    g.network.addCredentials(credentialsWithCom(g, g.other, g.ctl, 1_700_000_000_000 - 3_600_000));
    const p4 = frameFrom(g, 0x0800, new Uint8Array(40));
    expect(g.network.onFrame(g.other.address, p4, 0, p4.length)).toBe(false);
  });

  test("a public network lets everyone in", () => {
    const f = makeFixture();
    configure(f, configFor(f, f.me, { type: 1 }));
    const pkt = frameFrom(f, 0x0800, new Uint8Array(40));
    expect(f.network.onFrame(f.stranger.address, pkt, 0, pkt.length)).toBe(true);
    expect(f.port.delivered.length).toBe(1);
  });

  test("frames before any config are dropped and counted", () => {
    const f = makeFixture();
    const pkt = frameFrom(f, 0x0800, new Uint8Array(40));
    expect(f.network.onFrame(f.other.address, pkt, 0, pkt.length)).toBe(false);
    expect(f.network.drops.get("no config yet")).toBe(1);
  });
});

describe("rules", () => {
  const dropIpv6 = rulesFromJson([{ type: "MATCH_ETHERTYPE", etherType: 0x86dd }, { type: "ACTION_DROP" }, { type: "ACTION_ACCEPT" }]);

  test("a rule that drops: inbound and outbound frames dropped and counted, others pass", () => {
    if (!dropIpv6.ok) throw new Error(dropIpv6.error);
    const f = makeFixture();
    configure(f, configFor(f, f.me, { type: 1, rules: dropIpv6.value }));
    const v6 = frameFrom(f, 0x86dd, new Uint8Array(60));
    expect(f.network.onFrame(f.other.address, v6, 0, v6.length)).toBe(true);
    expect(f.port.delivered.length).toBe(0);
    expect(f.network.drops.get("inbound dropped by rule")).toBe(1);
    const v4 = frameFrom(f, 0x0800, new Uint8Array(60));
    f.network.onFrame(f.other.address, v4, 0, v4.length);
    expect(f.port.delivered.length).toBe(1);

    const me = macFromAddress(f.me.address, f.nwid);
    const them = macFromAddress(f.other.address, f.nwid);
    f.sent.length = 0;
    f.port.send(ethernet(them, me, 0x86dd, new Uint8Array(60)));
    expect(f.sent.filter((s) => s.verb === V.FRAME).length).toBe(0);
    expect(f.network.drops.get("outbound dropped by rule")).toBe(1);
    f.port.send(ethernet(them, me, 0x0800, new Uint8Array(60).fill(9)));
    const frame = f.sent.find((s) => s.verb === V.FRAME)!;
    expect(frame.dest).toBe(f.other.address);
    expect(frame.payload.length).toBe(70);
    expect(Array.from(frame.payload.subarray(8, 10))).toEqual([0x08, 0x00]);
  });

  test("an empty rule table drops everything", () => {
    const f = makeFixture();
    configure(f, configFor(f, f.me, { type: 1, rules: [] }));
    const v4 = frameFrom(f, 0x0800, new Uint8Array(60));
    f.network.onFrame(f.other.address, v4, 0, v4.length);
    expect(f.port.delivered.length).toBe(0);
    expect(f.network.drops.get("inbound no rule accepted")).toBe(1);
  });

  test("TEE sends a copy as EXT_FRAME to the rule's target", () => {
    const tee = rulesFromJson([{ type: "ACTION_TEE", address: f0().stranger.addressString, flags: 0, length: 0 }, { type: "ACTION_ACCEPT" }]);
    if (!tee.ok) throw new Error(tee.error);
    const f = makeFixture();
    configure(f, configFor(f, f.me, { type: 1, rules: tee.value }));
    const v4 = frameFrom(f, 0x0800, new Uint8Array(60));
    f.network.onFrame(f.other.address, v4, 0, v4.length);
    expect(f.port.delivered.length).toBe(1);
    const copy = f.sent.find((s) => s.verb === V.EXT_FRAME)!;
    expect(copy.dest).toBe(f.stranger.address);
    expect(copy.payload[8]).toBe(0x08); // TEE'd inbound
  });
});

function f0(): Fixture {
  return makeFixture();
}

describe("credentials pushed before frames", () => {
  test("our COM goes to a member before the first FRAME and again on NEED_MEMBERSHIP_CERTIFICATE", () => {
    const f = makeFixture();
    configure(f, configFor(f, f.me));
    const me = macFromAddress(f.me.address, f.nwid);
    const them = macFromAddress(f.other.address, f.nwid);
    f.sent.length = 0;
    f.port.send(ethernet(them, me, 0x0800, new Uint8Array(60)));
    f.port.send(ethernet(them, me, 0x0800, new Uint8Array(60)));
    expect(f.sent.map((s) => s.verb)).toEqual([V.NETWORK_CREDENTIALS, V.FRAME, V.FRAME]);
    const creds = decodeNetworkCredentials(f.sent[0]!.payload);
    expect(creds.ok && creds.value.coms.length).toBe(1);
    f.clock.advance(1500);
    f.network.onError(f.other.address, V.FRAME, 0x06, new Uint8Array(0), 0, 0);
    expect(f.sent.at(-1)!.verb).toBe(V.NETWORK_CREDENTIALS);
    // rate limited
    f.network.onError(f.other.address, V.FRAME, 0x06, new Uint8Array(0), 0, 0);
    expect(f.sent.filter((s) => s.verb === V.NETWORK_CREDENTIALS).length).toBe(2);
  });
});

describe("multicast", () => {
  function arpRequest(f: Fixture, target: [number, number, number, number]): Uint8Array {
    const me = macFromAddress(f.me.address, f.nwid);
    const arp = new Uint8Array(28);
    arp.set([0, 1, 8, 0, 6, 4, 0, 1]);
    writeMac(arp, 8, me);
    arp.set([10, 147, 17, 5], 14);
    arp.set(target, 24);
    return ethernet(0xffffffffffff, me, 0x0806, arp);
  }

  test("ARP goes to the ADI group: GATHER when nobody is known, queued frame sent when the answer arrives", () => {
    const f = makeFixture();
    configure(f, configFor(f, f.me, { type: 1 }));
    f.sent.length = 0;
    f.port.send(arpRequest(f, [10, 147, 17, 9]));
    const gather = f.sent.find((s) => s.verb === V.MULTICAST_GATHER)!;
    expect(gather.dest).toBe(f.ctl.address);
    expect(gather.expectReply).toBe(true);
    const g = parseMulticastGather(gather.payload, 0, gather.payload.length);
    if (typeof g === "string") throw new Error(g);
    expect(g.group.adi).toBe(arpGroupForIpv4(new Uint8Array([10, 147, 17, 9])).adi);
    expect(f.sent.some((s) => s.verb === V.MULTICAST_FRAME)).toBe(false);
    // OK(MULTICAST_GATHER) names `other`: the queued ARP goes to it
    const body = new Uint8Array(64);
    const n = writeOkMulticastGather(body, 0, splitNetworkId(f.nwid), g.group, 1, [f.other.address]);
    f.network.onGatherResults(body, 0, n);
    const mf = f.sent.find((s) => s.verb === V.MULTICAST_FRAME)!;
    expect(mf.dest).toBe(f.other.address);
    const view = new MulticastFrameView();
    expect(parseMulticastFrame(mf.payload, 0, mf.payload.length, view)).toBeNull();
    expect(view.etherType).toBe(0x0806);
    expect(view.group.adi).toBe(g.group.adi);
  });

  test("received MULTICAST_FRAME is delivered; multicast limit 0 drops it", () => {
    const f = makeFixture();
    configure(f, configFor(f, f.me, { type: 1 }));
    const body = new Uint8Array(9 + 12 + 28);
    const h = splitNetworkId(f.nwid);
    body.set(new Uint8Array(new BigUint64Array([0n]).buffer), 0);
    new DataView(body.buffer).setUint32(0, h.hi);
    new DataView(body.buffer).setUint32(4, h.lo);
    writeMac(body, 9, 0xffffffffffff);
    new DataView(body.buffer).setUint32(15, 0x0a931105);
    body[19] = 0x08;
    body[20] = 0x06;
    const pkt = packet(body);
    expect(f.network.onMulticastFrame(f.other.address, pkt, 0, pkt.length)).toBe(true);
    expect(f.port.delivered.length).toBe(1);
    expect(Array.from(f.port.delivered[0]!.subarray(0, 6))).toEqual([255, 255, 255, 255, 255, 255]);
  });

  test("our subscriptions (ARP group of our address, broadcast) are announced to the controller with LIKE", () => {
    const f = makeFixture();
    configure(f, configFor(f, f.me, { type: 1 }));
    const likes = f.sent.filter((s) => s.verb === V.MULTICAST_LIKE && s.dest === f.ctl.address);
    expect(likes.length).toBeGreaterThanOrEqual(1);
    const recs = likes.flatMap((l) => Array.from({ length: l.payload.length / 18 }, (_, i) => new DataView(l.payload.buffer, l.payload.byteOffset).getUint32(i * 18 + 14)));
    expect(recs).toContain(0x0a931105);
    // a member's LIKE is recorded and answers our GATHERs
    const like = new Uint8Array(18);
    writeMulticastLike(like, 0, splitNetworkId(f.nwid), { mac: 0xffffffffffff, adi: 0x0a931109 });
    expect(f.network.onLike(f.other.address, { mac: 0xffffffffffff, adi: 0x0a931109 })).toBe(true);
    expect(f.network.multicast.members({ mac: 0xffffffffffff, adi: 0x0a931109 }, f.clock.now())).toEqual([f.other.address]);
  });
});

describe("credentials payload", () => {
  test("what we push decodes to our COM", () => {
    const f = makeFixture();
    configure(f, configFor(f, f.me));
    const p = encodeNetworkCredentials(credentialsWithCom(f, f.me));
    const d = decodeNetworkCredentials(p);
    expect(d.ok && d.value.coms.length).toBe(1);
  });
});

describe("ad-hoc networks", () => {
  test("an ffAA…01 network is configured locally, without a request", () => {
    const f = makeFixture();
    const id = 0xff0a000000000001n;
    const n = new (f.network.constructor as typeof import("../../src/vl2/network.ts").Network)(id, f.env);
    n.requestConfiguration(f.clock.now());
    expect(n.status).toBe(NetworkStatus.OK);
    expect(f.sent.some((s) => s.verb === V.NETWORK_CONFIG_REQUEST)).toBe(false);
    expect(n.config!.staticIps.some((a) => a.family === 4 && a.ip[0] === 10)).toBe(true);
  });
});

describe("MAC derivation cache", () => {
  test("macOf equals macFromAddress for many addresses and networks", () => {
    const f = makeFixture();
    for (const nwid of [f.nwid, 0x8056c2e21c000001n, 0x8056c2e21c000053n, 0xffffffffffffffffn]) {
      const n = new (f.network.constructor as typeof import("../../src/vl2/network.ts").Network)(nwid, f.env);
      for (const a of [0, 1, 0x89e92ceee5, 0xffffffffff, f.other.address, 0x8000000001]) {
        expect(n.macOf(a)).toBe(macFromAddress(a, nwid));
        expect(n.addressOfMac(n.macOf(a))).toBe(a);
      }
      expect(n.addressOfMac(0x010203040506)).toBe(null);
    }
  });
});

describe("capabilities", () => {
  test("a member's capability accepts what the main table does not; a forged one is rejected and counted", async () => {
    const { issueCapability } = await import("../../src/vl2/credentials/capability.ts");
    const { ACCEPT_ALL } = await import("../../src/vl2/rules.ts");
    const f = makeFixture();
    configure(f, configFor(f, f.me, { type: 1, rules: [] }));
    const frame = () => frameFrom(f, 0x0800, new Uint8Array(40));
    let p = frame();
    f.network.onFrame(f.other.address, p, 0, p.length);
    expect(f.port.delivered.length).toBe(0);
    const forged = issueCapability({ networkId: f.nwid, timestamp: 1_700_000_000_000, id: 7, rules: ACCEPT_ALL }, f.other.address, f.stranger);
    expect(f.network.addCredentials({ ...NO_CREDENTIALS, capabilities: [forged] })).toBe(false);
    expect(f.network.credentialRejects.total()).toBe(1);
    p = frame();
    f.network.onFrame(f.other.address, p, 0, p.length);
    expect(f.port.delivered.length).toBe(0);
    const cap = issueCapability({ networkId: f.nwid, timestamp: 1_700_000_000_000, id: 7, rules: ACCEPT_ALL }, f.other.address, f.ctl);
    expect(f.network.addCredentials({ ...NO_CREDENTIALS, capabilities: [cap] })).toBe(true);
    p = frame();
    f.network.onFrame(f.other.address, p, 0, p.length);
    expect(f.port.delivered.length).toBe(1);
  });
});

describe("revocation", () => {
  test("a COM revocation from the controller cuts an admitted member off at once", async () => {
    const { signRevocation } = await import("../../src/vl2/credentials/revocation.ts");
    const f = makeFixture();
    configure(f, configFor(f, f.me));
    f.network.addCredentials(credentialsWithCom(f));
    let p = frameFrom(f, 0x0800, new Uint8Array(40));
    expect(f.network.onFrame(f.other.address, p, 0, p.length)).toBe(true);
    const rev = signRevocation({ id: 1, networkId: f.nwid, credentialId: 0, threshold: 1_700_000_000_001, flags: 1n, target: f.other.address, credentialType: 1 }, f.ctl);
    expect(f.network.addCredentials({ ...NO_CREDENTIALS, revocations: [rev] })).toBe(true);
    p = frameFrom(f, 0x0800, new Uint8Array(40));
    expect(f.network.onFrame(f.other.address, p, 0, p.length)).toBe(false);
    expect(f.port.delivered.length).toBe(1);
  });
});

describe("authentication required", () => {
  test("ERROR NETWORK_AUTHENTICATION_REQUIRED from the controller: status and the URL in the network object", async () => {
    const { authInfoToDictionary } = await import("../../src/vl2/auth-info.ts");
    const f = makeFixture();
    const dict = authInfoToDictionary({ version: 0, authenticationUrl: "https://sso.example/login" }).toBytes();
    const p = new Uint8Array(10 + dict.length);
    new DataView(p.buffer).setBigUint64(0, f.nwid);
    new DataView(p.buffer).setUint16(8, dict.length);
    p.set(dict, 10);
    f.network.onError(f.ctl.address, V.NETWORK_CONFIG_REQUEST, 0x09, p, 0, p.length);
    expect(f.network.status).toBe(NetworkStatus.AUTHENTICATION_REQUIRED);
    const j = f.network.toJson();
    expect(j.authenticationURL).toBe("https://sso.example/login");
    expect(j.ssoEnabled).toBe(true);
  });
});

describe("credential and config edge cases", () => {
  test("a COM that arrives while the controller's identity is unknown is retried once it is known", () => {
    const f = makeFixture();
    configure(f, configFor(f, f.me));
    const ctlId = f.known.get(f.ctl.address)!;
    f.known.delete(f.ctl.address);
    expect(f.network.addCredentials(credentialsWithCom(f))).toBe(false);
    expect(f.whois).toContain(f.ctl.address);
    f.known.set(f.ctl.address, ctlId);
    f.clock.advance(1000);
    f.network.tick(f.clock.now());
    const p = frameFrom(f, 0x0800, new Uint8Array(40));
    expect(f.network.onFrame(f.other.address, p, 0, p.length)).toBe(true);
    expect(f.port.delivered.length).toBe(1);
  });

  test("a fast-propagate chunk is passed on to recently associated members", async () => {
    const { makeConfigChunks } = await import("../../src/vl2/config-chunks.ts");
    const f = makeFixture();
    configure(f, configFor(f, f.me));
    f.network.addCredentials(credentialsWithCom(f));
    f.sent.length = 0;
    const nc = { ...configFor(f, f.me), revision: 9 };
    const chunks = makeConfigChunks(f.nwid, dictOf(nc), f.ctl, 0x77n, undefined, 0x01);
    for (const c of chunks) f.network.handleConfigChunk(f.ctl.address, 1n, c, 0, c.length, false);
    expect(f.network.config!.revision).toBe(9);
    const fwd = f.sent.filter((s) => s.verb === V.NETWORK_CONFIG);
    expect(fwd.map((s) => s.dest)).toEqual([f.other.address]);
    expect(Array.from(fwd[0]!.payload)).toEqual(Array.from(chunks[0]!));
  });
});

describe("multicast replicators", () => {
  test("with a replicator, one MULTICAST_FRAME goes to it with the source MAC and 'please replicate'; the replicator re-sends to the group", async () => {
    const { SPECIALIST_MULTICAST_REPLICATOR } = await import("../../src/vl2/network-config-binary.ts");
    const f = makeFixture();
    configure(f, { ...configFor(f, f.me, { type: 1 }), specialists: [SPECIALIST_MULTICAST_REPLICATOR | BigInt(f.stranger.address)] });
    f.sent.length = 0;
    const me = macFromAddress(f.me.address, f.nwid);
    f.port.send(ethernet(0xffffffffffff, me, 0x0800, new Uint8Array(40)));
    const mf = f.sent.filter((s) => s.verb === V.MULTICAST_FRAME);
    expect(mf.map((s) => s.dest)).toEqual([f.stranger.address]);
    expect(mf[0]!.payload[8]).toBe(0x04 | 0x08);
    expect(f.sent.some((s) => s.verb === V.MULTICAST_GATHER)).toBe(false);

    // we are the replicator: a frame asking for replication is delivered and re-sent to known members, not back to its origin
    const g = makeFixture();
    configure(g, { ...configFor(g, g.me, { type: 1 }), specialists: [SPECIALIST_MULTICAST_REPLICATOR | BigInt(g.me.address)] });
    g.network.onLike(g.other.address, { mac: 0xffffffffffff, adi: 0 });
    g.network.onLike(g.stranger.address, { mac: 0xffffffffffff, adi: 0 });
    g.sent.length = 0;
    const body = new Uint8Array(9 + 6 + 12 + 40);
    const h = splitNetworkId(g.nwid);
    new DataView(body.buffer).setUint32(0, h.hi);
    new DataView(body.buffer).setUint32(4, h.lo);
    body[8] = 0x04 | 0x08;
    writeMac(body, 9, macFromAddress(g.other.address, g.nwid));
    writeMac(body, 15, 0xffffffffffff);
    body[25] = 0x08;
    const pkt = packet(body);
    expect(g.network.onMulticastFrame(g.other.address, pkt, 0, pkt.length)).toBe(true);
    expect(g.port.delivered.length).toBe(1);
    expect(g.sent.filter((s) => s.verb === V.MULTICAST_FRAME).map((s) => s.dest)).toEqual([g.stranger.address]);
  });
});

describe("NDP emulation", () => {
  test("a Neighbor Solicitation for a member's rfc4193 address is answered locally with its MAC", async () => {
    const { rfc4193Address } = await import("../../src/vl2/managed-ipv6.ts");
    const f = makeFixture();
    const mine = rfc4193Address(f.nwid, f.me.address);
    configure(f, { ...configFor(f, f.me, { type: 1 }), flags: 0x2 | 0x4, staticIps: [{ ...mine, port: 88 }] });
    f.sent.length = 0;
    const ns = new Uint8Array(72);
    ns[0] = 0x60;
    ns[5] = 32;
    ns[6] = 0x3a;
    ns[7] = 255;
    ns.set(mine.ip, 8);
    ns.set([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 0], 24);
    ns[40] = 0x87;
    ns.set(rfc4193Address(f.nwid, f.other.address).ip, 48);
    const me = macFromAddress(f.me.address, f.nwid);
    f.port.send(ethernet(0x3333ff000000, me, 0x86dd, ns));
    expect(f.sent.length).toBe(0);
    expect(f.port.delivered.length).toBe(1);
    const na = f.port.delivered[0]!;
    expect(na.length).toBe(86);
    expect(Array.from(na.subarray(6, 12))).toEqual(Array.from(na.subarray(14 + 66, 14 + 72)));
    const otherMac = macFromAddress(f.other.address, f.nwid);
    expect(na[11]).toBe(otherMac % 256);
    expect(na[14 + 40]).toBe(0x88);
  });
});
