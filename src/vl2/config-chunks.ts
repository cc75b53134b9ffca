/**
 * Chunked, signed delivery of a network config (spec 4.12, 6.6). The controller splits the
 * dictionary text into chunks of at most 9740 bytes, each signed over its header and data; the
 * member verifies every chunk against the controller's identity, lays it at its offset and parses
 * the config once every byte has arrived.
 *
 * Everything here is bounded: at most 3 assemblies in flight, at most 474 chunks each, totals
 * below the dictionary capacity, so hostile chunks cost bounded memory and never stall anything.
 */
import type { Address } from "../vl1/address.ts";
import { type Identity, SIGNATURE_LENGTH } from "../vl1/identity.ts";
import { NETWORK_CONFIG_DICT_CAPACITY } from "./dictionary.ts";
import { type NetworkConfig, networkConfigFromBytes } from "./network-config.ts";
import { type NetworkId, networkIdToString, readNetworkId, writeNetworkId } from "./network-id.ts";

/** ZT_PROTO_MAX_PACKET_LENGTH − (payload index + 256), what 1.14's ncSendConfig uses. */
export const MAX_CONFIG_CHUNK_DATA = 10024 - (28 + 256);
export const MAX_INCOMING_UPDATES = 3;
/** ZT_NETWORK_MAX_UPDATE_CHUNKS = capacity / 1024 + 1. */
export const MAX_UPDATE_CHUNKS = Math.floor(NETWORK_CONFIG_DICT_CAPACITY / 1024) + 1;
export const CHUNK_FLAG_FAST_PROPAGATE = 0x01;
/** Bytes around the data: nwid(8) len(2) … flags(1) updateId(8) total(4) index(4) sigType(1) sigLen(2) sig(96). */
export const CHUNK_OVERHEAD = 10 + 1 + 8 + 4 + 4 + 1 + 2 + SIGNATURE_LENGTH;

export interface ConfigChunk {
  readonly networkId: NetworkId;
  /** View into the packet: [dataStart, dataStart + dataLength). */
  readonly buf: Uint8Array;
  readonly dataStart: number;
  readonly dataLength: number;
  readonly flags: number;
  readonly updateId: bigint;
  readonly totalLength: number;
  readonly index: number;
  /** Offsets of the signed region [signedStart, signedEnd) and of the 96-byte signature. */
  readonly signedStart: number;
  readonly signedEnd: number;
  readonly signatureStart: number;
  /** Legacy short form (no signature, whole config in one chunk). */
  readonly legacy: boolean;
}

export type ChunkParse = { readonly ok: true; readonly chunk: ConfigChunk } | { readonly ok: false; readonly error: string };

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function u64(b: Uint8Array, o: number): bigint {
  return (BigInt(u32(b, o)) << 32n) | BigInt(u32(b, o + 4));
}

/** Parses a chunk structure at buf[start, end) without copying. */
export function parseConfigChunk(buf: Uint8Array, start: number, end: number): ChunkParse {
  if (start < 0 || end > buf.length || start > end) return { ok: false, error: "chunk range outside buffer" };
  if (end - start < 10) return { ok: false, error: "truncated chunk header" };
  const networkId = readNetworkId(buf, start);
  const dataLength = (buf[start + 8]! << 8) | buf[start + 9]!;
  const dataStart = start + 10;
  const p = dataStart + dataLength;
  if (p > end) return { ok: false, error: `chunk data of ${dataLength} bytes truncated` };
  const base = { networkId, buf, dataStart, dataLength, signedStart: start };
  if (p === end) {
    return { ok: true, chunk: { ...base, flags: 0, updateId: 0n, totalLength: dataLength, index: 0, signedEnd: p, signatureStart: p, legacy: true } };
  }
  if (end - p < CHUNK_OVERHEAD - 10) return { ok: false, error: "truncated chunk trailer" };
  const sigType = buf[p + 17]!;
  const sigLen = (buf[p + 18]! << 8) | buf[p + 19]!;
  if (sigType !== 1 || sigLen !== SIGNATURE_LENGTH) return { ok: false, error: `unsupported chunk signature (type ${sigType}, length ${sigLen})` };
  return {
    ok: true,
    chunk: {
      ...base,
      flags: buf[p]!,
      updateId: u64(buf, p + 1),
      totalLength: u32(buf, p + 9),
      index: u32(buf, p + 13),
      signedEnd: p + 17,
      signatureStart: p + 20,
      legacy: false,
    },
  };
}

