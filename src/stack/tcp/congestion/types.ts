/** The congestion controls the stack has (Linux's names for them: "reno" is NewReno there). */
export type CongestionName = "cubic" | "newreno" | "bbr";

/**
 * Pacing bursts (the connection's token bucket, snd.ts): a send may run this many ms ahead of the
 * control's rate. The event loop's timers fire a millisecond or so late; a smaller budget would
 * lose rate to timer slack. BBR sizes its send quantum by it.
 */
export const PACE_BURST_MS = 2;

/**
 * A congestion controller owns cwnd and ssthresh (bytes), and the pacing rate. The connection
 * tells it about ACKs, deliveries, the start and end of loss recovery, and retransmission
 * timeouts; loss detection and what to retransmit live in the connection (RFC 6675), not here.
 */
export interface CongestionControl {
  readonly name: CongestionName;
  /**
   * Whether losses cut the window (CUBIC, NewReno: the connection paces the cut with PRR,
   * RFC 6937) or the control sets the window itself in recovery too (BBR).
   */
  readonly lossBased: boolean;
  cwnd: number;
  ssthresh: number;
  /** Bytes per ms the connection paces its data at, or 0: send as the window allows. */
  pacingRate: number;
  /** `acked` bytes were newly acknowledged outside recovery. `srtt` in ms (0 if unknown). */
  onAck(acked: number, mss: number, now: number, srtt: number): void;
  /**
   * Model-based controls only: every ACK that delivered data (cumulatively or by SACK, in or out
   * of recovery), after loss detection; `lost`: bytes this ACK showed lost; `inflight` is the
   * RFC 6675 pipe; `roundEnd` when data sent after the last round end was delivered.
   */
  onDelivered(acked: number, lost: number, inflight: number, mss: number, now: number, roundEnd: boolean): void;
  /** The window had room but the application had nothing to send. */
  onAppLimited(): void;
  /** Fast retransmit: loss detected by dupacks/SACK with `flight` bytes outstanding, `inflight` in the pipe. */
  onEnterRecovery(flight: number, mss: number, now: number, inflight: number): void;
  /** Recovery ended by an ACK covering the recovery point (`afterRto`: the recovery a timeout began). */
  onExitRecovery(mss: number, now: number, afterRto: boolean): void;
  /** The last recovery or timeout was spurious (Eifel, D-SACK): it is over; the connection then restores cwnd. */
  onUndo(): void;
  /** Retransmission timeout. */
  onRto(flight: number, mss: number, now: number): void;
  /**
   * An RTT measurement (ms) from an ACK. `precise`: timed with the clock (Karn's segment), not a
   * timestamp echo with whole-ms ticks.
   */
  onRttSample(rttMs: number, precise: boolean, now: number): void;
  /** Loss-based controls only: a window's worth of data was acknowledged (a "round"). */
  onRoundEnd(): void;
}
