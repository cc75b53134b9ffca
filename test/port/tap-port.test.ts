/**
 * The tap port: device names, the iproute2 commands a configuration turns into (and the diff a
 * later configuration applies), the clear error without root, and (as root) a real tap in a
 * namespace of our own that gets its MAC, MTU and address and disappears on close, and whose
 * closed fd number is never written through.
 */
import { describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TapDevice } from "../../ffi/tap.ts";
import { ipv4 } from "../../src/vl1/inet-address.ts";
import { type CommandRunner, TapPort, tapDeviceName } from "../../src/port/tap-port.ts";
import { PortError } from "../../src/port/port.ts";
import { sh } from "../e2e/netns-lab.ts";

function fakeTap(name: string): TapDevice {
  return { name, sendFrame: () => {}, start: () => {}, close: () => {} } as unknown as TapDevice;
}

describe("tap port", () => {
  test("device names are zt + 8 base-36 characters, stable per network", () => {
    const a = tapDeviceName(0x8056c2e21c000001n);
    expect(a).toMatch(/^zt[0-9a-z]{8}$/);
    expect(tapDeviceName(0x8056c2e21c000001n)).toBe(a);
    expect(tapDeviceName(0x8056c2e21c000002n)).not.toBe(a);
  });

  test("configure: MAC, MTU, up, addresses and non-on-link routes; a later config applies the difference only", async () => {
    const cmds: string[] = [];
    const run: CommandRunner = (argv) => {
      cmds.push(argv.join(" "));
      return Promise.resolve({ code: 0, stderr: "" });
    };
    const port = new TapPort(fakeTap("ztunit0"), run);
    const onLink = { target: ipv4(10, 1, 2, 0, 24), via: null, flags: 0, metric: 0 };
    const viaGw = { target: ipv4(192, 168, 50, 0, 24), via: ipv4(10, 1, 2, 1, 0), flags: 0, metric: 5 };
    await port.configure({ mac: 0x02aabbccddee, mtu: 2800, addresses: [ipv4(10, 1, 2, 3, 24)], routes: [onLink, viaGw] });
    expect(cmds).toEqual([
      "ip link set dev ztunit0 address 02:aa:bb:cc:dd:ee",
      "ip link set dev ztunit0 mtu 2800",
      "ip link set dev ztunit0 up",
      "ip addr add 10.1.2.3/24 dev ztunit0",
      "ip route replace 192.168.50.0/24 via 10.1.2.1 dev ztunit0 metric 5",
    ]);
    cmds.length = 0;
    await port.configure({ mac: 0x02aabbccddee, mtu: 2800, addresses: [ipv4(10, 1, 2, 4, 24)], routes: [onLink] });
    // the kernel's on-link route is never deleted; the gateway route we added is
    expect(cmds).toEqual(["ip addr del 10.1.2.3/24 dev ztunit0", "ip addr add 10.1.2.4/24 dev ztunit0", "ip route del 192.168.50.0/24 dev ztunit0"]);
  });

  test("without root: a PortError that says so", () => {
    expect(() => TapPort.open(1n, 2800, undefined, 1000)).toThrow(PortError);
    expect(() => TapPort.open(1n, 2800, undefined, 1000)).toThrow("tap mode needs root (CAP_NET_ADMIN to create a tap device)");
  });

  test("as root: a closed tap never writes through its old fd number, and a write outside the buffer is refused", async () => {
    const ns = `ztq${process.pid}`;
    await sh(["ip", "netns", "add", ns]);
    try {
      const code = `
        import { openSync, readFileSync, closeSync } from "node:fs";
        import { TapDevice, VNET_HDR_LEN } from ${JSON.stringify(new URL("../../ffi/tap.ts", import.meta.url).pathname)};
        const tap = TapDevice.open({ maxFrame: 1514 });
        const frame = new Uint8Array(VNET_HDR_LEN + 60);
        tap.writeVnet(frame, 0, frame.length + 100); // past the end of the buffer
        const refused = tap.stats.txErrors;
        const fd = tap.fd;
        tap.close();
        const path = ${JSON.stringify(join(tmpdir(), `ztq-${process.pid}`))};
        const f = openSync(path, "w"); // the lowest free number: the tap's old one
        tap.writeVnet(frame, 0, frame.length);
        tap.sendFrame(frame, VNET_HDR_LEN, frame.length);
        closeSync(f);
        console.log(JSON.stringify({ refused, reused: f === fd, bytes: readFileSync(path).length, errors: tap.stats.txErrors }));`;
      const r = await sh(["ip", "netns", "exec", ns, process.execPath, "-e", code], { allowFail: true });
      const j = JSON.parse(r.out.trim().split("\n").at(-1)!) as { refused: number; reused: boolean; bytes: number; errors: number };
      expect(j.refused).toBe(1);
      expect(j.reused).toBe(true); // so the check below means something
      expect(j.bytes).toBe(0);
      expect(j.errors).toBe(3);
    } finally {
      await sh(["ip", "netns", "del", ns], { allowFail: true });
      rmSync(join(tmpdir(), `ztq-${process.pid}`), { force: true });
    }
  });

  test("as root: sparse frames cost one read() each, not a second one that finds the device empty; a burst is read whole", async () => {
    const ns = `ztr${process.pid}`;
    await sh(["ip", "netns", "add", ns]);
    try {
      // each datagram to a static neighbour on the tap's subnet leaves through the tap as one frame
      const code = `
        import { TapDevice } from ${JSON.stringify(new URL("../../ffi/tap.ts", import.meta.url).pathname)};
        // the tap's clock is ours: a quiet gap is made by moving it, not by waiting
        let clock = 0;
        const tap = TapDevice.open({ name: "ztlone0", maxFrame: 1514, reader: "doorbell", now: () => clock });
        const sh = (...a) => { const r = Bun.spawnSync(a); if (r.exitCode !== 0) throw new Error(a.join(" ") + ": " + r.stderr); };
        sh("sysctl", "-qw", "net.ipv6.conf.ztlone0.disable_ipv6=1");
        sh("ip", "addr", "add", "10.98.1.1/24", "dev", "ztlone0");
        sh("ip", "link", "set", "ztlone0", "up");
        sh("ip", "neigh", "replace", "10.98.1.9", "lladdr", "02:00:00:00:00:09", "dev", "ztlone0");
        const udp = [];
        // resolved by the receiver itself once the n-th UDP frame is in (no polling)
        let waiting = null;
        tap.start({ receiveFrame: (b, s, e) => {
          if (e - s >= 42 && b[s + 12] === 0x08 && b[s + 13] === 0x00 && b[s + 23] === 17) udp.push(e - s);
          if (waiting !== null && udp.length >= waiting.n) { const w = waiting; waiting = null; w.done(); }
        } });
        const until = (n) => udp.length >= n ? Promise.resolve() : new Promise((done, fail) => {
          const t = setTimeout(() => fail(new Error("frames lost: " + udp.length + " of " + n)), 5000);
          waiting = { n, done: () => { clearTimeout(t); done(); } };
        });
        const s = await Bun.udpSocket({});
        s.send("first", 9, "10.98.1.9");
        await until(1);
        const before = { ...tap.stats };
        // sparse frames: 20 ms of the tap's clock apart (well past the 1 ms a lone read needs);
        // each frame's arrival is awaited as a fact
        for (let i = 0; i < 10; i++) { clock += 20; s.send("sparse " + i, 9, "10.98.1.9"); await until(2 + i); }
        const sparse = { frames: tap.stats.rxFrames - before.rxFrames, reads: tap.stats.reads - before.reads };
        clock += 20; // a burst after a quiet gap: its first drain is a lone read
        for (let i = 0; i < 40; i++) s.send("burst " + i, 9, "10.98.1.9");
        await until(51);
        console.log(JSON.stringify({ reader: tap.reader, sparse, udp: udp.length }));
        tap.close();
        process.exit(0);`;
      const r = await sh(["ip", "netns", "exec", ns, process.execPath, "-e", code], { allowFail: true });
      const j = JSON.parse(r.out.trim().split("\n").at(-1)!) as { reader: string; sparse: { frames: number; reads: number }; udp: number };
      expect(j.reader).toBe("doorbell");
      expect(j.sparse.frames).toBeGreaterThanOrEqual(10);
      // one read per frame (a stray frame of the kernel's may bring one more); reading until
      // the device is empty would be two per frame
      expect(j.sparse.reads).toBeLessThanOrEqual(j.sparse.frames + 2);
      expect(j.udp).toBe(51);
    } finally {
      await sh(["ip", "netns", "del", ns], { allowFail: true });
    }
  });

  test("as root: a real tap gets MAC, MTU and address, and is gone after close", async () => {
    const ns = `ztp${process.pid}`;
    await sh(["ip", "netns", "add", ns]);
    try {
      // create the tap inside our namespace: run this part in a child that enters it
      const code = `
        import { TapPort } from ${JSON.stringify(new URL("../../src/port/tap-port.ts", import.meta.url).pathname)};
        import { ipv4 } from ${JSON.stringify(new URL("../../src/vl1/inet-address.ts", import.meta.url).pathname)};
        const p = TapPort.open(0x1234567890abcdefn, 2800);
        await p.configure({ mac: 0x02aabbccddee, mtu: 2800, addresses: [ipv4(10, 99, 1, 2, 24)], routes: [] });
        const show = Bun.spawnSync(["ip", "-o", "addr", "show", "dev", p.deviceName]).stdout.toString();
        const link = Bun.spawnSync(["ip", "-o", "link", "show", "dev", p.deviceName]).stdout.toString();
        await p.close();
        const gone = Bun.spawnSync(["ip", "link", "show", "dev", p.deviceName]).exitCode !== 0;
        console.log(JSON.stringify({ show, link, gone }));`;
      const r = await sh(["ip", "netns", "exec", ns, process.execPath, "-e", code], { allowFail: true });
      const j = JSON.parse(r.out.trim().split("\n").at(-1)!) as { show: string; link: string; gone: boolean };
      expect(j.show).toContain("inet 10.99.1.2/24");
      expect(j.link).toContain("mtu 2800");
      expect(j.link).toContain("02:aa:bb:cc:dd:ee");
      expect(j.gone).toBe(true);
    } finally {
      await sh(["ip", "netns", "del", ns], { allowFail: true });
    }
  });
});
