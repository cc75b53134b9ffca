/**
 * Serves members over VL1: answers NETWORK_CONFIG_REQUEST packets with signed config chunks in
 * OK(NETWORK_CONFIG_REQUEST) or with ERROR OBJ_NOT_FOUND / NETWORK_ACCESS_DENIED (spec 4.11, 4.12,
 * 6.10), pushes NETWORK_CONFIG to online members when the API changes a network or member, and
 * sends a COM revocation (NETWORK_CREDENTIALS) to a network's online members when one is
 * deauthorized (or, for every member, when the network is deleted) — what zerotier-one's
 * Node/EmbeddedNetworkController do.
 *
 * The transport is whatever sends a VL1 packet (Node.send); the VL2 layer hands NETWORK_CONFIG_REQUEST
 * packets here. Requests from the controller's own node for its own networks are not packets:
 * the VL2 layer calls controller.handleConfigRequest + networkConfigFromGrant directly.
 */

import { consola } from "consola";
import type { Rng } from "../util/random.ts";
import type { Address } from "../vl1/address.ts";
import type { Identity } from "../vl1/identity.ts";
import { ErrorCode, Verb } from "../vl1/packet.ts";
import { encodeNetworkCredentials, NO_CREDENTIALS } from "../vl2/credentials/network-credentials.ts";
import { Dictionary, REQUEST_METADATA_DICT_CAPACITY } from "../vl2/dictionary.ts";
import type { ConfigDecision } from "./config-grant.ts";
import type { Controller, ControllerEvent, OnlineMember } from "./controller.ts";
import { networkIdToBigInt } from "./ids.ts";
import { configChunksFromGrant, deauthorizationRevocation } from "./netconf-builder.ts";
import { metadataFromDictionary, type RequestMetadata } from "./request-metadata.ts";


export interface ResponderTransport {
  /** Send one VL1 packet (LZ4-compressed when smaller, as 1.14 does for these verbs). */
  send(dest: Address, verb: number, payload: Uint8Array): void;
}

export interface ResponderStats {
  requests: number;
  malformed: number;
  configsSent: number;
  notFound: number;
  accessDenied: number;
  ignored: number;
  pushes: number;
  revocations: number;
}

/** A parsed NETWORK_CONFIG_REQUEST payload, or why it was dropped. */
export type ParsedConfigRequest = { ok: true; networkId: bigint; metadata: RequestMetadata } | { ok: false; error: string };

/** Payload: nwid(8) ‖ dictLen(2) ‖ dict ‖ [haveRevision(8) ‖ haveTimestamp(8)]. Never throws. */
export function parseConfigRequest(buf: Uint8Array, start: number, end: number): ParsedConfigRequest {
  if (end - start < 8) return { ok: false, error: "NETWORK_CONFIG_REQUEST shorter than a network ID" };
  const v = new DataView(buf.buffer, buf.byteOffset);
  const networkId = v.getBigUint64(start);
  let dict: Dictionary | null = null;
  if (end - start >= 10) {
    const len = v.getUint16(start + 8);
    if (start + 10 + len > end) return { ok: false, error: "metadata dictionary runs past the packet" };
    const d = Dictionary.parse(buf, REQUEST_METADATA_DICT_CAPACITY, start + 10, start + 10 + len);
    if (!d.ok) return { ok: false, error: d.error };
    dict = d.value;
  }
  return { ok: true, networkId, metadata: metadataFromDictionary((k) => dict?.getString(k)) };
}

export class ControllerResponder {
  readonly stats: ResponderStats = {
    requests: 0,
    malformed: 0,
    configsSent: 0,
    notFound: 0,
    accessDenied: 0,
    ignored: 0,
    pushes: 0,
    revocations: 0,
  };
  private detach: (() => void) | null = null;

  /** `identity` is the controller node's identity, with its secret key (it signs everything). */
  constructor(
    private readonly controller: Controller,
    private readonly identity: Identity,
    private readonly transport: ResponderTransport,
    private readonly rng: Rng,
    private readonly now: () => number = Date.now,
    /** Pushes for our own node (it is a member of its own network): applied locally, not sent. */
    private readonly local: ((nwid: string, d: ConfigDecision) => void) | null = null,
  ) {}

  /** Start pushing configs and revocations on controller changes. Returns stop. */
  attach(): () => void {
    this.detach?.();
    const off = this.controller.onEvent((e) => this.onEvent(e));
    this.detach = off;
    return () => {
      off();
      this.detach = null;
    };
  }

