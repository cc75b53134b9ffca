/** networks.d in the home directory, as the store of joined networks (src/vl2/networks.ts). */
import { readdirSync } from "node:fs";
import type { NetworksStore } from "../vl2/networks.ts";
import type { HomeDir } from "./home.ts";

export class NetworksDir implements NetworksStore {
  constructor(private readonly home: HomeDir) {
    home.subdir("networks.d");
  }

  list(): bigint[] {
    let names: string[];
    try {
      names = readdirSync(this.home.path("networks.d"));
    } catch {
      return [];
    }
    return names.filter((n) => /^[0-9a-fA-F]{16}\.conf$/.test(n)).map((n) => BigInt(`0x${n.slice(0, 16)}`));
  }

  read(name: string): Uint8Array | null {
    return this.home.read(`networks.d/${name}`);
  }

  write(name: string, data: Uint8Array): void {
    this.home.write(`networks.d/${name}`, data, 0o600);
  }

  remove(name: string): void {
    this.home.remove(`networks.d/${name}`);
  }
}
