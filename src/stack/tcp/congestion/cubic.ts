import { HyStart } from "./hystart.ts";
import type { CongestionControl } from "./types.ts";

const C = 0.4;
const BETA = 0.7;
/** RFC 9438 4.3: AIMD increase that makes CUBIC as aggressive as Reno in the Reno-friendly region. */
const ALPHA = (3 * (1 - BETA)) / (1 + BETA);

/** CUBIC (RFC 9438) with fast convergence; windows tracked in segments internally. */
export class Cubic implements CongestionControl {
  readonly name = "cubic" as const;
  readonly lossBased = true;
  readonly pacingRate = 0;
  cwnd: number;
  ssthresh = Number.MAX_SAFE_INTEGER;
  /** Window (segments) before the last reduction. */
  wMax = 0;
  private wLastMax = 0;
  /** Start of the current congestion-avoidance epoch in ms, or -1. */
  private epochStart = -1;
  private k = 0;
  /** Reno-friendly estimate in segments. */
  private wEst = 0;

  constructor(initialCwnd: number) {
    this.cwnd = initialCwnd;
  }

  onAck(acked: number, mss: number, now: number, srtt: number): void {
    if (this.cwnd < this.ssthresh) {
      this.cwnd += Math.min(acked, 2 * mss);
      return;
    }
    const cwndSeg = this.cwnd / mss;
    if (this.epochStart < 0) {
      this.epochStart = now;
      if (cwndSeg < this.wMax) {
        this.k = Math.cbrt((this.wMax - cwndSeg) / C);
      } else {
        this.k = 0;
        this.wMax = cwndSeg;
      }
      this.wEst = cwndSeg;
    }
    const t = (now - this.epochStart + srtt) / 1000;
    const wCubic = C * (t - this.k) ** 3 + this.wMax;
    this.wEst += (ALPHA * (acked / mss)) / cwndSeg;
    let target: number;
    if (wCubic < this.wEst) {
      target = this.wEst; // Reno-friendly region
    } else {
      target = Math.min(Math.max(wCubic, cwndSeg), 1.5 * cwndSeg);
    }
    const inc = ((target - cwndSeg) / cwndSeg) * (acked / mss);
    if (inc > 0) this.cwnd += inc * mss;
  }

  private reduce(mss: number): void {
    const cwndSeg = this.cwnd / mss;
    // Fast convergence (RFC 9438 4.7): release bandwidth to newer flows.
    this.wMax = cwndSeg < this.wLastMax ? (cwndSeg * (1 + BETA)) / 2 : cwndSeg;
    this.wLastMax = cwndSeg;
    this.ssthresh = Math.max(Math.floor(this.cwnd * BETA), 2 * mss);
    this.epochStart = -1;
  }

  onEnterRecovery(_flight: number, mss: number): void {
    this.reduce(mss);
    this.cwnd = this.ssthresh;
  }

  onExitRecovery(_mss: number, _now: number, afterRto: boolean): void {
    // after a timeout, slow start carries on from where the repair left it
    if (!afterRto) this.cwnd = this.ssthresh;
  }

  onDelivered(): void {}

  onAppLimited(): void {}

  onUndo(): void {}

  onRto(_flight: number, mss: number): void {
    this.reduce(mss);
    this.cwnd = mss;
  }

  private readonly hystart = new HyStart();

  onRttSample(rttMs: number): void {
    if (this.cwnd < this.ssthresh && this.hystart.sample(rttMs)) this.ssthresh = this.cwnd;
  }

  onRoundEnd(): void {
    this.hystart.roundEnd();
  }
}
