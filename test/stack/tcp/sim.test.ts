import { describe, expect, test } from "bun:test";
import { transfer } from "./sim-transfer.ts";
import type { Faults } from "./sim-link.ts";

const profiles: [string, Faults][] = [
  ["clean", { delayMs: 5 }],
  ["loss 1%", { loss: 0.01, delayMs: 10 }],
  ["loss 5%", { loss: 0.05, delayMs: 10 }],
  ["loss 15%", { loss: 0.15, delayMs: 3 }],
  ["reorder", { reorder: 0.25, reorderDelayMs: 20, delayMs: 5 }],
  ["duplicate", { duplicate: 0.2, delayMs: 5 }],
  ["delay 50ms", { delayMs: 50 }],
  ["everything", { loss: 0.05, duplicate: 0.05, reorder: 0.1, reorderDelayMs: 30, delayMs: 25 }],
  ["bottleneck", { delayMs: 20, rateBytesPerMs: 2000, queueBytes: 60_000 }],
];

describe("simulated transfers over a faulty IP link (hash compare)", () => {
  for (const [name, faults] of profiles) {
    for (const cc of ["cubic", "newreno"] as const) {
      for (const sack of [true, false]) {
        test(`${name}, ${cc}, sack=${sack}, 8 seeds`, () => {
          for (let seed = 1; seed <= 8; seed++) {
            const r = transfer(seed * 101 + name.length, faults, 200_000, 60_000, { congestion: cc, sack });
            expect({ seed, ok: r.ok }).toEqual({ seed, ok: true });
            expect(r.receivedHash).toBe(r.sentHash);
            expect(r.backHash).toBe(r.backSentHash!);
          }
        });
      }
    }
  }

  test("sequence numbers wrap around 2^32 mid-transfer (both directions)", () => {
    for (let seed = 1; seed <= 4; seed++) {
      const r = transfer(seed, { loss: 0.03, reorder: 0.1, delayMs: 5 }, 300_000, 300_000, {
        issFn: () => 0xffffffff - 100_000,
      });
      expect(r.ok).toBe(true);
      expect(r.receivedHash).toBe(r.sentHash);
      expect(r.backHash).toBe(r.backSentHash!);
    }
  });

  test("MTU 2800 with loss: segments fill the larger MSS", () => {
    const r = transfer(7, { loss: 0.02, delayMs: 5, mtu: 2800 }, 500_000, 10_000);
    expect(r.ok).toBe(true);
    expect(r.receivedHash).toBe(r.sentHash);
  });

  test("no window scaling / timestamps / SACK at all", () => {
    const r = transfer(9, { loss: 0.03, delayMs: 5 }, 300_000, 30_000, { windowScaling: false, timestamps: false, sack: false });
    expect(r.ok).toBe(true);
    expect(r.receivedHash).toBe(r.sentHash);
  });

  test("small buffers (4 KB) force zero windows and persist probing", () => {
    const r = transfer(11, { loss: 0.02, delayMs: 5 }, 100_000, 20_000, { recvBufferSize: 4096, sendBufferSize: 4096 });
    expect(r.ok).toBe(true);
    expect(r.receivedHash).toBe(r.sentHash);
  });

  test("CUBIC vs NewReno sanity on a long fat lossy path: both intact, CUBIC not slower", () => {
    let cubicMs = 0;
    let renoMs = 0;
    for (let seed = 1; seed <= 3; seed++) {
      const f: Faults = { loss: 0.002, delayMs: 40, rateBytesPerMs: 12_500, queueBytes: 400_000 };
      const big = { recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 };
      const c = transfer(seed, f, 8 << 20, 0, { congestion: "cubic", ...big });
      const n = transfer(seed, f, 8 << 20, 0, { congestion: "newreno", ...big });
      expect(c.ok && n.ok).toBe(true);
      expect(c.receivedHash).toBe(c.sentHash);
      expect(n.receivedHash).toBe(n.sentHash);
      cubicMs += c.simMs;
      renoMs += n.simMs;
    }
    expect(cubicMs).toBeLessThanOrEqual(renoMs * 1.05);
  });
});
