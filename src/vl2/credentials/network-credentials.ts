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
