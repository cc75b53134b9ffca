/**
 * An ICMP error quoted one of our segments (RFC 1122 4.2.3.9; the RFC 5927 checks are done by the
 * layer): "fragmentation needed" lowers the MSS (RFC 1191); an unreachable is fatal during connect
 * and a soft error afterwards.
 */
import type { Connection } from "./connection.ts";
import { icmpUnreachToErrno } from "./errors.ts";
import { output } from "./snd.ts";
import { TcpState } from "./state.ts";

export function onIcmpError(c: Connection, type: number, code: number, nextHopMtu: number): void {
  if (type === 3 && code === 4) {
    // Fragmentation needed: lower the MSS (PMTU discovery, RFC 1191).
    if (nextHopMtu >= 68 && nextHopMtu < c.host.ip.mtu) {
      const before = c.sendMss;
      c.updateSendMss(nextHopMtu);
      if (c.sendMss < before && c.sndUna !== c.sndMax) {
        c.sndNxt = c.sndUna; // resend with the smaller size
        output(c);
        c.rearm();
      }
    }
    return;
  }
  if (type !== 3) return;
  const err = icmpUnreachToErrno(code);
  if (c.state === TcpState.SynSent || (c.state === TcpState.SynReceived && c.listener === null)) {
    // During connect an unreachable is fatal (RFC 1122 leaves it open; Linux aborts the connect).
    c.fail(err);
    return;
  }
  // Later it is soft: remembered and reported only if the connection then times out.
  c.softError = err;
}
