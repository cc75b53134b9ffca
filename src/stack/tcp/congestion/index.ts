import { Bbr } from "./bbr.ts";
import { Cubic } from "./cubic.ts";
import { NewReno } from "./newreno.ts";
import type { CongestionControl, CongestionName } from "./types.ts";

export type { CongestionControl, CongestionName } from "./types.ts";
export { congestionByName, linuxCongestionName } from "./names.ts";
export { Bbr } from "./bbr.ts";
export { Cubic } from "./cubic.ts";
export { NewReno } from "./newreno.ts";

/** `seed` varies per connection what a control may randomise (BBR's gain-cycle phase). */
export function createCongestionControl(name: CongestionName, initialCwnd: number, seed = 0): CongestionControl {
  if (name === "bbr") return new Bbr(initialCwnd, seed);
  return name === "newreno" ? new NewReno(initialCwnd) : new Cubic(initialCwnd);
}
