import { join } from "node:path";
import type { Rng } from "../util/random.ts";
import type { Identity } from "../vl1/identity.ts";
import { Controller } from "./controller.ts";
import { FileStore } from "./file-store.ts";

/** The controller a service runs: networks under <home>/controller.d, IDs under its own address. */
export function openEmbeddedController(opts: { home: string; identity: Identity; now?: () => number; rng?: Rng }): Promise<Controller> {
  return Controller.open({
    address: opts.identity.addressString,
    store: new FileStore(join(opts.home, "controller.d")),
    now: opts.now,
    rng: opts.rng,
  });
}
