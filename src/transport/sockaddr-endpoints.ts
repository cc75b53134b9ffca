/**
 * Turns the sockaddr a datagram came from (as recvmmsg wrote it) into the InetAddress object
 * Node.onDatagram takes, without allocating per datagram: the same endpoint maps to the same
 * object. IPv4-mapped IPv6 (a dual-stack socket's IPv4 peers) becomes IPv4, as the node expects;
 * an IPv6 scope id is not part of the endpoint (as with the text Bun reports without its zone).
 * Bounded: past `max` endpoints it starts over (old objects stay valid; the node copies what it
 * keeps).
 */
import type { InetAddress } from "../vl1/inet-address.ts";

const AF_INET = 2;
const AF_INET6 = 10;

export class SockaddrEndpoints {
  /** IPv4 by ip * 65536 + port (exact in a double); IPv6 by a hash, then compared byte by byte. */
  private readonly v4 = new Map<number, InetAddress>();
  private readonly v6 = new Map<number, InetAddress[]>();
  private size = 0;
  private last: InetAddress | null = null;

  constructor(private readonly max = 4096) {}

  /** The endpoint of the sockaddr at b[at, at + len), or null when it is not IPv4 or IPv6. */
  get(b: Uint8Array, at: number, len: number): InetAddress | null {
    if (at < 0 || len < 16 || at + len > b.length) return null;
    const family = b[at]! | (b[at + 1]! << 8); // host byte order: little-endian on x64/arm64
    const port = (b[at + 2]! << 8) | b[at + 3]!;
    if (family === AF_INET) return this.ipv4(b, at + 4, port);
    if (family !== AF_INET6 || len < 24) return null;
    const ip = at + 8;
    let mapped = true;
    for (let k = 0; k < 10 && mapped; k++) mapped = b[ip + k] === 0;
    if (mapped && b[ip + 10] === 0xff && b[ip + 11] === 0xff) return this.ipv4(b, ip + 12, port);
    return this.ipv6(b, ip, port);
  }

  private ipv4(b: Uint8Array, ip: number, port: number): InetAddress {
    const last = this.last;
    if (last !== null && last.family === 4 && last.port === port) {
      const l = last.ip;
      if (l[0] === b[ip] && l[1] === b[ip + 1] && l[2] === b[ip + 2] && l[3] === b[ip + 3]) return last;
    }
    const key = (((b[ip]! << 24) | (b[ip + 1]! << 16) | (b[ip + 2]! << 8) | b[ip + 3]!) >>> 0) * 65536 + port;
    let addr = this.v4.get(key);
    if (addr === undefined) {
      this.makeRoom();
      addr = { family: 4, ip: b.slice(ip, ip + 4), port };
      this.v4.set(key, addr);
      this.size++;
    }
    this.last = addr;
    return addr;
  }

  private ipv6(b: Uint8Array, ip: number, port: number): InetAddress {
    const last = this.last;
    if (last !== null && last.family === 6 && last.port === port && sameIp(last.ip, b, ip)) return last;
    let h = 0x811c9dc5;
    for (let k = 0; k < 16; k++) h = Math.imul(h ^ b[ip + k]!, 0x01000193);
    const key = (h >>> 0) * 65536 + port;
    let list = this.v6.get(key);
    if (list !== undefined) {
      for (const a of list) {
        if (sameIp(a.ip, b, ip)) {
          this.last = a;
          return a;
        }
      }
    }
    this.makeRoom();
    if (list === undefined || this.size === 0) {
      list = [];
      this.v6.set(key, list);
    }
    const addr: InetAddress = { family: 6, ip: b.slice(ip, ip + 16), port };
    list.push(addr);
    this.size++;
    this.last = addr;
    return addr;
  }

  private makeRoom(): void {
    if (this.size < this.max) return;
    this.v4.clear();
    this.v6.clear();
    this.size = 0;
  }
}

function sameIp(a: Uint8Array, b: Uint8Array, at: number): boolean {
  for (let k = 0; k < 16; k++) if (a[k] !== b[at + k]) return false;
  return true;
}
