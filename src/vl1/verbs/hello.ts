/**
 * HELLO and OK(HELLO) (spec 4.3, 2.6, 2.7, 5.3). HELLO is the one self-authenticating verb: it
 * carries the sender's identity, so a new peer's key is computed from it, the MAC checked, and only
 * then (rate limited per source network) the proof of work validated and the peer added.
 *
 * Order matters for compatibility: OK(HELLO) is armored before the sender's version is recorded, so
 * the first reply to a new peer uses suite 1 (spec 2.7).
 */

import { PROTOCOL_VERSION, PROTOCOL_VERSION_MIN, VERSION_MAJOR, VERSION_MINOR, VERSION_REVISION } from "../../version.ts";
import { dearmor, helloCryptField } from "../armor.ts";
import { Identity, IDENTITY_PUBLIC_SERIALIZED_LENGTH } from "../identity.ts";
import { type InetAddress, decodeInetAddress, encodeInetAddress } from "../inet-address.ts";
import type { Node, RxState } from "../node.ts";
import { SEND_EXPECT_REPLY } from "../node.ts";
import { ErrorCode, IDX_PAYLOAD, Verb, hops, source } from "../packet.ts";
import { Peer } from "../peer.ts";
import { PeerKeys } from "../peer-keys.ts";
import { World, WORLD_TYPE_MOON } from "../world.ts";
import { readU16, readU64, readU64Number, writeU16, writeU64, writeU64Number } from "./wire-util.ts";

/** Offsets inside the HELLO payload. */
const H_PROTO = 0;
const H_TIMESTAMP = 5;
const H_IDENTITY = 13;
const H_FIXED = H_IDENTITY + IDENTITY_PUBLIC_SERIALIZED_LENGTH;

/**
 * Sends a HELLO to `peer`: to the physical address `at` when given (socket -1 = any), else routed
 * like any packet (through a root if needed, with a null address field).
 */
export function sendHello(node: Node, peer: Peer, localSocket: number, at: InetAddress | null): boolean {
  const tx = node.tx;
  node.writeTxHeader(peer.address, Verb.HELLO);
  let o = IDX_PAYLOAD;
  tx[o++] = PROTOCOL_VERSION;
  tx[o++] = VERSION_MAJOR;
  tx[o++] = VERSION_MINOR;
  writeU16(tx, o, VERSION_REVISION);
  o += 2;
  writeU64Number(tx, o, node.now());
  o += 8;
  o += node.identity.serializeInto(tx, o, false);
  o += encodeInetAddress(at, tx, o);
  const planet = node.planet;
  writeU64(tx, o, planet?.id ?? 0n);
  writeU64(tx, o + 8, planet?.timestamp ?? 0n);
  o += 16;
  const cryptStart = o;
  const moons = node.topology.moons;
  const seeds = node.topology.moonSeeds;
  writeU16(tx, o, moons.length + seeds.length);
  o += 2;
  for (const m of moons) {
    tx[o] = WORLD_TYPE_MOON;
    writeU64(tx, o + 1, m.id);
    writeU64(tx, o + 9, m.timestamp);
    o += 17;
  }
  for (const s of seeds) {
    tx[o] = WORLD_TYPE_MOON;
    writeU64(tx, o + 1, s.id);
    writeU64(tx, o + 9, 0n);
    o += 17;
  }
  helloCryptField(tx, 0, cryptStart, o, peer.keys);
  return node.sendPrepared(peer, o, 0, SEND_EXPECT_REPLY, at === null ? -2 : localSocket, at);
}

/**
 * A HELLO addressed to us. `authed` is the peer when the packet is already authenticated (dearmored
 * under suite 1/3, or suite 2 from a trusted path; then only the identity is compared); null for the
 * normal suite-0 HELLO.
 */
