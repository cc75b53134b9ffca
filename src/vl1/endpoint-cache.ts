/**
 * Turns the (address text, port) pairs a UDP socket reports into InetAddress objects for
 * Node.onDatagram without allocating per datagram: the same remote endpoint maps to the same
 * object. Bounded: when it holds more than `max` endpoints it starts over (old objects stay valid;
 * the node copies addresses it keeps).
 */

import { type InetAddress, parseIpv4, parseIpv6 } from "./inet-address.ts";

export class EndpointCache {
  private readonly byIp = new Map<string, Map<number, InetAddress>>();
  private size = 0;
  /** The last answer: a bulk transfer's datagrams come from one endpoint, and comparing a short
   * string is cheaper than hashing it for two map lookups. */
  private lastIp = "";
  private lastPort = -1;
  private lastAddr: InetAddress | null = null;

  constructor(private readonly max = 4096) {}

  /** The endpoint for this IP text and port, or null if the text is not an IP address. */
  get(ip: string, port: number): InetAddress | null {
    if (port === this.lastPort && ip === this.lastIp) return this.lastAddr;
    const addr = this.lookup(ip, port);
    if (addr !== null) {
      this.lastIp = ip;
      this.lastPort = port;
      this.lastAddr = addr;
    }
    return addr;
  }

  private lookup(ip: string, port: number): InetAddress | null {
    let ports = this.byIp.get(ip);
    const hit = ports?.get(port);
    if (hit !== undefined) return hit;
    const v6 = ip.includes(":");
    // Sockets report IPv4-mapped IPv6 for v4 peers on dual-stack sockets; keep them IPv4.
    const mapped = v6 && ip.startsWith("::ffff:") && ip.includes(".");
    const bytes = mapped ? parseIpv4(ip.slice(7)) : v6 ? parseIpv6(stripZone(ip)) : parseIpv4(ip);
    if (bytes === null) return null;
    if (this.size >= this.max) {
      this.byIp.clear();
      this.size = 0;
      ports = undefined;
    }
    const addr: InetAddress = bytes.length === 4 ? { family: 4, ip: bytes, port } : { family: 6, ip: bytes, port };
    if (ports === undefined) {
      ports = new Map();
      this.byIp.set(ip, ports);
    }
    ports.set(port, addr);
    this.size++;
    return addr;
  }
}

function stripZone(ip: string): string {
  const i = ip.indexOf("%");
  return i < 0 ? ip : ip.slice(0, i);
}
