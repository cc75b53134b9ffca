/**
 * The RuleContext a network hands the rules engine, built from our config and the membership of
 * the other member (the sender for inbound frames, the recipient for outbound ones), as 1.14's
 * filter functions wire them: our tags from our config, the peer's tags from its membership,
 * "sender owns this IP/MAC" from the peer's CoOs inbound and from ours outbound.
 * One instance per network, re-pointed per frame with `use` (no allocation).
 */
import type { Address } from "../vl1/address.ts";
import type { Rng } from "../util/random.ts";
import { ThingType, cooOwns } from "./credentials/certificate-of-ownership.ts";
import { type Mac, writeMac } from "./mac.ts";
import type { Membership } from "./membership.ts";
import type { NetworkConfig } from "./network-config.ts";
import type { RuleContext } from "./rules-engine.ts";

const macScratch = new Uint8Array(6);

export class NetworkRuleContext implements RuleContext {
  private nconf: NetworkConfig;
  private peer: Membership | null = null;
  private inbound = false;

  constructor(
    readonly self: Address,
    nconf: NetworkConfig,
    private readonly rng: Rng,
  ) {
    this.nconf = nconf;
  }

  get networkFlags(): number {
    return this.nconf.flags;
  }

  /** Points the context at the current config and the other member of this frame (null if unknown). */
  use(nconf: NetworkConfig, peer: Membership | null, inbound: boolean): this {
    this.nconf = nconf;
    this.peer = peer;
    this.inbound = inbound;
    return this;
  }

  localTag(id: number): number | undefined {
    // tags are kept sorted by id; tables are small, a linear scan beats building a map
    for (const t of this.nconf.tags) if (t.id === id) return t.value;
    return undefined;
  }

  remoteTag(id: number): number | undefined {
    return this.peer === null ? undefined : this.peer.tag(this.nconf, id);
  }

  senderOwnsIp(buf: Uint8Array, off: number, len: number): boolean {
    if (this.inbound) return this.peer !== null && this.peer.ownsIp(this.nconf, buf, off, len);
    const type = len === 4 ? ThingType.IPV4 : ThingType.IPV6;
    for (const c of this.nconf.certificatesOfOwnership) if (cooOwns(c, type, buf, off, len)) return true;
    return false;
  }

  senderOwnsMac(mac: Mac): boolean {
    if (this.inbound) return this.peer !== null && this.peer.ownsMac(this.nconf, mac);
    writeMac(macScratch, 0, mac);
    for (const c of this.nconf.certificatesOfOwnership) if (cooOwns(c, ThingType.MAC, macScratch)) return true;
    return false;
  }

  random(): number {
    return this.rng.u32();
  }
}
