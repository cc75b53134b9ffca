/**
 * Replays a lab capture (test/fixtures/captures/<name>/) through our VL1 receive codec: pcap -> datagram
 * classification -> fragment reassembly -> key lookup by (source, destination) -> dearmor -> HELLO
 * cryptField -> LZ4 -> verb. Everything is recorded per packet so the tests can check counts, suites,
 * HELLO contents and reply matching against what the real nodes did.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { readPcapUdp } from "../../src/util/pcap.ts";
import { type Address, addressToString, readAddress } from "../../src/vl1/address.ts";
import { PeerKeys, dearmor, helloCryptField } from "../../src/vl1/armor.ts";
import { PayloadCompression } from "../../src/vl1/compress.ts";
import { DatagramKind, classifyDatagram } from "../../src/vl1/fragment.ts";
import { Identity } from "../../src/vl1/identity.ts";
import { decodeInetAddress, type InetAddress } from "../../src/vl1/inet-address.ts";
import {
  IDX_PAYLOAD,
  MAX_PACKET_LENGTH,
  Verb,
  cipher,
  destination,
  flags,
  hops,
  isCompressed,
  isFragmented,
  packetIdBigInt,
  source,
  verb,
  verbName,
} from "../../src/vl1/packet.ts";
import { ReassemblyQueue } from "../../src/vl1/reassembly.ts";
import { ManualClock } from "../../src/util/clock.ts";

export const NODE_NAMES = ["root", "ztcap", "ztpeer"] as const;
export type NodeName = (typeof NODE_NAMES)[number];

export interface HelloFields {
  protocol: number;
  major: number;
  minor: number;
  revision: number;
  timestamp: bigint;
  identity: Identity;
  /** Physical address the HELLO was sent to, as the sender wrote it. */
  to: InetAddress | null;
  worldId: bigint;
  worldTimestamp: bigint;
  /** From the cryptField tail, readable only after helloCryptField. */
  moonCount: number;
  /** Bytes after the moon list (0 for a well-formed HELLO). */
  trailing: number;
}

export interface OkHelloFields {
  timestampEcho: bigint;
  protocol: number;
  major: number;
  minor: number;
  revision: number;
  seenFrom: InetAddress | null;
}

export interface DecodedPacket {
  frame: number;
  /** Seconds since the first datagram of the capture. */
  t: number;
  udpSrc: string;
  udpDst: string;
  /** On-wire packet ID (for suite 3 the first tag half), which is also what replies quote. */
  packetId: bigint;
  src: NodeName;
  dst: NodeName;
  /** Byte 18 as received. */
  flags: number;
  suite: number;
  hops: number;
  fragmented: boolean;
  authenticated: boolean;
  compressed: boolean;
  /** Verb after dearmor and decompression; null if not authenticated. */
  verb: string | null;
  /** For OK and ERROR: the in-re verb and packet ID. */
  inReVerb: string | null;
  inReId: bigint | null;
  /** Payload length after decompression. */
  length: number;
  hello: HelloFields | null;
  okHello: OkHelloFields | null;
  /** WHOIS: the address asked for. OK(WHOIS): the address of the identity returned. */
  whoisAddress: string | null;
}

export interface CaptureAnalysis {
  identities: Record<NodeName, Identity>;
  /** Derived with Identity.agree, keyed "a-b" by sorted node names. */
  sharedKeys: Map<string, Uint8Array>;
  packets: DecodedPacket[];
  /** Datagrams that are neither heads nor fragments (the NAT-opening junk). */
  junk: { frame: number; udpSrc: string; udpDst: string; length: number }[];
  fragmentsSeen: number;
  reassembled: number;
  /** Packets whose source or destination is not one of the three lab nodes. */
  unknownAddresses: number;
  /** Capture time of the first datagram (Unix seconds); DecodedPacket.t is relative to it. */
  firstTime: number;
}

export const fixtureDir = (name: string): string => join(import.meta.dir, "..", "fixtures", "captures", name);

