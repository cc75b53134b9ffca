/**
 * NETWORK_CONFIG_REQUEST (spec 4.11, 6.4): the member's metadata dictionary and the request
 * payload around it. Members encode it exactly as 1.14 does (same keys, order and number forms);
 * controllers parse it strictly, with 1.14's defaults for missing keys.
 */
import { Dictionary, REQUEST_METADATA_DICT_CAPACITY } from "./dictionary.ts";
import { type NetworkId, readNetworkId, writeNetworkId } from "./network-id.ts";
import { type Decoded, fail, guard, ok } from "./result.ts";

export interface RequestMetadata {
  /** Config format version the member understands (`v`); < 6 asks for the legacy format. */
  readonly configVersion: number;
  readonly vendor: number;
  readonly protocolVersion: number;
  readonly majorVersion: number;
  readonly minorVersion: number;
  readonly revision: number;
  readonly maxRules: number;
  readonly maxCapabilities: number;
  readonly maxCapabilityRules: number;
  readonly maxTags: number;
  readonly flags: number;
  /** Rules engine revision (`revr`); 0 means "send a single accept rule". */
  readonly rulesEngineRevision: number;
  /** OS/architecture, e.g. "linux/x86_64". */
  readonly osArch: string;
  /** Join authorization (`a`), e.g. "token:<secret>"; not sent by 1.14 members. */
  readonly auth: string | null;
}

/** What a 1.14.1 Linux node sends. */
export function defaultRequestMetadata(osArch = hostOsArch()): RequestMetadata {
  return {
    configVersion: 7,
    vendor: 1,
    protocolVersion: 12,
    majorVersion: 1,
    minorVersion: 14,
    revision: 1,
    maxRules: 1024,
    maxCapabilities: 128,
    maxCapabilityRules: 64,
    maxTags: 128,
    flags: 0,
    rulesEngineRevision: 1,
    osArch,
    auth: null,
  };
}

/** ZT_TARGET_NAME style "os/arch" for this host. */
export function hostOsArch(): string {
  const arch: Record<string, string> = { x64: "x86_64", arm64: "aarch64", ia32: "i386", arm: "armv7l" };
  return `${process.platform}/${arch[process.arch] ?? process.arch}`;
}

export function requestMetadataToDictionary(m: RequestMetadata): Dictionary {
  const d = new Dictionary()
    .addUint("v", m.configVersion)
    .addUint("vend", m.vendor)
    .addUint("pv", m.protocolVersion)
    .addUint("majv", m.majorVersion)
    .addUint("minv", m.minorVersion)
    .addUint("revv", m.revision)
    .addUint("mr", m.maxRules)
    .addUint("mc", m.maxCapabilities)
    .addUint("mcr", m.maxCapabilityRules)
    .addUint("mt", m.maxTags)
    .addUint("f", m.flags)
    .addUint("revr", m.rulesEngineRevision)
    .add("o", m.osArch);
  if (m.auth !== null) d.add("a", m.auth);
  return d;
}

export function parseRequestMetadata(bytes: Uint8Array, start = 0, end = bytes.length): Decoded<RequestMetadata> {
  const parsed = Dictionary.parse(bytes, REQUEST_METADATA_DICT_CAPACITY, start, end);
  if (!parsed.ok) return fail(`request metadata: ${parsed.error}`);
  const d = parsed.value;
  return guard("request metadata", () =>
    ok({
      configVersion: d.getNumber("v", 0),
      vendor: d.getNumber("vend", 0),
      protocolVersion: d.getNumber("pv", 0),
      majorVersion: d.getNumber("majv", 0),
      minorVersion: d.getNumber("minv", 0),
      revision: d.getNumber("revv", 0),
      maxRules: d.getNumber("mr", 0),
      maxCapabilities: d.getNumber("mc", 0),
      maxCapabilityRules: d.getNumber("mcr", 0),
      maxTags: d.getNumber("mt", 0),
      flags: d.getNumber("f", 0),
      rulesEngineRevision: d.getNumber("revr", 0),
      osArch: d.getString("o") ?? "",
      auth: d.getString("a") ?? null,
    }),
  );
}

export interface ConfigRequest {
  readonly networkId: NetworkId;
  readonly metadata: RequestMetadata;
  /** Revision and timestamp of the config the member holds (0 if none or not sent). */
  readonly haveRevision: bigint;
  readonly haveTimestamp: bigint;
}

/** NETWORK_CONFIG_REQUEST payload: nwid, metadata length + text, held revision and timestamp. */
export function encodeConfigRequest(nwid: NetworkId, metadata: RequestMetadata, haveRevision = 0n, haveTimestamp = 0n): Decoded<Uint8Array> {
  const md = requestMetadataToDictionary(metadata).serialize(REQUEST_METADATA_DICT_CAPACITY);
  if (!md.ok) return md;
  const out = new Uint8Array(8 + 2 + md.value.length + 16);
  writeNetworkId(out, 0, nwid);
  out[8] = md.value.length >> 8;
  out[9] = md.value.length & 0xff;
  out.set(md.value, 10);
  const v = new DataView(out.buffer);
  v.setBigUint64(10 + md.value.length, haveRevision);
  v.setBigUint64(18 + md.value.length, haveTimestamp);
  return ok(out);
}

/** Parses a request payload (controller side). Revision/timestamp may be absent (older members). */
export function parseConfigRequest(buf: Uint8Array, start = 0, end = buf.length): Decoded<ConfigRequest> {
  if (start < 0 || end > buf.length || start > end) return fail("config request range outside buffer");
  if (end - start < 10) return fail("truncated config request");
  const networkId = readNetworkId(buf, start);
  const len = (buf[start + 8]! << 8) | buf[start + 9]!;
  const p = start + 10 + len;
  if (p > end) return fail("config request metadata truncated");
  const metadata = parseRequestMetadata(buf, start + 10, p);
  if (!metadata.ok) return metadata;
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const haveRevision = end - p >= 8 ? v.getBigUint64(p) : 0n;
  const haveTimestamp = end - p >= 16 ? v.getBigUint64(p + 8) : 0n;
  return ok({ networkId, metadata: metadata.value, haveRevision, haveTimestamp });
}
