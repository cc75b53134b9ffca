/** Retransmission timeout estimator (RFC 6298) with exponential backoff. */
export class RtoEstimator {
  srtt = 0;
  rttvar = 0;
  rto: number;
  /** Consecutive timeouts; the RTO used is rto << backoff (capped). */
  backoff = 0;
  private hasSample = false;

  constructor(
    private readonly minRto: number,
    private readonly maxRto: number,
    initialRto: number,
  ) {
    this.rto = initialRto;
  }

  /** Add an RTT measurement in ms (RFC 6298 2.2/2.3). */
  sample(rtt: number): void {
    if (rtt < 0) return;
    if (!this.hasSample) {
      this.srtt = rtt;
      this.rttvar = rtt / 2;
      this.hasSample = true;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - rtt);
      this.srtt = 0.875 * this.srtt + 0.125 * rtt;
    }
    // G (clock granularity) is 1 ms here.
    this.rto = Math.min(this.maxRto, Math.max(this.minRto, this.srtt + Math.max(1, 4 * this.rttvar)));
    this.backoff = 0;
  }

  /** Current timeout including backoff. */
  current(): number {
    return Math.min(this.maxRto, this.rto * 2 ** this.backoff);
  }

  /** A retransmission timer fired (RFC 6298 5.5). */
  onTimeout(): void {
    if (this.current() < this.maxRto) this.backoff++;
  }

  get measured(): boolean {
    return this.hasSample;
  }
}
