/**
 * The seam between a joined network (VL2) and whatever consumes its Ethernet frames: the netcon
 * user-space stack or a kernel tap. The network tells the port what it looks like (MAC, MTU,
 * managed addresses and routes) and hands it the frames members send us; the port hands the
 * network the frames its side sends and reports the multicast groups its side has joined.
 *
 * Buffers: frames the port gives the network (`PortFrameSink.sendFrame`) keep FRAME_HEADROOM free
 * bytes before the Ethernet header (src/stack/link.ts), so the network can build the ZeroTier
 * header in front without copying the frame first. Frames the network delivers
 * (`deliverFrame`) come with no headroom and are valid only during the call.
 */
import type { FrameReceiver, FrameSink } from "../stack/link.ts";
import type { InetAddress } from "../vl1/inet-address.ts";
import type { Mac } from "../vl2/mac.ts";
import type { MulticastGroup } from "../vl2/multicast-group.ts";
import type { Route } from "../vl2/network-config.ts";

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
  start(toNetwork: FrameSink): void;
  /** A frame from a member for the port side (no headroom; valid during the call). */
  readonly deliver: FrameReceiver;
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

/**
 * A port nobody consumes yet (the service without --tap until the netcon stack attaches): frames
 * delivered to it are counted and discarded.
 */
export class NullPort implements NetworkPort {
  readonly deviceName = "";
  discarded = 0;
  readonly deliver: FrameReceiver = { receiveFrame: () => void this.discarded++ };
  configure(): Promise<void> {
    return Promise.resolve();
  }
  start(): void {}
  multicastGroups(): MulticastGroup[] {
    return [];
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

export const nullPortFactory: PortFactory = { create: () => new NullPort() };
