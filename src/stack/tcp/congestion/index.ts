import { Cubic } from "./cubic.ts";
import { NewReno } from "./newreno.ts";
import type { CongestionControl } from "./types.ts";

export type { CongestionControl } from "./types.ts";
export { Cubic } from "./cubic.ts";
export { NewReno } from "./newreno.ts";

export function createCongestionControl(name: "cubic" | "newreno", initialCwnd: number): CongestionControl {
  return name === "newreno" ? new NewReno(initialCwnd) : new Cubic(initialCwnd);
}
