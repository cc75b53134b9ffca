/**
 * Opt-in per-stage CPU accounting for the datapath (`ZT_NC_STAGE_TIMING=1`), for
 * `npm run bench -- datapath`: each instrumented stage adds its wall-clock nanoseconds and one call.
 * The service is single-threaded, so wall time inside a synchronous stage is its CPU time (give or
 * take preemption). Stages nest (a received datagram's time includes its dearmor); the report says
 * which. Off by default: then every site costs one test of a constant.
 */
import { consola } from "consola";

const setting = process.env.ZT_NC_STAGE_TIMING;
if (setting !== undefined && setting !== "" && setting !== "0" && setting !== "1") {
  consola.warn(`ZT_NC_STAGE_TIMING=${setting}: expected 1 (on) or 0 (off); stage timing stays off`);
}
export const STAGE_TIMING = setting === "1";

/** The instrumented stages, in report order. */
export const STAGES = [
  /** One received UDP datagram, everything done synchronously for it (includes dearmor, frame, stack input, ACKs out). */
  "udp_receive",
  /** Decrypt and authenticate one packet. */
  "dearmor",
  /** Encrypt and MAC one packet. */
  "armor",
  /** One VL2 frame from a peer into its network (rules, then the port; includes stack input). */
  "vl2_frame",
  /** One Ethernet frame into the user-space stack (IP, TCP input, output it triggers). */
  "stack_input",
  /** One Ethernet frame out of the user-space stack into its network (VL2, then VL1: includes vl1_send). */
  "frame_out",
  /** One VL1 packet out: fragmenting, armor, queueing its datagrams (includes armor). */
  "vl1_send",
  /** One frame read from a kernel tap into its network (VL2, VL1: includes vl1_send). */
  "tap_read",
  /** One frame written to a kernel tap. */
  "tap_write",
  /** One chunk a program wrote, into TCP (includes the segments it sends, armored). */
  "program_read",
  /** One end-of-turn pass writing received data to programs. */
  "program_write",
  /** One batch of datagrams handed to the kernel (sendMany). */
  "udp_send",
  /** One timer pass of the node (VL1/VL2 housekeeping). */
  "node_timer",
  /** One timer pass of the TCP stack (retransmits, delayed ACKs). */
  "stack_timer",
] as const;
export type StageName = (typeof STAGES)[number];

const nanos = new Float64Array(STAGES.length);
const calls = new Float64Array(STAGES.length);

export const Stage: { readonly [K in StageName]: number } = Object.fromEntries(STAGES.map((s, i) => [s, i])) as { [K in StageName]: number };

/** The current time in ns, for the start of a stage (only call when STAGE_TIMING). */
export function stageStart(): number {
  return Bun.nanoseconds();
}

/** Close a stage opened at `t0` (only call when STAGE_TIMING). */
export function stageEnd(stage: number, t0: number): void {
  nanos[stage]! += Bun.nanoseconds() - t0;
  calls[stage]!++;
}

/** Totals so far: [stage, nanoseconds, calls]. */
export function stageTotals(): [StageName, number, number][] {
  return STAGES.map((s, i) => [s, nanos[i]!, calls[i]!]);
}
