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
import type { FrameReceiver } from "../stack/link.ts";
import type { MulticastGroup } from "../vl2/multicast-group.ts";
import type { NetworkPort, PortFactory } from "../vl2/port.ts";

// The seam's types are the network's (src/vl2/port.ts): VL2 must not depend on its consumers.
export { type NetworkPort, type PortConfig, PortError, type PortFactory, type PortFrameReceiver, type PortFrameSink } from "../vl2/port.ts";

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
