#!/usr/bin/env bun
/**
 * Two VL1 nodes over real loopback UDP sockets (one process, so both share a core: a pessimistic
 * figure). ECHO round trips/s, one-way bulk of 1400-byte packets (AES-GMAC-SIV), and the resident
 * memory of an idle service process.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { systemClock } from "../src/util/clock.ts";
import { systemRng } from "../src/util/random.ts";
import { Identity } from "../src/vl1/identity.ts";
import { type InetAddress, ipv4 } from "../src/vl1/inet-address.ts";
import { Node } from "../src/vl1/node.ts";
import { Verb } from "../src/vl1/packet.ts";
import { UdpTransport } from "../src/transport/udp.ts";
import { loopbackPlanet } from "../test/support/loopback-planet.ts";

const ids = (JSON.parse(readFileSync(join(import.meta.dir, "../test/fixtures/vl1/identities.json"), "utf8")) as {
  valid_identities: { identity_secret: string }[];
}).valid_identities.map((v) => Identity.fromString(v.identity_secret)!);

async function makeNode(identity: Identity): Promise<{ node: Node; udp: UdpTransport; addr: InetAddress }> {
  let node!: Node;
  const udp = await UdpTransport.open({
    port: 0,
    bindV4: "127.0.0.1",
    bindV6: null,
    onDatagram: (d, start, end, from) => node.onDatagram(0, from, d, start, end),
  });
  node = new Node({
    identity,
    clock: systemClock,
    rng: systemRng,
    allowLoopbackPaths: true,
    wire: { send: (_s, to, data, start, end) => udp.sendCopy(data, start, end, to) },
  });
  return { node, udp, addr: ipv4(127, 0, 0, 1, udp.port) };
}

const A = await makeNode(ids[1]!);
const B = await makeNode(ids[2]!);
A.node.topology.addPeer(B.node.identity.publicOnly());
A.node.attemptToContactAt(A.node.getPeer(B.node.address)!, 0, B.addr, true);
for (let i = 0; i < 100 && !(A.node.getPeer(B.node.address)?.paths.length && B.node.getPeer(A.node.address)?.paths.length); i++) await Bun.sleep(10);
if (!A.node.getPeer(B.node.address)?.paths.length) throw new Error("no direct path between the bench nodes");

// ECHO: 1.14 answers at most one ECHO per 166 ms per path (a flood guard), so ECHO gives a latency,
// not a rate: 20 ECHOs, one every 200 ms, RTT of each. Round trips/s come from a USER_MESSAGE ping-pong,
// which nothing rate-limits (same armor, dispatch and UDP path in both directions).
const payload = new Uint8Array(64);
const rttSamples: number[] = [];
let echoSentAt = 0;
let pongs = 0;
let pingMode: "echo" | "user" = "echo";
let pingDeadline = 0;
let pingDone!: () => void;
A.node.setVl2Handler({
  onPacket(_p, verb) {
    if (pingMode === "echo" && verb === Verb.OK) rttSamples.push(performance.now() - echoSentAt);
    if (pingMode === "user" && verb === Verb.USER_MESSAGE) {
      pongs++;
      if (performance.now() < pingDeadline) A.node.send(B.node.address, Verb.USER_MESSAGE, payload, 0, payload.length);
      else pingDone();
    }
    return false;
  },
});
B.node.setVl2Handler({
  onPacket(peer, verb, pkt, start, end) {
    if (verb === Verb.USER_MESSAGE && end - start - 28 === payload.length) B.node.send(peer.address, Verb.USER_MESSAGE, pkt, start + 28, end);
    return false;
  },
});
for (let i = 0; i < 20; i++) {
  echoSentAt = performance.now();
  A.node.send(B.node.address, Verb.ECHO, payload, 0, payload.length, { expectReply: true });
  await Bun.sleep(200);
}
rttSamples.sort((x, y) => x - y);
const med = rttSamples[Math.floor(rttSamples.length / 2)] ?? NaN;
console.log(`ECHO over loopback UDP: ${rttSamples.length}/20 answered, median RTT ${(med * 1000).toFixed(0)} µs, p99 ${((rttSamples[Math.floor(rttSamples.length * 0.99)] ?? NaN) * 1000).toFixed(0)} µs`);
pingMode = "user";
const pingFinished = new Promise<void>((r) => (pingDone = r));
const PING_SECONDS = 2;
pingDeadline = performance.now() + PING_SECONDS * 1000;
const t0 = performance.now();
A.node.send(B.node.address, Verb.USER_MESSAGE, payload, 0, payload.length);
await Promise.race([pingFinished, Bun.sleep(PING_SECONDS * 1000 + 2000)]);
const rate = pongs / ((performance.now() - t0) / 1000);
console.log(`packet round trips over loopback UDP (64 B, suite 3, one process): ${Math.round(rate)}/s`);

// Bulk: bursts of 1400-byte USER_MESSAGE packets, yielding between bursts so B can read.
const SIZE = 1400;
const BULK_SECONDS = 3;
const bulk = new Uint8Array(SIZE);
let rxBytes = 0;
let rxPackets = 0;
B.node.setVl2Handler({
  onPacket(_p, verb, _pkt, start, end) {
    if (verb === Verb.USER_MESSAGE && end - start - 28 === SIZE) {
      rxBytes += end - start - 28;
      rxPackets++;
    }
    return false;
  },
});
let sent = 0;
const bulkStart = performance.now();
while (performance.now() - bulkStart < BULK_SECONDS * 1000) {
  for (let i = 0; i < 64; i++) {
    A.node.send(B.node.address, Verb.USER_MESSAGE, bulk, 0, SIZE);
    sent++;
  }
  await new Promise((r) => setImmediate(r));
}
await Bun.sleep(200);
const secs = (performance.now() - bulkStart) / 1000;
console.log(
  `bulk 1400 B over loopback UDP (suite 3): ${(rxBytes / secs / 1e6).toFixed(1)} MB/s received, ${Math.round(rxPackets / secs)} packets/s, loss ${(100 * (1 - rxPackets / sent)).toFixed(2)}%`,
);
A.udp.close();
B.udp.close();

// Idle service memory: a real service process with a loopback planet, RSS after it settles.
const home = mkdtempSync(join(tmpdir(), "ztnc-bench-"));
writeFileSync(join(home, "planet"), loopbackPlanet());
const svc = Bun.spawn([process.execPath, join(import.meta.dir, "../src/cli/service.ts"), "-d", home, "-p", "0", "-q"], { stdout: "ignore", stderr: "ignore" });
await Bun.sleep(3000);
const status = readFileSync(`/proc/${svc.pid}/status`, "utf8");
const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
console.log(`idle service resident memory: ${(rss / 1024).toFixed(1)} MiB`);
svc.kill("SIGTERM");
await svc.exited;
rmSync(home, { recursive: true, force: true });
process.exit(0);
