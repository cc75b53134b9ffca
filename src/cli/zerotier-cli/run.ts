/**
 * zerotier-cli commands. Each returns the text to print and the exit code zerotier-cli would give
 * (0 ok, 1 request failed, 2 usage), so they can be tested without spawning a process.
 */
import type { JsonValue } from "../../util/json.ts";
import { type ApiTarget, apiRequest } from "./client.ts";
import { formatInfo, formatListNetworks, formatListPeers, formatPeers, jsonDump } from "./format.ts";

export interface CliOutput {
  out: string;
  code: number;
}

const CONNECT_HELP =
  "\n\nPlease check that the service is running and that TCP port 9993 can be contacted via 127.0.0.1.";

export async function runCommand(t: ApiTarget, command: string, args: string[], json: boolean, now = Date.now()): Promise<CliOutput> {
  const fail = (status: number, body: string): CliOutput => ({ out: `${status} ${command} ${body}\n`, code: 1 });

  // GET-and-format commands share one shape.
  const viewers: Record<string, [string, (j: JsonValue) => string]> = {
    info: ["/status", formatInfo],
    status: ["/status", formatInfo],
    listpeers: ["/peer", (j) => formatListPeers(j, now)],
    peers: ["/peer", (j) => formatPeers(j, now)],
    listnetworks: ["/network", formatListNetworks],
    listmoons: ["/moon", (j) => `${jsonDump(j)}\n`],
  };

  if (command.startsWith("/")) {
    const r = await apiRequest(t, "GET", command);
    return r.status === 200 ? { out: r.body, code: 0 } : fail(r.status, r.body);
  }

  const viewer = viewers[command];
  if (viewer) {
    const r = await apiRequest(t, "GET", viewer[0]);
    if (r.status === 0) return { out: `Error connecting to the ZeroTier service: ${r.body}${CONNECT_HELP}\n`, code: 1 };
    let j: JsonValue;
    try {
      j = JSON.parse(r.body) as JsonValue;
    } catch (e) {
      return { out: `${r.status} ${command} invalid JSON response (${(e as Error).message})\n`, code: 1 };
    }
    if (r.status !== 200) return fail(r.status, r.body);
    return { out: json ? `${jsonDump(j)}\n` : viewer[1](j), code: 0 };
  }

  switch (command) {
    case "join":
    case "leave": {
      const nwid = args[0] ?? "";
      if (!/^[0-9a-fA-F]{16}$/.test(nwid)) return { out: "invalid network id\n", code: 2 };
      const r = command === "join"
        ? await apiRequest(t, "POST", `/network/${nwid.toLowerCase()}`, "{}")
        : await apiRequest(t, "DELETE", `/network/${nwid.toLowerCase()}`);
      if (r.status !== 200) return fail(r.status, r.body);
      return { out: json ? r.body : `200 ${command} OK\n`, code: 0 };
    }
    case "orbit": {
      const [world, seed] = args;
      const hex64 = (v: string | undefined): v is string => v !== undefined && /^[0-9a-fA-F]{1,16}$/.test(v) && BigInt(`0x${v}`) !== 0n;
      if (!hex64(world) || !hex64(seed)) {
        return { out: "orbit requires a world ID and a seed (both non-zero hex)\n", code: 2 };
      }
      const r = await apiRequest(t, "POST", `/moon/${world.toLowerCase()}`, JSON.stringify({ seed }));
      return r.status === 200 ? { out: "200 orbit OK\n", code: 0 } : fail(r.status, r.body);
    }
    case "deorbit": {
      const world = args[0] ?? "";
      if (!/^[0-9a-fA-F]{1,16}$/.test(world)) return { out: "deorbit requires a world ID (hex)\n", code: 2 };
      const r = await apiRequest(t, "DELETE", `/moon/${world.toLowerCase()}`);
      if (r.status !== 200) return fail(r.status, r.body);
      return { out: json ? r.body : "200 deorbit OK\n", code: 0 };
    }
    default:
      return { out: `unknown command: ${command}\n`, code: 2 };
  }
}
