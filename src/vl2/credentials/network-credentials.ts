/**
 * Payload of NETWORK_CREDENTIALS (spec 4.10): COMs terminated by a 0 byte, then counted lists of
 * capabilities, tags, revocations and certificates of ownership. Older senders stop early, so
 * trailing sections may be absent. Each credential names its own network; the caller routes and
 * verifies them.
 */
import { ByteReader, ByteWriter } from "../../util/bytes.ts";
import { type CertificateOfMembership, readCom, writeCom } from "../com.ts";
import { type Decoded, guard, ok } from "../result.ts";
import { type Capability, readCapability, writeCapability } from "./capability.ts";
import { type CertificateOfOwnership, readCoo, writeCoo } from "./certificate-of-ownership.ts";
import { type Revocation, readRevocation, writeRevocation } from "./revocation.ts";
import { type Tag, readTag, writeTag } from "./tag.ts";

export interface NetworkCredentials {
  readonly coms: readonly CertificateOfMembership[];
  readonly capabilities: readonly Capability[];
  readonly tags: readonly Tag[];
  readonly revocations: readonly Revocation[];
  readonly certificatesOfOwnership: readonly CertificateOfOwnership[];
}

export const NO_CREDENTIALS: NetworkCredentials = { coms: [], capabilities: [], tags: [], revocations: [], certificatesOfOwnership: [] };

/** Upper bound on COMs in one packet, so a hostile payload cannot make us loop long. */
const MAX_COMS = 64;

export function encodeNetworkCredentials(c: NetworkCredentials): Uint8Array {
  const w = new ByteWriter(1024);
  for (const com of c.coms) writeCom(w, com);
  w.u8(0);
  w.u16(c.capabilities.length);
  for (const x of c.capabilities) writeCapability(w, x);
  w.u16(c.tags.length);
  for (const x of c.tags) writeTag(w, x);
  w.u16(c.revocations.length);
  for (const x of c.revocations) writeRevocation(w, x);
  w.u16(c.certificatesOfOwnership.length);
  for (const x of c.certificatesOfOwnership) writeCoo(w, x);
  return w.finish();
}

export function decodeNetworkCredentials(buf: Uint8Array, start = 0, end = buf.length): Decoded<NetworkCredentials> {
  return guard("NETWORK_CREDENTIALS", () => {
    const r = new ByteReader(buf, start, end);
    const coms: CertificateOfMembership[] = [];
    while (r.remaining > 0 && buf[r.pos] !== 0) {
      if (coms.length >= MAX_COMS) throw new RangeError("too many COMs");
      coms.push(readCom(r));
    }
    if (r.remaining > 0) r.u8();
    const list = <T>(read: (r: ByteReader) => T): T[] => {
      if (r.remaining === 0) return [];
      const n = r.u16("credential count");
      const out: T[] = [];
      for (let i = 0; i < n; i++) out.push(read(r));
      return out;
    };
    const capabilities = list(readCapability);
    const tags = list(readTag);
    const revocations = list(readRevocation);
    const certificatesOfOwnership = list(readCoo);
    return ok({ coms, capabilities, tags, revocations, certificatesOfOwnership });
  });
}

/**
 * What a member pushes to a peer (spec 6.12): our COM, then all our capabilities, tags and
 * certificates of ownership, split over as many NETWORK_CREDENTIALS payloads as needed to keep
 * each within `maxPayload` bytes (1.14 splits the same way, with its own size estimate). The COM
 * goes in the first payload only; revocations are never pushed by members.
 */
export function credentialPushPayloads(
  mine: { com: CertificateOfMembership | null; capabilities: readonly Capability[]; tags: readonly Tag[]; certificatesOfOwnership: readonly CertificateOfOwnership[] },
  maxPayload = 10000 - 28,
): Uint8Array[] {
  const caps = mine.capabilities.map(encodeOne(writeCapability));
  const tags = mine.tags.map(encodeOne(writeTag));
  const coos = mine.certificatesOfOwnership.map(encodeOne(writeCoo));
  const out: Uint8Array[] = [];
  let ci = 0;
  let ti = 0;
  let oi = 0;
  let sendCom = mine.com !== null;
  while (sendCom || ci < caps.length || ti < tags.length || oi < coos.length) {
    const w = new ByteWriter(1024);
    let empty = !sendCom;
    if (sendCom) writeCom(w, mine.com!);
    sendCom = false;
    w.u8(0);
    // each section takes what fits; an item too big for any packet still goes alone in one, so
    // that the loop always progresses
    const section = (items: Uint8Array[], from: number, reserve: number): number => {
      const countAt = w.pos;
      w.u16(0);
      let n = 0;
      while (from + n < items.length && (empty || w.pos + items[from + n]!.length + reserve <= maxPayload)) {
        w.bytes(items[from + n]!);
        n++;
        empty = false;
      }
      return n === 0 ? 0 : patchCount(w, countAt, n);
    };
    ci += section(caps, ci, 8);
    ti += section(tags, ti, 6);
    w.u16(0);
    oi += section(coos, oi, 2);
    out.push(w.finish());
  }
  return out;
}

function encodeOne<T>(write: (w: ByteWriter, x: T) => void): (x: T) => Uint8Array {
  return (x) => {
    const w = new ByteWriter(256);
    write(w, x);
    return w.finish();
  };
}

/** Rewrites a u16 count written earlier at `at` (ByteWriter only appends). */
function patchCount(w: ByteWriter, at: number, n: number): number {
  const end = w.pos;
  w.pos = at;
  w.u16(n);
  w.pos = end;
  return n;
}
