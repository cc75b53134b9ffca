/**
 * A congestion controller owns cwnd and ssthresh (bytes). The connection tells it about ACKs,
 * the start and end of loss recovery, and retransmission timeouts; loss detection and what to
 * retransmit live in the connection (RFC 6675), not here.
 */
export interface CongestionControl {
  readonly name: "cubic" | "newreno";
  cwnd: number;
  ssthresh: number;
  /** `acked` bytes were newly acknowledged outside recovery. `srtt` in ms (0 if unknown). */
  onAck(acked: number, mss: number, now: number, srtt: number): void;
  /** Fast retransmit: loss detected by dupacks/SACK with `flight` bytes outstanding. */
  onEnterRecovery(flight: number, mss: number, now: number): void;
  /** Recovery ended by an ACK covering the recovery point. */
  onExitRecovery(mss: number, now: number): void;
  /** Retransmission timeout. */
  onRto(flight: number, mss: number, now: number): void;
  /** An RTT measurement (ms) from an ACK, for slow-start exit (HyStart++). */
  onRttSample(rttMs: number): void;
  /** A window's worth of data was acknowledged (a "round"). */
  onRoundEnd(): void;
}
