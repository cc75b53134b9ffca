/**
 * HyStart++ delay-increase detection (RFC 9406 4.2, without the conservative-slow-start phase):
 * leave slow start when the smallest RTT of this round exceeds last round's by
 * clamp(lastMin / 8, 4 ms, 16 ms), i.e. when a queue starts building, instead of overshooting
 * until loss. Rounds are delimited by the connection (one window of data acknowledged).
 */
const N_RTT_SAMPLE = 8;
const MIN_ETA = 4;
const MAX_ETA = 16;

export class HyStart {
  private lastRoundMin = Infinity;
  private roundMin = Infinity;
  private samples = 0;
  /** Set once the delay increase was seen (the caller then sets ssthresh = cwnd). */
  found = false;

  sample(rttMs: number): boolean {
    if (this.found || !(rttMs >= 0)) return false;
    if (rttMs < this.roundMin) this.roundMin = rttMs;
    this.samples++;
    if (this.samples >= N_RTT_SAMPLE && this.lastRoundMin !== Infinity && this.roundMin !== Infinity) {
      const eta = Math.min(MAX_ETA, Math.max(MIN_ETA, this.lastRoundMin / 8));
      if (this.roundMin >= this.lastRoundMin + eta) {
        this.found = true;
        return true;
      }
    }
    return false;
  }

  roundEnd(): void {
    if (this.samples > 0) this.lastRoundMin = this.roundMin;
    this.roundMin = Infinity;
    this.samples = 0;
  }
}
