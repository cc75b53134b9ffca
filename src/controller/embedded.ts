/**
 * The controller as a service runs it: records under <home>/controller.d, the /controller API on
 * the service's router, config requests answered over VL1, and the service's own node served
 * locally when it joins one of its own networks (no packets, as zerotier-one's ncSendConfig does).
 */

import { join } from "node:path";
import type { Router } from "../util/router.ts";
import type { Rng } from "../util/random.ts";
import type { Identity } from "../vl1/identity.ts";
import { packetIdBigInt, Verb } from "../vl1/packet.ts";
import type { NetworkConfig } from "../vl2/network-config.ts";
import { controllerRoutes } from "./api.ts";
import { Controller } from "./controller.ts";
import { FileStore } from "./file-store.ts";
import { networkIdToBigInt } from "./ids.ts";
import { networkConfigFromGrant } from "./netconf-builder.ts";
import type { ConfigDecision } from "./config-grant.ts";
import type { RequestMetadata } from "./request-metadata.ts";
import { ControllerResponder, type ResponderTransport } from "./responder.ts";

/** Open the controller on <home>/controller.d (no API, no packets). */
export function openEmbeddedController(opts: {
  home: string;
  identity: Identity;
  now?: () => number;
  rng?: Rng;
  validateIdentity?: (id: Identity) => boolean;
}): Promise<Controller> {
  return Controller.open({
    address: opts.identity.addressString,
    store: new FileStore(join(opts.home, "controller.d")),
    now: opts.now,
    rng: opts.rng,
    validateIdentity: opts.validateIdentity,
  });
}

export type LocalConfigResult =
  | { readonly kind: "ok"; readonly config: NetworkConfig }
  | { readonly kind: "not-found" | "access-denied" | "ignored" | "error"; readonly reason: string };

export interface EmbeddedController {
  readonly controller: Controller;
  readonly responder: ControllerResponder;
  /**
   * For the node's VL2 handler: consumes NETWORK_CONFIG_REQUEST packets (returns true) and answers
   * them asynchronously. pkt[start, end) is the whole packet (header at start), valid during the call.
   */
  onPacket(peer: { readonly identity: Identity }, verb: number, pkt: Uint8Array, start: number, end: number): boolean;
  /** Config for this node itself on one of its own networks (VL2 calls this instead of sending a request). */
  requestLocal(networkId: bigint, metadata: RequestMetadata): Promise<LocalConfigResult>;
  /** Stop pushing on changes. */
  stop(): void;
}

export interface EmbeddedControllerOptions {
  home: string;
  /** The node's identity with its private key. */
  identity: Identity;
  /** The service's API router: /controller routes are added to it. */
  router: Router;
  /** Sends one VL1 packet, e.g. (d, v, p) => node.send(d, v, p, 0, p.length, { compress: true }). */
  transport: ResponderTransport;
  rng: Rng;
  /** Wall-clock ms (default Date.now). */
  now?: () => number;
  /**
   * Proof-of-work check for a member's first request (default: locallyValidate, ~30 ms). Pass
   * `() => true` if VL1 only hands over identities it has validated itself.
   */
  validateIdentity?: (id: Identity) => boolean;
  /** A changed config (or a refusal) for this node on one of its own networks, pushed after an API change. */
  onLocalConfig?: (networkId: bigint, result: LocalConfigResult) => void;
}

export async function startEmbeddedController(opts: EmbeddedControllerOptions): Promise<EmbeddedController> {
  const now = opts.now ?? Date.now;
  const controller = await openEmbeddedController({
    home: opts.home,
    identity: opts.identity,
    now,
    rng: opts.rng,
    validateIdentity: opts.validateIdentity,
  });
  controllerRoutes(opts.router, controller, now);
  const toLocal = (d: ConfigDecision): LocalConfigResult => {
    if (d.kind !== "ok") return { kind: d.kind, reason: d.kind === "not-found" ? "no such network" : d.reason };
    const nc = networkConfigFromGrant(d, opts.identity);
    return nc.ok ? { kind: "ok", config: nc.value } : { kind: "error", reason: nc.error };
  };
  const onLocal = opts.onLocalConfig;
  const responder = new ControllerResponder(controller, opts.identity, opts.transport, opts.rng, now, (nwid, d) => {
    if (onLocal !== undefined && d.kind !== "ignored") onLocal(networkIdToBigInt(nwid), toLocal(d));
  });
  const detach = responder.attach();
  const self = opts.identity.publicOnly();
  return {
    controller,
    responder,
    onPacket(peer, verb, pkt, start, end) {
      if (verb !== Verb.NETWORK_CONFIG_REQUEST) return false;
      void responder.onConfigRequest(peer.identity, packetIdBigInt(pkt, start), pkt, start + 28, end);
      return true;
    },
    async requestLocal(networkId, metadata) {
      return toLocal(await controller.handleConfigRequest({ networkId, identity: self, metadata }));
    },
    stop: detach,
  };
}
