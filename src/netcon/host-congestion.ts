/**
 * The congestion control a network container's TCP uses by default: the host kernel's
 * (net.ipv4.tcp_congestion_control), so a program gets what it would have had outside the
 * container. BBR, CUBIC and Reno are ours too; for another (westwood, dctcp, ...) CUBIC stands in,
 * with a warning.
 */
import { readFileSync } from "node:fs";
import { congestionByName, type CongestionName } from "../stack/tcp/congestion/index.ts";

export const HOST_CONGESTION_PATH = "/proc/sys/net/ipv4/tcp_congestion_control";

export interface HostCongestion {
  name: CongestionName;
  /** What the host said (null when it could not be read). */
  host: string | null;
  /** Set when the host's choice is not one we have. */
  warning: string | null;
}

export function hostCongestionControl(path = HOST_CONGESTION_PATH): HostCongestion {
  let host: string;
  try {
    host = readFileSync(path, "utf8").trim();
  } catch {
    return { name: "cubic", host: null, warning: null }; // not Linux, or no /proc: Linux's own default
  }
  const name = congestionByName(host);
  if (name !== null) return { name, host, warning: null };
  const shown = JSON.stringify(host.slice(0, 32));
  return { name: "cubic", host, warning: `the host's TCP congestion control ${shown} is not one the network containers have (bbr, cubic, reno); they use cubic` };
}

/** local.conf's netconTcpCongestion when set, else the host's default. */
export function netconCongestionControl(setting: CongestionName | null, path = HOST_CONGESTION_PATH): HostCongestion {
  return setting !== null ? { name: setting, host: null, warning: null } : hostCongestionControl(path);
}