// ---- controller side ----

/**
 * Splits and signs a config's dictionary text as 1.14's ncSendConfig does. Each returned buffer
 * is one chunk structure: the payload of NETWORK_CONFIG, or of OK(NETWORK_CONFIG_REQUEST) after
 * its 9-byte in-re header. `updateId` must be random and non-zero, the same for all chunks.
 */
export function makeConfigChunks(
  nwid: NetworkId,
  dictionary: Uint8Array,
  controller: Identity,
  updateId: bigint,
  maxData = MAX_CONFIG_CHUNK_DATA,
  flags = 0,
): Uint8Array[] {
  if (updateId === 0n) throw new RangeError("config update ID must be non-zero");
  if (dictionary.length === 0 || dictionary.length >= NETWORK_CONFIG_DICT_CAPACITY) throw new RangeError(`config of ${dictionary.length} bytes cannot be sent`);
  if (maxData < 1 || maxData > 0xffff) throw new RangeError("bad chunk size");
  const out: Uint8Array[] = [];
  for (let index = 0; index < dictionary.length; ) {
    const len = Math.min(maxData, dictionary.length - index);
    const c = new Uint8Array(CHUNK_OVERHEAD + len);
    writeNetworkId(c, 0, nwid);
    c[8] = len >> 8;
    c[9] = len & 0xff;
    c.set(dictionary.subarray(index, index + len), 10);
    const p = 10 + len;
    const v = new DataView(c.buffer);
    c[p] = flags;
    v.setBigUint64(p + 1, updateId);
    v.setUint32(p + 9, dictionary.length);
    v.setUint32(p + 13, index);
    c[p + 17] = 1;
    v.setUint16(p + 18, SIGNATURE_LENGTH);
    c.set(controller.sign(c.subarray(0, p + 17)), p + 20);
    out.push(c);
    index += len;
  }
  return out;
}

// ---- member side ----

export type ChunkResult =
  | { readonly kind: "rejected"; readonly reason: string }
  | { readonly kind: "duplicate" }
  | { readonly kind: "incomplete"; readonly updateId: bigint; readonly fastPropagate: boolean }
  | { readonly kind: "complete"; readonly updateId: bigint; readonly fastPropagate: boolean; readonly config: NetworkConfig; readonly dictionary: Uint8Array };

interface Assembly {
  updateId: bigint;
  total: number;
  data: Uint8Array;
  /** Disjoint sorted [start, end) ranges received so far. */
  ranges: [number, number][];
  have: number;
  chunkIds: Set<string>;
  touched: number;
}

export interface ChunkSource {
  /** The VL1 sender of the packet. */
  readonly from: Address;
  /** VL1 packet ID (used as update ID by legacy single-chunk configs). */
  readonly packetId: bigint;
  /** False for NETWORK_CONFIG pushes, where the legacy unsigned form is never allowed. */
  readonly legacyAllowed: boolean;
}

/**
 * Assembles config chunks for one network on a member. `controller()` returns the controller's
 * identity if known (a chunk arriving before it is rejected: the caller WHOISes and the
 * controller re-sends on the next request).
 */
export class ConfigAssembler {
  private readonly slots: Assembly[] = [];
  private tick = 0;

  constructor(
    readonly networkId: NetworkId,
    readonly self: Address,
    private readonly controller: () => Identity | null,
  ) {}

  get controllerAddress(): Address {
    return Number(this.networkId >> 24n);
  }