export function pairKey(a: NodeName, b: NodeName): string {
  return [a, b].sort().join("-");
}

function u16(b: Uint8Array, i: number): number {
  return (b[i]! << 8) | b[i + 1]!;
}

function u64(b: Uint8Array, i: number): bigint {
  return packetIdBigInt(b, i);
}

/** HELLO payload (spec 4.3); decrypts the cryptField tail in place. Null if malformed. */
function decodeHello(p: Uint8Array, end: number, keys: PeerKeys): HelloFields | null {
  let o = IDX_PAYLOAD;
  if (end - o < 13) return null;
  const protocol = p[o]!;
  const major = p[o + 1]!;
  const minor = p[o + 2]!;
  const revision = u16(p, o + 3);
  const timestamp = u64(p, o + 5);
  o += 13;
  const id = Identity.deserialize(p, o, end);
  if (!id.ok) return null;
  o += id.length;
  const addr = decodeInetAddress(p, o, end);
  if (!addr.ok) return null;
  o += addr.length;
  if (end - o < 16 + 2) return null;
  const worldId = u64(p, o);
  const worldTimestamp = u64(p, o + 8);
  o += 16;
  helloCryptField(p, 0, o, end, keys);
  const moonCount = u16(p, o);
  o += 2 + 17 * moonCount;
  if (o > end) return null;
  return { protocol, major, minor, revision, timestamp, identity: id.identity, to: addr.addr, worldId, worldTimestamp, moonCount, trailing: end - o };
}

/** OK(HELLO) reply fields after the 9-byte OK header (spec 4.3). */
function decodeOkHello(p: Uint8Array, end: number): OkHelloFields | null {
  const o = IDX_PAYLOAD + 9;
  if (end - o < 13) return null;
  const addr = decodeInetAddress(p, o + 13, end);
  if (!addr.ok) return null;
  return {
    timestampEcho: u64(p, o),
    protocol: p[o + 8]!,
    major: p[o + 9]!,
    minor: p[o + 10]!,
    revision: u16(p, o + 11),
    seenFrom: addr.addr,
  };
}

