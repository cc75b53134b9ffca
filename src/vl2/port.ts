/**
 * What a joined network needs from whatever consumes its Ethernet frames (the netcon user-space
 * stack or a kernel tap, in src/port and src/netcon): defined here, on the network's side, so that
 * VL2 depends on no consumer. src/port/port.ts re-exports these and documents the seam.
 *
 * Buffers: frames the port gives the network (`PortFrameSink.sendFrame`) keep FRAME_HEADROOM
 * (src/stack/link.ts) free bytes before the Ethernet header, so the network can build the ZeroTier
 * header in front without copying the frame first. Frames the network delivers (`deliver`) come
 * with no headroom and are valid only during the call.
 */
import type { InetAddress } from "../vl1/inet-address.ts";
import type { Mac } from "./mac.ts";
import type { MulticastGroup } from "./multicast-group.ts";
import type { Route } from "./network-config.ts";

/** Frames from the port side to the network: buf[start, end) from the Ethernet header. */
export interface PortFrameSink {
  sendFrame(buf: Uint8Array, start: number, end: number): void;
}

/** Frames from the network to the port side: buf[start, end), valid only during the call. */
export interface PortFrameReceiver {
  receiveFrame(buf: Uint8Array, start: number, end: number): void;
}

/** What the network wants the port to look like (already filtered by the local settings). */
export interface PortConfig {
  readonly mac: Mac;
  /** Largest Ethernet payload (the network's virtual MTU). */
  readonly mtu: number;
  /** Managed addresses (prefix length in `port`). */
  readonly addresses: readonly InetAddress[];
  readonly routes: readonly Route[];
}

export interface NetworkPort {
  /** Interface name for the API's portDeviceName ("" for ports without one). */
  readonly deviceName: string;
  /** Apply MAC, MTU, addresses and routes. Idempotent; later calls apply the difference. */
  configure(c: PortConfig): Promise<void>;
  /** Start handing the port side's frames to the network (frames with FRAME_HEADROOM before them). */
  start(toNetwork: PortFrameSink): void;
  /** A frame from a member for the port side (no headroom; valid during the call). */
  readonly deliver: PortFrameReceiver;
  /** Multicast groups the port side has joined (ADI 0), beyond the address-resolution groups. */
  multicastGroups(): MulticastGroup[];
  /** Remove the port (tap deleted, addresses and routes gone). */
  close(): Promise<void>;
}

/** Makes a port for a network; throws PortError when it cannot (no root for a tap, …). */
export interface PortFactory {
  create(nwid: bigint, mac: Mac, mtu: number): NetworkPort;
}

/** Why a port could not be created or configured (network status PORT_ERROR). */
export class PortError extends Error {
  constructor(
    message: string,
    /** errno-like code reported in the API's portError field. */
    readonly code = -1,
  ) {
    super(message);
  }
}