  /**
   * A NETWORK_CONFIG_REQUEST from `from` (its identity as VL1 knows it), payload at
   * buf[start, end). Resolves once the reply is sent. The buffer is read before the first await.
   */
  async onConfigRequest(from: Identity, packetId: bigint, buf: Uint8Array, start: number, end: number): Promise<ConfigDecision | null> {
    this.stats.requests++;
    const req = parseConfigRequest(buf, start, end);
    if (!req.ok) {
      this.stats.malformed++;
      return null;
    }
    const d = await this.controller.handleConfigRequest({ networkId: req.networkId, identity: from, metadata: req.metadata });
    this.answer(d, from.address, req.networkId, packetId);
    return d;
  }

  private answer(d: ConfigDecision, dest: Address, networkId: bigint, packetId: bigint | null): void {
    switch (d.kind) {
      case "ok":
        this.sendConfig(d, dest, packetId);
        return;
      case "not-found":
        this.stats.notFound++;
        if (packetId !== null) this.sendError(dest, packetId, ErrorCode.OBJ_NOT_FOUND, networkId);
        return;
      case "access-denied":
        this.stats.accessDenied++;
        if (packetId !== null) this.sendError(dest, packetId, ErrorCode.NETWORK_ACCESS_DENIED, networkId);
        return;
      case "ignored":
        this.stats.ignored++;
        return;
    }
  }

  private sendConfig(g: Extract<ConfigDecision, { kind: "ok" }>, dest: Address, packetId: bigint | null): void {
    const r = configChunksFromGrant(g, this.identity, this.updateId());
    if (!r.ok) {
      consola.warn(`controller: cannot build config for ${g.memberAddress} on ${g.nwid}: ${r.error}`);
      return;
    }
    for (const chunk of r.value.chunks) {
      if (packetId === null) {
        this.transport.send(dest, Verb.NETWORK_CONFIG, chunk);
      } else {
        const p = new Uint8Array(9 + chunk.length);
        p[0] = Verb.NETWORK_CONFIG_REQUEST;
        new DataView(p.buffer).setBigUint64(1, packetId);
        p.set(chunk, 9);
        this.transport.send(dest, Verb.OK, p);
      }
    }
    this.stats.configsSent++;
  }

  private sendError(dest: Address, packetId: bigint, code: number, networkId: bigint): void {
    const p = new Uint8Array(18);
    const v = new DataView(p.buffer);
    p[0] = Verb.NETWORK_CONFIG_REQUEST;
    v.setBigUint64(1, packetId);
    p[9] = code;
    v.setBigUint64(10, networkId);
    this.transport.send(dest, Verb.ERROR, p);
  }

  private onEvent(e: ControllerEvent): void {
    for (const t of this.controller.pushTargets(e)) void this.push(t);
    if (e.kind === "member-deauthorized") this.revoke(e.nwid, e.address, this.controller.onlineMembers(e.nwid));
    if (e.kind === "network-deleted") for (const a of e.members) this.revoke(e.nwid, a, e.online);
  }

  /** Re-run a member's last request and send the result as NETWORK_CONFIG (nothing if refused). */
  private async push(t: OnlineMember): Promise<void> {
    const d = await this.controller.handleConfigRequest({ networkId: t.nwid, identity: t.identity, metadata: t.metadata, push: true });
    if (t.identity.address === this.identity.address) {
      this.local?.(t.nwid, d);
      return;
    }
    if (d.kind === "ok") {
      this.stats.pushes++;
      this.sendConfig(d, t.identity.address, null);
    }
  }

  private revoke(nwid: string, address: string, to: readonly OnlineMember[]): void {
    if (to.length === 0) return;
    const rev = deauthorizationRevocation(networkIdToBigInt(nwid), parseInt(address, 16), this.now(), this.rng.u32(), this.identity);
    const payload = encodeNetworkCredentials({ ...NO_CREDENTIALS, revocations: [rev] });
    for (const m of to) {
      if (m.identity.address === this.identity.address) continue;
      this.transport.send(m.identity.address, Verb.NETWORK_CREDENTIALS, payload);
      this.stats.revocations++;
    }
  }

  private updateId(): bigint {
    const hi = BigInt(this.rng.u32());
    const id = (hi << 32n) | BigInt(this.rng.u32());
    return id === 0n ? 1n : id;
  }
}