export function handleHello(
  node: Node,
  buf: Uint8Array,
  start: number,
  end: number,
  localSocket: number,
  from: InetAddress,
  authed: Peer | null,
): void {
  const st = node.stats;
  const now = node.now();
  const p = start + IDX_PAYLOAD;
  if (end - p < H_FIXED) return st.drop("malformed");
  const proto = buf[p + H_PROTO]!;
  if (proto < PROTOCOL_VERSION_MIN) return st.drop("hello_old_protocol");
  const idr = Identity.deserialize(buf, p + H_IDENTITY, end);
  if (!idr.ok || idr.identity.hasPrivate) return st.drop("malformed");
  const id = idr.identity;
  if (id.address !== source(buf, start)) return st.drop("hello_address_mismatch");

  const topology = node.topology;
  const known = authed ?? topology.get(id.address);
  let peer: Peer;
  let learned = false;
  if (authed !== null) {
    if (!authed.identity.equals(id)) return st.drop("identity_collision");
    peer = authed;
  } else if (known !== null) {
    if (!known.identity.equals(id)) {
      st.drop("identity_collision");
      replyIdentityCollision(node, buf, start, end, localSocket, from, id, now);
      return;
    }
    if (!dearmor(buf, start, end, known.keys)) return st.drop("mac_failed");
    peer = known;
  } else {
    if (!node.rateGateIdentityVerification(from, now)) return st.drop("hello_rate_limited");
    const keys = new PeerKeys(node.identity.agree(id));
    if (!dearmor(buf, start, end, keys)) return st.drop("mac_failed");
    if (!id.locallyValidate()) return st.drop("hello_identity_invalid");
    peer = new Peer(id, keys);
    learned = true;
  }

  // Optional fields (older peers omit them). A parse error drops the packet (no OK), as in 1.14.
  let ptr = p + H_FIXED;
  let surface: InetAddress | null = null;
  let planetId = 0n;
  let planetTs = 0n;
  let wantedMoons: { id: bigint; ts: bigint }[] | null = null;
  if (ptr < end) {
    const a = decodeInetAddress(buf, ptr, end);
    if (!a.ok) return st.drop("malformed");
    surface = a.addr;
    ptr += a.length;
  }
  if (ptr + 16 <= end) {
    planetId = readU64(buf, ptr);
    planetTs = readU64(buf, ptr + 8);
    ptr += 16;
  }
  if (ptr + 2 <= end) {
    helloCryptField(buf, start, ptr, end, peer.keys);
    const n = readU16(buf, ptr);
    ptr += 2;
    if (ptr + n * 17 > end) return st.drop("malformed");
    wantedMoons = [];
    for (let i = 0; i < n; i++, ptr += 17) {
      if (buf[ptr] === WORLD_TYPE_MOON) wantedMoons.push({ id: readU64(buf, ptr + 1), ts: readU64(buf, ptr + 9) });
    }
  }

  if (learned) peer = topology.insertPeer(peer);

  sendOkHello(node, peer, buf, start, localSocket, from, proto, planetId, planetTs, wantedMoons);
  peer.setRemoteVersion(proto, buf[p + 1]!, buf[p + 2]!, readU16(buf, p + 3));
  const h = hops(buf, start);
  if (surface !== null && h === 0) {
    node.surfaceReported(peer.address, localSocket, from, surface, now);
  }
  st.packetsIn[Verb.HELLO]++;
  node.noteReceived(peer, localSocket, from, h, Verb.HELLO, now);
  if (learned) node.identityLearned(peer);
}