  accept(buf: Uint8Array, start: number, end: number, source: ChunkSource): ChunkResult {
    const parsed = parseConfigChunk(buf, start, end);
    if (!parsed.ok) return reject(parsed.error);
    const c = parsed.chunk;
    if (c.networkId !== this.networkId) return reject(`chunk for network ${networkIdToString(c.networkId)}, not ${networkIdToString(this.networkId)}`);
    if (c.dataLength === 0) return reject("empty chunk");
    if (c.totalLength >= NETWORK_CONFIG_DICT_CAPACITY) return reject(`config of ${c.totalLength} bytes exceeds the dictionary capacity`);
    if (c.index + c.dataLength > c.totalLength) return reject(`chunk [${c.index}, ${c.index + c.dataLength}) outside config of ${c.totalLength} bytes`);
    let updateId: bigint;
    let chunkId: string;
    if (c.legacy) {
      if (!source.legacyAllowed || source.from !== this.controllerAddress) return reject("unsigned legacy config not from the controller");
      updateId = source.packetId;
      chunkId = `legacy:${source.packetId}`;
    } else {
      updateId = c.updateId;
      chunkId = Buffer.from(buf.subarray(c.signatureStart, c.signatureStart + 16)).toString("hex");
    }
    let slot = this.slots.find((s) => s.updateId === updateId);
    if (slot?.chunkIds.has(chunkId)) return { kind: "duplicate" };
    if (!c.legacy) {
      const id = this.controller();
      if (id === null) return reject("controller identity unknown");
      if (id.address !== this.controllerAddress) return reject("identity given for the controller has the wrong address");
      if (!id.verify(buf.subarray(c.signedStart, c.signedEnd), buf.subarray(c.signatureStart, c.signatureStart + SIGNATURE_LENGTH))) return reject("chunk signature invalid");
    }
    if (slot !== undefined && slot.total !== c.totalLength) return reject("chunk total length differs from earlier chunks of the same update");
    if (slot === undefined) slot = this.newSlot(updateId, c.totalLength);
    if (slot.chunkIds.size >= MAX_UPDATE_CHUNKS) return reject(`more than ${MAX_UPDATE_CHUNKS} chunks for one update`);
    slot.chunkIds.add(chunkId);
    slot.touched = ++this.tick;
    slot.data.set(buf.subarray(c.dataStart, c.dataStart + c.dataLength), c.index);
    slot.have += addRange(slot.ranges, c.index, c.index + c.dataLength);
    const fastPropagate = (c.flags & CHUNK_FLAG_FAST_PROPAGATE) !== 0;
    if (slot.have < slot.total) return { kind: "incomplete", updateId, fastPropagate };
    this.slots.splice(this.slots.indexOf(slot), 1);
    const nc = networkConfigFromBytes(slot.data);
    if (!nc.ok) return reject(nc.error);
    if (nc.value.networkId !== this.networkId) return reject("assembled config names another network");
    if (nc.value.issuedTo !== this.self) return reject("assembled config was issued to another member");
    return { kind: "complete", updateId, fastPropagate, config: nc.value, dictionary: slot.data };
  }

  private newSlot(updateId: bigint, total: number): Assembly {
    if (this.slots.length >= MAX_INCOMING_UPDATES) {
      let oldest = 0;
      for (let i = 1; i < this.slots.length; i++) if (this.slots[i]!.touched < this.slots[oldest]!.touched) oldest = i;
      this.slots.splice(oldest, 1);
    }
    const s: Assembly = { updateId, total, data: new Uint8Array(total), ranges: [], have: 0, chunkIds: new Set(), touched: 0 };
    this.slots.push(s);
    return s;
  }

  /** Assemblies in flight (for tests and metrics). */
  get pending(): number {
    return this.slots.length;
  }
}

function reject(reason: string): ChunkResult {
  return { kind: "rejected", reason };
}

/** Merges [a, b) into the disjoint sorted list; returns how many bytes were new. */
function addRange(ranges: [number, number][], a: number, b: number): number {
  let covered = 0;
  let lo = a;
  let hi = b;
  const keep: [number, number][] = [];
  for (const r of ranges) {
    if (r[1] < lo || r[0] > hi) {
      keep.push(r);
      continue;
    }
    covered += Math.min(r[1], b) - Math.max(r[0], a) > 0 ? Math.min(r[1], b) - Math.max(r[0], a) : 0;
    lo = Math.min(lo, r[0]);
    hi = Math.max(hi, r[1]);
  }
  keep.push([lo, hi]);
  keep.sort((x, y) => x[0] - y[0]);
  ranges.length = 0;
  ranges.push(...keep);
  return b - a - covered;
}
