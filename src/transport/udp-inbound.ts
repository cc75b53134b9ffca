/**
 * The "recvmmsg" receive path of a UDP socket (src/transport/udp.ts): whenever its io_uring
 * doorbell rings, drain the socket with recvmmsg into preallocated slots and hand each datagram
 * on in place, with its sender as a cached endpoint object. Nothing is allocated per datagram.
 */
import { consola } from "consola";
import { ReadinessDoorbell } from "../../ffi/readiness-doorbell.ts";
import { RecvBatch } from "../../ffi/udp.ts";
import { Stage, STAGE_TIMING, stageEnd, stageStart } from "../util/stage-timing.ts";
import type { InetAddress } from "../vl1/inet-address.ts";
import { SockaddrEndpoints } from "./sockaddr-endpoints.ts";

/** One received datagram: data[start, end) from `from` (the same object for the same endpoint). */
export type DatagramHandler = (data: Uint8Array, start: number, end: number, from: InetAddress) => void;

/** Datagrams per recvmmsg, and batches per doorbell ring before other events get a turn. */
const RECV_BATCH = 64;
const RECV_ROUNDS_PER_RING = 8;

/** Where the counters go (the transport). */
export interface InboundOwner {
  readonly receiveStats: ReceiveStats;
  socketErrors: number;
}

/** Counters of the "recvmmsg" receive path (the doorbell's are in its stats). */
export interface ReceiveStats {
  /** recvmmsg calls and the datagrams they returned. */
  calls: number;
  datagrams: number;
  /** Datagrams longer than a slot (cut by the kernel), dropped. */
  truncated: number;
  /** Datagrams from something other than IPv4 or IPv6, dropped. */
  badSource: number;
  /** Exceptions thrown by the datagram handler (a bug): counted, the rest of the batch goes on. */
  handlerErrors: number;
}

/** Reads one socket with recvmmsg whenever its doorbell rings. */
export class Inbound {
  private readonly batch: RecvBatch;
  private readonly endpoints = new SockaddrEndpoints();
  private doorbell: ReadinessDoorbell | null = null;
  private closed = false;

  constructor(
    private readonly fd: number,
    /** Largest datagram kept; a longer one is counted as truncated and dropped. */
    slotBytes: number,
    private readonly onDatagram: DatagramHandler,
    private readonly owner: InboundOwner,
  ) {
    this.batch = new RecvBatch(RECV_BATCH, slotBytes);
  }

  /** Start ringing; the reason instead when this machine cannot. */
  async open(): Promise<string | null> {
    const d = await ReadinessDoorbell.open(
      this.fd,
      () => this.drain(),
      () => void this.reopen(),
    );
    if (typeof d === "string") return d;
    if (this.closed) d.close();
    else this.doorbell = d;
    return null;
  }

  /** The doorbell died (its socket closed under it): ring a new one. */
  private async reopen(): Promise<void> {
    this.doorbell = null;
    if (this.closed) return;
    const why = await this.open();
    if (why !== null) consola.error(`UDP: no new doorbell (${why}); datagrams on this socket are no longer received`);
  }

  get doorbellStats() {
    return this.doorbell?.stats ?? null;
  }

  /** Receive and hand on what is queued, up to RECV_ROUNDS_PER_RING batches (then the doorbell rings again). */
  drain(): void {
    const b = this.batch;
    const bytes = b.bytes;
    const st = this.owner.receiveStats;
    for (let round = 0; round < RECV_ROUNDS_PER_RING; round++) {
      if (this.closed) return;
      const n = b.receive(this.fd);
      st.calls++;
      if (n < 0) {
        this.owner.socketErrors++;
        return;
      }
      st.datagrams += n;
      // Rung with nothing to read: an error is pending (the poll reports POLLERR until the
      // error queue is empty), so empty it rather than be rung again at once.
      if (n === 0 && round === 0) this.owner.socketErrors += b.discardErrors(this.fd);
      let batchBytes = 0;
      for (let i = 0; i < n && !this.closed; i++) {
        const t0 = STAGE_TIMING ? stageStart() : 0;
        const len = b.length(i);
        batchBytes += len;
        if (b.truncated(i)) {
          st.truncated++;
          continue;
        }
        const from = this.endpoints.get(bytes, b.nameStart(i), b.nameLength(i));
        if (from === null) {
          st.badSource++;
          continue;
        }
        const start = b.start(i);
        try {
          this.onDatagram(bytes, start, start + len, from);
        } catch (e) {
          if (st.handlerErrors++ < 3) consola.error(`UDP: datagram handler failed: ${(e as Error).stack ?? e}`);
        }
        if (STAGE_TIMING) stageEnd(Stage.udp_receive, t0);
      }
      this.doorbell?.noteBatch(batchBytes);
      if (n < b.capacity) return;
    }
  }

  close(): void {
    this.closed = true;
    this.doorbell?.close();
    this.doorbell = null;
  }
}
