import type { CongestionName } from "./types.ts";

/**
 * A congestion control by its Linux name (what TCP_CONGESTION and
 * net.ipv4.tcp_congestion_control say; "reno" is NewReno there), or by ours. null if we have none
 * of that name.
 */
export function congestionByName(name: string): CongestionName | null {
  switch (name) {
    case "bbr":
      return "bbr";
    case "cubic":
      return "cubic";
    case "reno":
    case "newreno":
      return "newreno";
    default:
      return null;
  }
}

/** Our control's Linux name (for TCP_CONGESTION answers). */
export function linuxCongestionName(name: CongestionName): string {
  return name === "newreno" ? "reno" : name;
}