function sendOkHello(
  node: Node,
  peer: Peer,
  req: Uint8Array,
  reqStart: number,
  localSocket: number,
  from: InetAddress,
  proto: number,
  planetId: bigint,
  planetTs: bigint,
  wantedMoons: readonly { id: bigint; ts: bigint }[] | null,
): void {
  const tx = node.tx;
  node.writeTxHeader(peer.address, Verb.OK);
  let o = IDX_PAYLOAD;
  tx[o++] = Verb.HELLO;
  for (let i = 0; i < 8; i++) tx[o++] = req[reqStart + i]!;
  for (let i = 0; i < 8; i++) tx[o++] = req[reqStart + IDX_PAYLOAD + H_TIMESTAMP + i]!;
  tx[o++] = PROTOCOL_VERSION;
  tx[o++] = VERSION_MAJOR;
  tx[o++] = VERSION_MINOR;
  writeU16(tx, o, VERSION_REVISION);
  o += 2;
  // Peers older than protocol 5 get the address without a port.
  o += encodeInetAddress(proto >= 5 ? from : { family: from.family, ip: from.ip, port: 0 } as InetAddress, tx, o);
  const lenAt = o;
  o += 2;
  const planet = node.planet;
  if (planetId !== 0n && planet !== null && planet.id === planetId && planet.timestamp > planetTs) {
    const bytes = planet.serialize();
    tx.set(bytes, o);
    o += bytes.length;
  }
  if (wantedMoons !== null) {
    for (const want of wantedMoons) {
      const m = node.moons.find((x) => x.id === want.id);
      if (m === undefined || m.timestamp <= want.ts) continue;
      const bytes = m.serialize();
      if (o + bytes.length > tx.length - 64) break;
      tx.set(bytes, o);
      o += bytes.length;
    }
  }
  writeU16(tx, lenAt, o - lenAt - 2);
  node.sendPrepared(peer, o, -1, 0, localSocket, from);
}

/**
 * Someone claims an address a different identity holds. If its HELLO is genuine (its MAC verifies
 * under a key computed for the claimed identity) tell it, rate limited like identity validation.
 */
function replyIdentityCollision(
  node: Node,
  buf: Uint8Array,
  start: number,
  end: number,
  localSocket: number,
  from: InetAddress,
  id: Identity,
  now: number,
): void {
  if (!node.rateGateIdentityVerification(from, now)) return;
  const copy = buf.slice(start, end);
  const keys = new PeerKeys(node.identity.agree(id));
  if (!dearmor(copy, 0, copy.length, keys)) return;
  const stranger = new Peer(id, keys);
  const tx = node.tx;
  node.writeTxHeader(id.address, Verb.ERROR);
  let o = IDX_PAYLOAD;
  tx[o++] = Verb.HELLO;
  for (let i = 0; i < 8; i++) tx[o++] = copy[i]!;
  tx[o++] = ErrorCode.IDENTITY_COLLISION;
  node.sendPrepared(stranger, o, -1, 0, localSocket, from);
}

/** OK(HELLO): round trip time, the responder's versions, our external address, world updates. */
export function handleOkHello(node: Node, rx: RxState): boolean {
  const { buf, start, end, peer } = rx;
  const st = node.stats;
  const p = start + IDX_PAYLOAD + 9;
  if (end - p < 13) {
    st.drop("malformed");
    return false;
  }
  const now = node.now();
  const proto = buf[p + 8]!;
  if (proto < PROTOCOL_VERSION_MIN) {
    st.drop("hello_old_protocol");
    return false;
  }
  if (rx.hops === 0 && rx.path !== null) rx.path.updateLatency(now - readU64Number(buf, p));
  peer.setRemoteVersion(proto, buf[p + 9]!, buf[p + 10]!, readU16(buf, p + 11));
  let ptr = p + 13;
  let surface: InetAddress | null = null;
  if (ptr < end) {
    const a = decodeInetAddress(buf, ptr, end);
    if (!a.ok) {
      st.drop("malformed");
      return false;
    }
    surface = a.addr;
    ptr += a.length;
  }
  if (ptr + 2 <= end) {
    const len = readU16(buf, ptr);
    ptr += 2;
    const worldsEnd = Math.min(end, ptr + len);
    if (node.topology.shouldAcceptWorldUpdateFrom(peer.address)) {
      while (ptr < worldsEnd) {
        const w = World.parse(buf, ptr, worldsEnd);
        if (!w.ok) {
          st.drop("world_update_rejected");
          break;
        }
        ptr += w.length;
        if (!node.offerWorld(w.world)) st.drop("world_update_rejected");
      }
    }
  }
  if (surface !== null && rx.hops === 0) {
    node.surfaceReported(peer.address, rx.localSocket, rx.from, surface, now);
  }
  return false;
}
