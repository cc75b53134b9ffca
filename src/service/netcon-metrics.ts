/**
 * /metrics for network containers: program sockets by state, open bridged connections, bytes each
 * way, connects, accepts and control calls, per network. `zt_netcon_sockets` falling back to 0
 * after programs exit is how tests see that the service freed everything.
 */
import { NetconPort } from "../netcon/netcon-port.ts";
import { programIoState } from "../netcon/program-port.ts";
import type { Networks } from "../vl2/networks.ts";
import type { MetricsRegistry } from "./metrics.ts";

function* netconPorts(networks: Networks): Generator<[string, NetconPort]> {
  for (const n of networks.all) if (n.port instanceof NetconPort) yield [n.idString, n.port];
}

export function registerNetconMetrics(m: MetricsRegistry, networks: Networks): void {
  const sockets = m.gauge("zt_netcon_sockets", "Program sockets the service holds, by state", ["network_id", "state"]);
  sockets.collect = (metric) => {
    metric.clear();
    for (const [id, p] of netconPorts(networks)) {
      for (const [state, v] of Object.entries(p.endpoint.sockets.countByState())) metric.labels(id, state).set(v);
    }
  };
  const open = m.gauge("zt_netcon_connections", "Program connections being bridged to TCP", ["network_id"]);
  open.collect = (metric) => {
    metric.clear();
    for (const [id, p] of netconPorts(networks)) metric.labels(id).set(p.endpoint.sockets.stats.bridgesOpen);
  };
  const events = m.counter("zt_netcon_events", "Connects, connect failures, accepted connections, control calls, refused callers", [
    "network_id",
    "event",
  ]);
  events.collect = (metric) => {
    metric.clear();
    for (const [id, p] of netconPorts(networks)) {
      const s = p.endpoint.sockets.stats;
      const c = p.endpoint.control.stats;
      metric.labels(id, "connect").set(s.connects);
      metric.labels(id, "connect_failure").set(s.connectFailures);
      metric.labels(id, "accept").set(s.accepted);
      metric.labels(id, "socket_freed").set(s.socketsFreed);
      metric.labels(id, "control_call").set(c.calls);
      metric.labels(id, "control_refused_uid").set(c.refusedUid + p.endpoint.attach.stats.refusedUid);
      metric.labels(id, "control_bad_message").set(c.badMessages);
    }
  };
  m.gauge("zt_netcon_program_io", "1 for how program sockets are served: our epoll set, or Bun's event loop (ZT_NETCON_IO)", ["way"]).collect = (metric) => {
    metric.clear();
    const w = programIoState().way;
    if (w !== null) metric.labels(w).set(1);
  };
  m.counter("zt_netcon_epoll_events", "Program socket events read from the epoll set").collect = (metric) => {
    metric.labels().set(programIoState().events);
  };
  m.counter("zt_netcon_program_reads", "recv() calls on program sockets served from the epoll set, by result (data: bytes or EOF; empty: nothing there)", ["result"]).collect = (metric) => {
    const st = programIoState();
    metric.labels("data").set(st.reads);
    metric.labels("empty").set(st.emptyReads);
  };
  const bytes = m.counter("zt_netcon_bytes", "Bytes between programs and the stack", ["network_id", "direction"]);
  bytes.collect = (metric) => {
    metric.clear();
    for (const [id, p] of netconPorts(networks)) {
      metric.labels(id, "to_peer").set(p.endpoint.sockets.stats.toPeerBytes);
      metric.labels(id, "to_program").set(p.endpoint.sockets.stats.toProgramBytes);
    }
  };
}
