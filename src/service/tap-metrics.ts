/**
 * /metrics for `--tap` ports: what the offloads did (src/port/tap-gro.ts, tap-gso.ts), per
 * network: segments joined into trains on the way into the tap, trains cut into segments on the
 * way out, partial checksums finished, and the frames dropped as malformed or too long.
 */
import { TapPort } from "../port/tap-port.ts";
import type { Networks } from "../vl2/networks.ts";
import type { MetricsRegistry } from "./metrics.ts";

function* tapPorts(networks: Networks): Generator<[string, TapPort]> {
  for (const n of networks.all) if (n.port instanceof TapPort) yield [n.idString, n.port];
}

export function registerTapMetrics(m: MetricsRegistry, networks: Networks): void {
  const offload = m.counter("zt_tap_offload", "Tap offloads: frames joined or cut, checksums finished, frames dropped", ["network_id", "event"]);
  offload.collect = (metric) => {
    metric.clear();
    for (const [id, p] of tapPorts(networks)) {
      const r = p.gro.stats;
      metric.labels(id, "rx_trains").set(r.trains);
      metric.labels(id, "rx_train_segments").set(r.trainSegments);
      metric.labels(id, "rx_single").set(r.single);
      metric.labels(id, "rx_dropped_too_long").set(r.tooLong);
      const t = p.gso?.stats;
      if (t === undefined) continue;
      metric.labels(id, "tx_trains").set(t.trains);
      metric.labels(id, "tx_train_segments").set(t.segments);
      metric.labels(id, "tx_checksums_finished").set(t.checksummed);
      metric.labels(id, "tx_dropped_malformed").set(t.malformed);
    }
  };
}
