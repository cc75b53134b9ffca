/**
 * sendmmsg and recvmmsg through bun:ffi on a UDP socket's fd: a whole batch of datagrams in one
 * call from or into preallocated memory. Bun's sendMany takes an array of (data, port, address
 * text) and parses the text per datagram (`bench -- datapath`: about 2 µs per datagram); its
 * receive makes a buffer, an address string and a flags object per datagram (`bench --
 * udp-receive`: ≈2.2 µs against ≈1.1 for RecvBatch). When to receive is told by
 * ffi/readiness-doorbell.ts.
 *
 * Linux only, 64-bit little-endian (x64, arm64): the struct layouts below are those of that ABI.
 * Memory safety: the batch's native structures live in one ArrayBuffer allocated once (never
 * resized or transferred, so its address is stable); every pointer written into them is computed
 * here from offsets inside that buffer, and every datagram is copied into a fixed-size slot after
 * a length check.
 */
import { type Pointer, ptr } from "bun:ffi";
import { errno, libcSymbols } from "./libc.ts";
import { copyBytes } from "./copy-bytes.ts";

export const AF_INET = 2;
export const AF_INET6 = 10;
const MSG_DONTWAIT = 0x40;
const MSG_TRUNC = 0x20;
const MSG_ERRQUEUE = 0x2000;
const EAGAIN = 11;
const EINTR = 4;

/** sizeof(struct sockaddr_in6); sockaddr_in (16) fits in it. */
export const SOCKADDR_BYTES = 28;
/** sizeof(struct mmsghdr) and sizeof(struct iovec) on 64-bit Linux. */
export const MMSGHDR_BYTES = 64;
export const IOVEC_BYTES = 16;

