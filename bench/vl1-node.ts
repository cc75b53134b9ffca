#!/usr/bin/env bun
/**
 * VL1 node pipeline without sockets: two Nodes joined by an in-memory wire (datagrams queued and
 * delivered in order). Measures packet ping-pong through the VL2 hook (build, armor, dearmor,
 * dispatch on both sides) and one-way bulk throughput of 1400-byte payloads with AES-GMAC-SIV
 * (suite 3) and Salsa20/12-Poly1305 (suite 1), plus 9000-byte payloads (7 fragments each).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ManualClock } from "../src/util/clock.ts";
import { SeededRng } from "../src/util/random.ts";
import { Identity } from "../src/vl1/identity.ts";
import { type InetAddress, ipv4 } from "../src/vl1/inet-address.ts";
import { Node } from "../src/vl1/node.ts";
import { Verb } from "../src/vl1/packet.ts";

const ids = (JSON.parse(readFileSync(join(import.meta.dir, "..", "test", "fixtures", "vl1", "identities.json"), "utf8")) as {
  valid_identities: { identity_secret: string }[];
}).valid_identities.map((v) => Identity.fromString(v.identity_secret)!);

const clock = new ManualClock(1_000_000);
const queue: { to: Node; from: InetAddress; data: Uint8Array }[] = [];
const addrA = ipv4(10, 0, 1, 1, 9993);
const addrB = ipv4(10, 0, 2, 1, 9993);
let a!: Node;
let b!: Node;
const wireFor = (self: InetAddress) => ({
  send(_s: number, to: InetAddress, data: Uint8Array, start: number, end: number) {
    queue.push({ to: to.ip[2] === 1 ? a : b, from: self, data: data.slice(start, end) });
  },
});
a = new Node({ identity: ids[1]!, clock, rng: new SeededRng(1), wire: wireFor(addrA) });
b = new Node({ identity: ids[2]!, clock, rng: new SeededRng(2), wire: wireFor(addrB) });
const drain = (): void => {
  for (let i = 0; i < queue.length; i++) {
    const q = queue[i]!;
    q.to.onDatagram(0, q.from, q.data, 0, q.data.length);
  }
  queue.length = 0;
};

// Introduce them: a learns b's identity as if from a root, then HELLO/OK establish direct paths.
a.topology.addPeer(b.identity.publicOnly());
(a as Node).attemptToContactAt(a.getPeer(b.address)!, 0, addrB, true);
for (let i = 0; i < 5; i++) {
  drain();
  clock.advance(10);
}
if (a.getPeer(b.address)?.paths.length !== 1 || b.getPeer(a.address)?.paths.length !== 1) throw new Error("bench set-up failed: no direct paths");

let pongs = 0;
const msg = new Uint8Array(64);
b.setVl2Handler({
  onPacket(peer, verb, pkt, start, end) {
    if (verb === Verb.USER_MESSAGE) b.send(peer.address, Verb.USER_MESSAGE, pkt, start + 28, end);
    return false;
  },
});
a.setVl2Handler({
  onPacket(_peer, verb) {
    if (verb === Verb.USER_MESSAGE) pongs++;
    return false;
  },
});

function pingPong(ms: number): number {
  pongs = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    for (let i = 0; i < 100; i++) {
      a.send(b.address, Verb.USER_MESSAGE, msg);
      drain();
      drain();
    }
  }
  return pongs / ((performance.now() - t0) / 1000);
}

function bulk(size: number, ms: number): { mbps: number; pps: number } {
  let got = 0;
  b.setVl2Handler({
    onPacket(_p, verb, _pkt, start, end) {
      if (verb === Verb.FRAME) got += end - start - 28;
      return false;
    },
  });
  const payload = new Uint8Array(size);
  const t0 = performance.now();
  let packets = 0;
  while (performance.now() - t0 < ms) {
    for (let i = 0; i < 64; i++) a.send(b.address, Verb.FRAME, payload);
    packets += 64;
    drain();
  }
  const s = (performance.now() - t0) / 1000;
  if (got !== packets * size) throw new Error(`bulk: delivered ${got} of ${packets * size} bytes`);
  return { mbps: got / s / 1e6, pps: packets / s };
}

const rtt = pingPong(1500);
console.log(`vl1 ping-pong (64 B, suite 3, in-memory): ${Math.round(rtt)} round trips/s`);
const s3 = bulk(1400, 1500);
console.log(`vl1 bulk 1400 B suite 3 (AES-GMAC-SIV): ${s3.mbps.toFixed(1)} MB/s, ${Math.round(s3.pps)} packets/s`);
const frag = bulk(9000, 1500);
console.log(`vl1 bulk 9000 B suite 3 (7 fragments each): ${frag.mbps.toFixed(1)} MB/s`);
a.getPeer(b.address)!.setRemoteVersion(11, 1, 14, 1);
const s1 = bulk(1400, 1500);
console.log(`vl1 bulk 1400 B suite 1 (Salsa20/12-Poly1305): ${s1.mbps.toFixed(1)} MB/s, ${Math.round(s1.pps)} packets/s`);
