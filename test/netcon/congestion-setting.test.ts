/**
 * Which congestion control a network container's TCP uses: local.conf's netconTcpCongestion
 * (validated), else the host kernel's default as /proc says, else CUBIC; and the port's stack gets it.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hostCongestionControl, netconCongestionControl } from "../../src/netcon/host-congestion.ts";
import { NetconPort, netconPortFactory } from "../../src/netcon/netcon-port.ts";
import { LocalConfError, parseLocalConf, unsupportedSettings } from "../../src/service/local-conf.ts";

const tmp = mkdtempSync(join(tmpdir(), "ztnc-cc-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function procFile(text: string): string {
  const p = join(tmp, `cc-${Math.random().toString(36).slice(2)}`);
  writeFileSync(p, text);
  return p;
}

describe("netconTcpCongestion in local.conf", () => {
  test("Linux names are taken (reno is our NewReno); absent means the host's default", () => {
    const s = (v: unknown) => parseLocalConf(JSON.stringify({ settings: { netconTcpCongestion: v } })).settings.netconTcpCongestion;
    expect(s("bbr")).toBe("bbr");
    expect(s("cubic")).toBe("cubic");
    expect(s("reno")).toBe("newreno");
    expect(parseLocalConf("{}").settings.netconTcpCongestion).toBeNull();
    expect(unsupportedSettings({ settings: { netconTcpCongestion: "bbr" } })).toEqual([]);
  });

  test("anything else is an error naming the key", () => {
    for (const bad of ["westwood", "BBR", "", 3, true, ["bbr"]]) {
      expect(() => parseLocalConf(JSON.stringify({ settings: { netconTcpCongestion: bad } }))).toThrow(LocalConfError);
      expect(() => parseLocalConf(JSON.stringify({ settings: { netconTcpCongestion: bad } }))).toThrow(/netconTcpCongestion/);
    }
  });
});

describe("the host's default", () => {
  test("bbr, cubic and reno as the kernel names them", () => {
    expect(hostCongestionControl(procFile("bbr\n"))).toEqual({ name: "bbr", host: "bbr", warning: null });
    expect(hostCongestionControl(procFile("cubic\n")).name).toBe("cubic");
    expect(hostCongestionControl(procFile("reno\n")).name).toBe("newreno");
  });

  test("one we do not have: CUBIC, with a warning that names it", () => {
    const h = hostCongestionControl(procFile("westwood\n"));
    expect(h.name).toBe("cubic");
    expect(h.warning).toContain('"westwood"');
  });

  test("no /proc file: CUBIC, Linux's own default, quietly", () => {
    expect(hostCongestionControl(join(tmp, "absent"))).toEqual({ name: "cubic", host: null, warning: null });
  });

  test("local.conf's choice wins over the host's", () => {
    expect(netconCongestionControl("newreno", procFile("bbr\n")).name).toBe("newreno");
    expect(netconCongestionControl(null, procFile("bbr\n")).name).toBe("bbr");
  });
});

describe("the container's stack", () => {
  test("a port made by the factory uses the congestion control it was given", async () => {
    for (const cc of ["bbr", "newreno"] as const) {
      const port = netconPortFactory(join(tmp, `home-${cc}`), cc).create(0x8056c2e21c000003n, 0x02aa0000000a, 2800) as NetconPort;
      expect(port.stack.tcp.opts.congestion).toBe(cc);
      await port.close();
    }
  });
});
