import { readdirSync, statSync, unlinkSync } from "node:fs";
import type { Address } from "../vl1/address.ts";
import type { PeerStore } from "../vl1/node.ts";
import type { HomeDir } from "./home.ts";

/** zerotier-one drops cached peers not refreshed for 30 days. */
const PEER_CACHE_MAX_AGE_MS = 30 * 24 * 3600 * 1000;

const hex10 = (a: Address) => a.toString(16).padStart(10, "0");

/**
 * peers.d/<address>.peer. The directory is indexed once at start, so a lookup for a peer we have
 * no file for (the common case on every new contact) costs no file system call.
 */
export class FilePeerStore implements PeerStore {
  private readonly present = new Set<string>();

  constructor(private readonly home: HomeDir, now = Date.now()) {
    const dir = home.subdir("peers.d");
    for (const name of readdirSync(dir)) {
      const m = /^([0-9a-f]{10})\.peer$/.exec(name);
      if (!m) continue;
      const path = `${dir}/${name}`;
      try {
        if (now - statSync(path).mtimeMs > PEER_CACHE_MAX_AGE_MS) {
          unlinkSync(path);
          continue;
        }
      } catch {
        continue;
      }
      this.present.add(m[1]!);
    }
  }

  get size(): number {
    return this.present.size;
  }

  loadPeer(address: Address): Uint8Array | null {
    const a = hex10(address);
    if (!this.present.has(a)) return null;
    return this.home.read(`peers.d/${a}.peer`);
  }

  savePeer(address: Address, data: Uint8Array): void {
    const a = hex10(address);
    this.home.write(`peers.d/${a}.peer`, data, 0o644);
    this.present.add(a);
  }
}