export function analyseCapture(name: string): CaptureAnalysis {
  const dir = fixtureDir(name);
  const identities = {} as Record<NodeName, Identity>;
  const byAddress = new Map<Address, NodeName>();
  for (const n of NODE_NAMES) {
    const parsed = Identity.parse(readFileSync(join(dir, `${n}.identity.secret`), "utf8").trim());
    if (!parsed.ok) throw new Error(`${name}/${n}.identity.secret: ${parsed.error}`);
    identities[n] = parsed.identity;
    byAddress.set(parsed.identity.address, n);
  }
  const sharedKeys = new Map<string, Uint8Array>();
  const peerKeys = new Map<string, PeerKeys>();
  for (const a of NODE_NAMES)
    for (const b of NODE_NAMES) {
      if (a >= b) continue;
      const k = identities[a].agree(identities[b]);
      sharedKeys.set(pairKey(a, b), k);
      peerKeys.set(pairKey(a, b), new PeerKeys(k));
    }

  const pcap = readPcapUdp(new Uint8Array(readFileSync(join(dir, "join.pcap"))));
  if (!pcap.ok) throw new Error(`${name}: ${pcap.error}`);
  const t0 = pcap.datagrams[0]!.time;

  const queue = new ReassemblyQueue(new ManualClock());
  const compression = new PayloadCompression();
  const buf = new Uint8Array(MAX_PACKET_LENGTH);
  const result: CaptureAnalysis = { identities, sharedKeys, packets: [], junk: [], fragmentsSeen: 0, reassembled: 0, unknownAddresses: 0, firstTime: t0 };

  for (const d of pcap.datagrams) {
    const data = d.payload;
    const kind = classifyDatagram(data, 0, data.length);
    let len: number;
    if (kind === DatagramKind.FRAGMENT) {
      result.fragmentsSeen++;
      const r = queue.addFragment(data, 0, data.length);
      if (r <= 0) continue;
      buf.set(queue.out.subarray(0, r));
      len = r;
      result.reassembled++;
    } else if (kind === DatagramKind.HEAD) {
      if (isFragmented(data, 0)) {
        const r = queue.addHead(data, 0, data.length);
        if (r <= 0) continue;
        buf.set(queue.out.subarray(0, r));
        len = r;
        result.reassembled++;
      } else {
        buf.set(data);
        len = data.length;
      }
    } else {
      result.junk.push({ frame: d.frame, udpSrc: `${d.src}:${d.srcPort}`, udpDst: `${d.dst}:${d.dstPort}`, length: data.length });
      continue;
    }

    const src = byAddress.get(source(buf, 0));
    const dst = byAddress.get(destination(buf, 0));
    if (src === undefined || dst === undefined || src === dst) {
      result.unknownAddresses++;
      continue;
    }
    const keys = peerKeys.get(pairKey(src, dst))!;
    const pkt: DecodedPacket = {
      frame: d.frame,
      t: d.time - t0,
      udpSrc: `${d.src}:${d.srcPort}`,
      udpDst: `${d.dst}:${d.dstPort}`,
      packetId: packetIdBigInt(buf, 0),
      src,
      dst,
      flags: flags(buf, 0),
      suite: cipher(buf, 0),
      hops: hops(buf, 0),
      fragmented: isFragmented(buf, 0),
      authenticated: false,
      compressed: false,
      verb: null,
      inReVerb: null,
      inReId: null,
      length: len,
      hello: null,
      okHello: null,
      whoisAddress: null,
    };
    result.packets.push(pkt);
    if (!dearmor(buf, 0, len, keys)) continue;
    pkt.compressed = isCompressed(buf, 0);
    const end = compression.decompress(buf, 0, len);
    if (end < 0) continue;
    pkt.authenticated = true;
    pkt.length = end;
    const v = verb(buf, 0);
    pkt.verb = verbName(v);
    if ((v === Verb.OK || v === Verb.ERROR) && end >= IDX_PAYLOAD + 9) {
      pkt.inReVerb = verbName(buf[IDX_PAYLOAD]!);
      pkt.inReId = u64(buf, IDX_PAYLOAD + 1);
    }
    if (v === Verb.HELLO) pkt.hello = decodeHello(buf, end, keys);
    if (v === Verb.OK && buf[IDX_PAYLOAD] === Verb.HELLO) pkt.okHello = decodeOkHello(buf, end);
    if (v === Verb.WHOIS && end >= IDX_PAYLOAD + 5) pkt.whoisAddress = addressToString(readAddress(buf, IDX_PAYLOAD));
    if (v === Verb.OK && buf[IDX_PAYLOAD] === Verb.WHOIS) {
      const id = Identity.deserialize(buf, IDX_PAYLOAD + 9, end);
      pkt.whoisAddress = id.ok ? id.identity.addressString : null;
    }
  }
  return result;
}

/** zt_packet{direction,packet_type} counters from a metrics file, keyed "rx hello". */
export function readPacketMetrics(name: string, file: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of readFileSync(join(fixtureDir(name), file), "utf8").split("\n")) {
    const match = /^zt_packet\{direction="(rx|tx)",packet_type="(\w+)"\} (\d+)$/.exec(line.trim());
    if (match) m.set(`${match[1]} ${match[2]}`, Number(match[3]));
  }
  return m;
}

/** Our per-verb counts for one node: rx = packets whose ZeroTier destination is it, tx = source. */
export function countVerbs(packets: DecodedPacket[], node: NodeName): Map<string, number> {
  const m = new Map<string, number>();
  const add = (k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  for (const p of packets) {
    const name = (p.verb ?? "unauthenticated").toLowerCase();
    if (p.dst === node) add(`rx ${name}`);
    if (p.src === node) add(`tx ${name}`);
  }
  return m;
}

export function hexOf(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}
