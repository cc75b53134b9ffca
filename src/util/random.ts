import { randomFillSync } from "node:crypto";

/**
 * Injected randomness. Production code uses the system CSPRNG; simulations use a seeded
 * generator so a failing seed can be replayed.
 */
export interface Rng {
  /** Fill buf[start, end) with random bytes. Must not allocate in steady state. */
  fill(buf: Uint8Array, start?: number, end?: number): void;
  /** A uniformly random unsigned 32-bit integer. */
  u32(): number;
}

const scratch = new Uint32Array(64);
let scratchLeft = 0;

export const systemRng: Rng = {
  fill(buf, start = 0, end = buf.length) {
    if (end > start) randomFillSync(buf, start, end - start);
  },
  u32() {
    if (scratchLeft === 0) {
      randomFillSync(scratch);
      scratchLeft = scratch.length;
    }
    return scratch[--scratchLeft]!;
  },
};

/** Deterministic xorshift128+ style generator for tests and simulations (NOT cryptographic). */
export class SeededRng implements Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  constructor(seed: number) {
    // splitmix32 expansion of the seed into four non-zero words
    let x = seed >>> 0;
    const next = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0 || 1;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }
  /** xoshiro128** */
  u32(): number {
    const r = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r;
  }
  fill(buf: Uint8Array, start = 0, end = buf.length): void {
    for (let i = start; i < end; i++) buf[i] = this.u32() & 0xff;
  }
  /** Uniform float in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
