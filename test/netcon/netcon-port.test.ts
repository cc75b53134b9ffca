/**
 * NetconPort: a network's config becomes the user-space stack's MAC, MTU, addresses and routes
 * (again on every change); an address taken away resets what used it; two endpoints (two homes,
 * even the same network) live side by side; closing the port (leave) closes the endpoint and every
 * connection on it.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { POLLHUP, POLLOUT } from "../../ffi/unix.ts";
import { NetconPort } from "../../src/netcon/netcon-port.ts";
import type { PortConfig } from "../../src/port/port.ts";
import { FRAME_HEADROOM } from "../../src/stack/link.ts";
import { ipv4 } from "../../src/vl1/inet-address.ts";
import { ControlClient, unixClose, waitFd } from "./support/control-client.ts";

const tmp = mkdtempSync(join(tmpdir(), "ztnc-port-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const nwid = 0x8056c2e21c000002n;

function config(addrs: [number, number, number, number, number][], mtu = 2800): PortConfig {
  return {
    mac: 0x02aa00000009,
    mtu,
    addresses: addrs.map(([a, b, c, d, bits]) => ipv4(a, b, c, d, bits)),
    routes: [{ target: ipv4(10, 20, 0, 0, 16), via: ipv4(10, 9, 0, 254, 0), flags: 0, metric: 0 }],
  };
}

describe("NetconPort", () => {
  test("config is applied to the stack, and applied again on change", async () => {
    const port = new NetconPort(join(tmp, "a"), nwid, 0x02aa00000009, 2800);
    const frames: number[] = [];
    port.start({ sendFrame: (_b, s, e) => frames.push(e - s) });
    await port.configure(config([[10, 9, 0, 5, 24]]));
    const iface = port.stack.iface;
    expect(iface.addresses().map((a) => a.addr)).toEqual([0x0a090005]);
    expect(iface.routes.lookup(0x0a140101)?.gateway).toBe(0x0a0900fe);
    expect(frames.length).toBeGreaterThan(0); // gratuitous ARP on start
    await port.configure(config([[10, 9, 0, 6, 24]], 1400));
    expect(iface.addresses().map((a) => a.addr)).toEqual([0x0a090006]);
    expect(iface.mtu).toBe(1400);
    await port.close();
    expect(existsSync(join(tmp, "a", "netcon.d", `${nwid.toString(16)}.rpc`))).toBe(false);
  });

  test("an address taken away resets the connections that used it", async () => {
    const port = new NetconPort(join(tmp, "b"), nwid, 0x02aa00000009, 2800);
    const sent: Uint8Array[] = [];
    port.start({ sendFrame: (b, s, e) => sent.push(b.slice(s, e)) });
    await port.configure(config([[10, 9, 0, 5, 24]]));
    const t = port.stack.connect(0x0a090063, 80);
    let err = "";
    t.handler = { onError: (_s, code) => (err = code) };
    expect(t.stateName).toBe("SYN_SENT");
    await port.configure(config([]));
    expect(err).not.toBe("");
    expect(port.stack.tcp.connectionCount).toBe(0);
    await port.close();
  });

  test("two endpoints of the same network in two homes live side by side; close resets program sockets", async () => {
    const p1 = new NetconPort(join(tmp, "c1"), nwid, 0x02aa00000011, 2800);
    const p2 = new NetconPort(join(tmp, "c2"), nwid, 0x02aa00000012, 2800);
    // a wire between the two stacks
    const wire = (to: NetconPort) => ({
      sendFrame: (b: Uint8Array, s: number, e: number) => {
        const f = new Uint8Array(FRAME_HEADROOM + e - s);
        f.set(b.subarray(s, e), FRAME_HEADROOM);
        queueMicrotask(() => to.deliver.receiveFrame(f, FRAME_HEADROOM, f.length));
      },
    });
    p1.start(wire(p2));
    p2.start(wire(p1));
    await p1.configure(config([[10, 9, 1, 1, 24]]));
    await p2.configure(config([[10, 9, 1, 2, 24]]));
    // a listener on p2's stack, a program socket on p1 connecting to it
    p2.stack.listen(7, { handler: { onAcceptable: (l) => void l.accept() } });
    const c = await ControlClient.open(p1.endpoint.controlPath);
    const s = await c.socket();
    expect((await c.connect(s, p1.endpoint.dataPath, 0x0a090102, 7)).err).toBe(0);
    expect((await waitFd(s.fd, POLLOUT)) & POLLOUT).toBe(POLLOUT);
    await p1.close(); // leave
    expect((await waitFd(s.fd, POLLHUP)) & POLLHUP).toBe(POLLHUP);
    const until = Date.now() + 2000;
    while (!c.closed && Date.now() < until) await Bun.sleep(5);
    expect(c.closed).toBe(true);
    // the other home's endpoint is untouched
    const c2 = await ControlClient.open(p2.endpoint.controlPath);
    expect(c2.servicePid).toBe(process.pid);
    c2.close();
    unixClose(s.fd);
    await p2.close();
  });
});
