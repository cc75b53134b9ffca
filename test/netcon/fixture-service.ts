/**
 * A netcon endpoint without ZeroTier, for the intercept tests: the endpoint's stack (10.9.0.1/24)
 * and a peer stack (10.9.0.2/24) joined by an in-memory Ethernet wire, in real time.
 *
 *   bun test/netcon/fixture-service.ts --home DIR [--nwid 16hex]
 *
 * Prints `READY <nwid> <pid> <io>` once the endpoint listens; io is how program sockets are served
 * (epoll or bun, program-port.ts; ZT_NETCON_IO picks as in the service). The peer serves:
 *   7 echo (closes after the peer's FIN), 9 discard, 13 hold (accepts, never reads),
 *   19 source (1 MiB of i % 251, then FIN); nothing on port 1; 10.9.0.3 does not exist.
 * A line `stats` on stdin prints one JSON line of the endpoint's counters.
 */
import { parseArgs } from "node:util";
import { parseProgramIoChoice, programEpollSet, setProgramIo } from "../../src/netcon/program-port.ts";
import { envChoice } from "../../src/util/env-choice.ts";
import { createFixture } from "./support/fixture-net.ts";

const { values } = parseArgs({ options: { home: { type: "string" }, nwid: { type: "string", default: "8056c2e21c000001" } } });
if (values.home === undefined || !/^[0-9a-f]{16}$/.test(values.nwid)) {
  console.error("usage: fixture-service.ts --home DIR [--nwid 16hex]");
  process.exit(2);
}
const fx = createFixture(values.home, BigInt(`0x${values.nwid}`));
const endpoint = fx.endpoint;
const stop = (): void => {
  fx.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

setProgramIo(envChoice("ZT_NETCON_IO", parseProgramIoChoice, "auto", "auto, epoll or bun"));
const io = typeof (await programEpollSet()) === "string" ? "bun" : "epoll";
process.stdout.write(`READY ${values.nwid} ${process.pid} ${io}\n`);

let line = "";
process.stdin.on("data", (d: Buffer) => {
  line += d.toString();
  for (let i = line.indexOf("\n"); i >= 0; i = line.indexOf("\n")) {
    const cmd = line.slice(0, i).trim();
    line = line.slice(i + 1);
    if (cmd === "stats") {
      const s = endpoint.sockets;
      process.stdout.write(`${JSON.stringify({ sockets: s.size, byState: s.countByState(), ...s.stats, tcpConnections: fx.netcon.tcp.connectionCount })}\n`);
    }
  }
});
