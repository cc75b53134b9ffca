import { HyStart } from "./hystart.ts";
import type { CongestionControl } from "./types.ts";

/** RFC 5681 slow start / congestion avoidance with the RFC 6582 recovery response. */
export class NewReno implements CongestionControl {
  readonly name = "newreno" as const;
  readonly lossBased = true;
  readonly pacingRate = 0;
  cwnd: number;
  ssthresh = Number.MAX_SAFE_INTEGER;
  /** Bytes acked toward the next +1 MSS in congestion avoidance. */
  private caAcked = 0;

  constructor(initialCwnd: number) {
    this.cwnd = initialCwnd;
  }

  onAck(acked: number, mss: number): void {
    if (this.cwnd < this.ssthresh) {
      // Slow start with appropriate byte counting (RFC 3465, L = 2*SMSS).
      this.cwnd += Math.min(acked, 2 * mss);
      return;
    }
    this.caAcked += acked;
    if (this.caAcked >= this.cwnd) {
      this.caAcked -= this.cwnd;
      this.cwnd += mss;
    }
  }

  onEnterRecovery(flight: number, mss: number): void {
    this.ssthresh = Math.max(flight >>> 1, 2 * mss);
    this.cwnd = this.ssthresh;
    this.caAcked = 0;
  }

  onExitRecovery(_mss: number, _now: number, afterRto: boolean): void {
    // after a timeout, slow start carries on from where the repair left it
    if (!afterRto) this.cwnd = this.ssthresh;
  }

  onDelivered(): void {}

  onAppLimited(): void {}

  onUndo(): void {}

  onRto(flight: number, mss: number): void {
    this.ssthresh = Math.max(flight >>> 1, 2 * mss);
    this.cwnd = mss;
    this.caAcked = 0;
  }

  private readonly hystart = new HyStart();

  onRttSample(rttMs: number): void {
    if (this.cwnd < this.ssthresh && this.hystart.sample(rttMs)) this.ssthresh = this.cwnd;
  }

  onRoundEnd(): void {
    this.hystart.roundEnd();
  }
}