/** Whether this machine can use these bindings (else the transport falls back to Bun's sockets). */
export function ffiUdpSupported(): boolean {
  if (process.platform !== "linux" || (process.arch !== "x64" && process.arch !== "arm64")) return false;
  try {
    libcSymbols();
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- sockaddr

/** An endpoint as the node holds it (vl1's InetAddress). */
export interface Endpoint {
  readonly family: 4 | 6;
  readonly ip: Uint8Array;
  readonly port: number;
}

/**
 * Write the sockaddr by which a socket of `socketFamily` (AF_INET, or AF_INET6 also for dual-stack)
 * reaches `to` into out[0, 28); returns its length, or 0 when such a socket cannot reach it. IPv4
 * on an AF_INET6 socket becomes ::ffff:a.b.c.d.
 */
export function encodeSockaddr(out: Uint8Array, socketFamily: number, to: Endpoint): number {
  if (out.length < SOCKADDR_BYTES || !Number.isInteger(to.port) || to.port < 0 || to.port > 65535) return 0;
  if (to.ip.length !== (to.family === 4 ? 4 : 16)) return 0;
  out.fill(0, 0, SOCKADDR_BYTES);
  out[2] = to.port >> 8;
  out[3] = to.port & 0xff;
  if (socketFamily === AF_INET) {
    if (to.family !== 4) return 0;
    out[0] = AF_INET; // sa_family is a host-endian u16: little-endian here
    out.set(to.ip, 4);
    return 16;
  }
  out[0] = AF_INET6;
  if (to.family === 4) {
    out[18] = out[19] = 0xff;
    out.set(to.ip, 20);
  } else out.set(to.ip, 8);
  return SOCKADDR_BYTES;
}

// ---------------------------------------------------------------- send batches

/**
 * The memory of a batch of `capacity` datagrams, as both sendmmsg and recvmmsg take it: the
 * mmsghdr array, one iovec each, a 32-byte sockaddr room each, then the `slotBytes` slots. Each
 * header points at its sockaddr and iovec, each iovec at its slot (its length is the caller's).
 */
abstract class MmsgLayout {
  /** All of it: headers, iovecs, names and slots. */
  readonly bytes: Uint8Array;
  protected readonly words: DataView;
  protected readonly base: number;
  protected readonly iovOff: number;
  protected readonly nameOff: number;
  protected readonly dataOff: number;

  constructor(
    readonly capacity: number,
    readonly slotBytes: number,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1024) throw new RangeError(`capacity ${capacity}`);
    if (!Number.isInteger(slotBytes) || slotBytes < 1 || slotBytes > 65536) throw new RangeError(`slotBytes ${slotBytes}`);
    this.iovOff = capacity * MMSGHDR_BYTES;
    this.nameOff = this.iovOff + capacity * IOVEC_BYTES;
    this.dataOff = this.nameOff + capacity * 32;
    this.bytes = new Uint8Array(new ArrayBuffer(this.dataOff + capacity * slotBytes));
    this.words = new DataView(this.bytes.buffer);
    this.base = ptr(this.bytes) as number;
    const w = this.words;
    for (let i = 0; i < capacity; i++) {
      const h = i * MMSGHDR_BYTES;
      w.setBigUint64(h, BigInt(this.base + this.nameOff + i * 32), true); // msg_name
      w.setBigUint64(h + 16, BigInt(this.base + this.iovOff + i * IOVEC_BYTES), true); // msg_iov
      w.setBigUint64(h + 24, 1n, true); // msg_iovlen
      w.setBigUint64(this.iovOff + i * IOVEC_BYTES, BigInt(this.base + this.dataOff + i * slotBytes), true); // iov_base
    }
  }
}

/**
 * Datagrams queued for one sendmmsg: `capacity` slots of `slotBytes`, each with its sockaddr,
 * iovec and mmsghdr prepared once. add() copies the bytes (the caller may reuse its buffer at
 * once); send() hands them all to the kernel in one call.
 */
export class SendBatch extends MmsgLayout {
  count = 0;

  /** Queue a copy of data[start, end) to the sockaddr in addr[0, addrLen); false when full or too long. */
  add(data: Uint8Array, start: number, end: number, addr: Uint8Array, addrLen: number): boolean {
    const len = end - start;
    const i = this.count;
    if (i >= this.capacity || len <= 0 || len > this.slotBytes || start < 0 || end > data.length || addrLen <= 0 || addrLen > SOCKADDR_BYTES || addrLen > addr.length) return false;
    const bytes = this.bytes;
    copyBytes(bytes, this.dataOff + i * this.slotBytes, data, start, end);
    const a = this.nameOff + i * 32;
    for (let k = 0; k < addrLen; k++) bytes[a + k] = addr[k]!;
    const h = i * MMSGHDR_BYTES;
    this.words.setUint32(h + 8, addrLen, true); // msg_namelen
    this.words.setUint32(this.iovOff + i * IOVEC_BYTES + 8, len, true); // iov_len (low half; high half stays 0)
    this.count = i + 1;
    return true;
  }

  /** sendmmsg everything queued; returns how many the kernel took (the others are lost, as on a busy wire). */
  send(fd: number): number {
    const n = this.count;
    if (n === 0) return 0;
    this.count = 0;
    let i = 0;
    let ok = 0;
    // sendmmsg stops at the first datagram that fails: skip that one and go on; a full socket
    // buffer (EAGAIN) drops the rest of the batch.
    while (i < n) {
      const r = libcSymbols().sendmmsg(fd, (this.base + i * MMSGHDR_BYTES) as Pointer, n - i, MSG_DONTWAIT);
      if (r > 0) {
        i += r;
        ok += r;
        continue;
      }
      const e = errno();
      if (e === EINTR) continue;
      if (e === EAGAIN) break;
      i++;
    }
    return ok;
  }
}

// ---------------------------------------------------------------- receive batches

/**
 * Up to `capacity` datagrams per recvmmsg, each into its own slot of `slotBytes` with room for the
 * sender's sockaddr; the headers are prepared once. After receive() returns n > 0, datagram i < n
 * is bytes[start(i), start(i) + length(i)), from the sockaddr at bytes[nameStart(i), +nameLength(i)).
 * The next receive() overwrites them all: consumers must copy what they keep.
 */
export class RecvBatch extends MmsgLayout {
  constructor(capacity: number, slotBytes: number) {
    super(capacity, slotBytes);
    for (let i = 0; i < capacity; i++) {
      this.words.setBigUint64(this.iovOff + i * IOVEC_BYTES + 8, BigInt(slotBytes), true); // iov_len
      this.words.setUint32(i * MMSGHDR_BYTES + 8, SOCKADDR_BYTES, true); // msg_namelen
    }
  }

  /** Headers whose msg_namelen the kernel rewrote in the last receive (the first n). */
  private used = 0;

  /** Receive what is queued, without waiting: how many datagrams (0 when none), or -errno. */
  receive(fd: number): number {
    const w = this.words;
    // The kernel wrote each received name's real length back: give those headers the full room again.
    for (let i = 0; i < this.used; i++) w.setUint32(i * MMSGHDR_BYTES + 8, SOCKADDR_BYTES, true);
    this.used = 0;
    for (;;) {
      const r = libcSymbols().recvmmsg(fd, this.base as Pointer, this.capacity, MSG_DONTWAIT, null);
      if (r >= 0) {
        this.used = r;
        return r;
      }
      const e = errno();
      if (e === EINTR) continue;
      return e === EAGAIN ? 0 : -e;
    }
  }

  /**
   * Empty the socket's error queue (ICMP errors queued under IP_RECVERR): it keeps the socket
   * reporting POLLERR, which would ring the doorbell forever. Returns how many entries it held.
   */
  discardErrors(fd: number): number {
    let total = 0;
    for (let turn = 0; turn < 16; turn++) {
      const r = libcSymbols().recvmmsg(fd, this.base as Pointer, this.capacity, MSG_DONTWAIT | MSG_ERRQUEUE, null);
      if (r <= 0) break;
      if (r > this.used) this.used = r; // their name lengths were rewritten too
      total += r;
    }
    return total;
  }

  start(i: number): number {
    return this.dataOff + i * this.slotBytes;
  }

  /** Bytes of datagram i in its slot (at most slotBytes). */
  length(i: number): number {
    return Math.min(this.words.getUint32(i * MMSGHDR_BYTES + 56, true), this.slotBytes);
  }

  /** Whether datagram i was longer than its slot (and so cut). */
  truncated(i: number): boolean {
    return (this.words.getInt32(i * MMSGHDR_BYTES + 48, true) & MSG_TRUNC) !== 0;
  }

  nameStart(i: number): number {
    return this.nameOff + i * 32;
  }

  nameLength(i: number): number {
    return Math.min(this.words.getUint32(i * MMSGHDR_BYTES + 8, true), SOCKADDR_BYTES);
  }
}
