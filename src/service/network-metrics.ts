/** /metrics for joined networks: frames and bytes each way, and every drop/rejection by reason. */
import type { Networks } from "../vl2/networks.ts";
import type { MetricsRegistry } from "./metrics.ts";

export function registerNetworkMetrics(m: MetricsRegistry, networks: Networks): void {
  const frames = m.counter("zt_network_frames", "Ethernet frames between members and the port", ["network_id", "direction", "kind"]);
  frames.collect = (metric) => {
    metric.clear();
    for (const n of networks.all) {
      const t = n.traffic;
      metric.labels(n.idString, "rx", "unicast").set(t.framesIn - t.multicastIn);
      metric.labels(n.idString, "rx", "multicast").set(t.multicastIn);
      metric.labels(n.idString, "tx", "unicast").set(t.framesOut);
      metric.labels(n.idString, "tx", "multicast").set(t.multicastOut);
    }
  };
  const bytes = m.counter("zt_network_frame_bytes", "Ethernet payload bytes between members and the port", ["network_id", "direction"]);
  bytes.collect = (metric) => {
    metric.clear();
    for (const n of networks.all) {
      metric.labels(n.idString, "rx").set(n.traffic.bytesIn);
      metric.labels(n.idString, "tx").set(n.traffic.bytesOut);
    }
  };
  const drops = m.counter("zt_network_drops", "Frames dropped, configs and credentials rejected, by reason", [
    "network_id",
    "kind",
    "reason",
  ]);
  drops.collect = (metric) => {
    metric.clear();
    for (const n of networks.all) {
      for (const [kind, c] of [["frame", n.drops], ["config", n.configRejects], ["credential", n.credentialRejects]] as const) {
        for (const [reason, v] of c.counts) metric.labels(n.idString, kind, reason).set(v);
      }
    }
    for (const [reason, v] of networks.ignored.counts) metric.labels("", "packet", reason).set(v);
  };
  const status = m.gauge("zt_network_status", "1 for the status each joined network is in", ["network_id", "status"]);
  status.collect = (metric) => {
    metric.clear();
    for (const n of networks.all) metric.labels(n.idString, n.status).set(1);
  };
}
