/**
 * /metrics for the UDP underlay (src/transport/udp.ts): which receive path is in use, the
 * recvmmsg path's batches and doorbell rings, and what the transport dropped or failed to send.
 */
import type { UdpTransport } from "../transport/udp.ts";
import type { MetricsRegistry } from "./metrics.ts";

export function registerUdpMetrics(m: MetricsRegistry, udp: () => UdpTransport | null): void {
  const path = m.gauge("zt_udp_receive_path", "1 for the way received datagrams arrive (recvmmsg: ffi with an io_uring doorbell; bun: Bun's callbacks)", ["path"]);
  path.collect = () => {
    path.clear();
    const t = udp();
    if (t !== null) path.labels(t.receivePath).set(1);
  };
  const simple: [string, string, (t: UdpTransport) => number][] = [
    ["zt_udp_recvmmsg_calls", "recvmmsg calls (receive path recvmmsg)", (t) => t.receiveStats.calls],
    ["zt_udp_doorbell_rings", "Times the receive doorbell rang (receive path recvmmsg)", (t) => t.doorbellStats().rings],
    ["zt_udp_doorbell_failures", "Doorbell polls or sends that failed, or submissions refused", (t) => {
      const d = t.doorbellStats();
      return d.failures + d.submitErrors;
    }],
    ["zt_udp_send_errors", "Datagrams the kernel did not take", (t) => t.sendErrors],
    ["zt_udp_sends_at_once", "Datagrams sent at once instead of with the turn's batch (the first of a turn after a sparse one)", (t) => t.immediateFlushes],
    ["zt_udp_socket_errors", "Socket errors reported on receive", (t) => t.socketErrors],
  ];
  for (const [name, help, get] of simple) {
    m.counter(name, help).collect = (metric) => {
      const t = udp();
      if (t !== null) metric.labels().set(get(t));
    };
  }
  const drops = m.counter("zt_udp_receive_drops", "Received datagrams dropped by the transport, by reason", ["reason"]);
  drops.collect = (metric) => {
    const t = udp();
    if (t === null) return;
    metric.labels("truncated").set(t.receiveStats.truncated);
    metric.labels("bad_source").set(t.receiveStats.badSource);
    metric.labels("handler_error").set(t.receiveStats.handlerErrors);
  };
}
