import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { JsonValue } from "../../src/util/json.ts";
import { formatInfo, formatListNetworks, formatListPeers, formatPeers, jsonDump } from "../../src/cli/zerotier-cli/format.ts";
import { normalizeArgv } from "../../src/cli/cli.ts";

const fx = (f: string) => join(import.meta.dir, "../fixtures/cli", f);
const peers = JSON.parse(readFileSync(fx("ztcap-local-api-peers.json"), "utf8")) as JsonValue;
const network = JSON.parse(readFileSync(fx("ztcap-local-api-network.json"), "utf8")) as JsonValue;
// What the real zerotier-cli printed on the ztcap node in the lab (see shared/vectors/captures).
const labStatus = readFileSync(fx("lab-status.txt"), "utf8");
const capSection = labStatus.slice(labStatus.indexOf("== ztcap"));
const capLines = capSection.split("\n").slice(1);

// The lab's "now" when `peers` ran: lastSend of the root path + the printed lastTX.
const NOW = 1795900287523 + 1939;

describe("zerotier-cli output matches the real tool's", () => {
  test("peers table", () => {
    const expected = capLines.slice(capLines.indexOf("200 peers"), capLines.indexOf("200 peers") + 4).join("\n") + "\n";
    expect(formatPeers(peers, NOW)).toBe(expected);
  });

  test("listnetworks line", () => {
    const expected = capLines.slice(1, 3).join("\n") + "\n";
    expect(formatListNetworks([network])).toBe(expected);
  });

  test("info line", () => {
    expect(formatInfo({ address: "e09cc51f00", version: "1.14.1", online: true, tcpFallbackActive: false })).toBe(capLines[0] + "\n");
    expect(formatInfo({ address: "e09cc51f00", version: "1.14.1", online: false })).toBe("200 info e09cc51f00 1.14.1 OFFLINE\n");
    expect(formatInfo({ address: "e09cc51f00", version: "1.14.1", online: true, tcpFallbackActive: true })).toBe("200 info e09cc51f00 1.14.1 TUNNELED\n");
  });

  test("listpeers lines use the preferred path with ages", () => {
    const out = formatListPeers(peers, NOW).split("\n");
    expect(out[0]).toBe("200 listpeers <ztaddr> <path> <latency> <version> <role>");
    expect(out[1]).toBe("200 listpeers 31ef7fd5fc 10.77.0.3/9993;5138;5138 19 1.14.1 LEAF");
    expect(out[2]).toBe("200 listpeers 3bc65e2b50 10.77.0.2/9993;1939;1938 61 1.14.1 PLANET");
  });

  test("peers without a path show RELAY and unknown versions show -", () => {
    const out = formatPeers([{ address: "0123456789", versionMajor: -1, versionMinor: -1, versionRev: -1, latency: -1, role: "LEAF", paths: [] }], NOW);
    expect(out.split("\n")[2]).toBe("0123456789 -      LEAF      -1 RELAY");
  });

  test("garbage JSON shapes print only headers, never throw", () => {
    expect(formatPeers({ not: "an array" }, NOW)).toBe("200 peers\n<ztaddr>   <ver>  <role> <lat> <link>   <lastTX> <lastRX> <path>\n");
    expect(formatListNetworks([1, "x", null])).toBe("200 listnetworks <nwid> <name> <mac> <status> <type> <dev> <ZT assigned ips>\n");
    expect(formatInfo([])).toBe("");
  });

  test("-j output is nlohmann-style: sorted keys, one-space indent", () => {
    expect(jsonDump({ b: 1, a: [true, { d: null, c: "x" }] })).toBe('{\n "a": [\n  true,\n  {\n   "c": "x",\n   "d": null\n  }\n ],\n "b": 1\n}');
  });

  test("glued short flags map to long options", () => {
    expect(normalizeArgv(["-D/tmp/h", "-p9993", "-Tabc", "-H::1", "-j", "-q", "info"])).toEqual([
      "--home", "/tmp/h", "--port", "9993", "--token", "abc", "--host", "::1", "--json", "info",
    ]);
  });
});
