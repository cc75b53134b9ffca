import { describe, expect, test } from "bun:test";
import { SeededRng } from "../../../src/util/random.ts";
import { emitTcpSegment, TcpHeaderFields } from "../../../src/stack/wire/tcp.ts";
import { TRANSPORT_HEADROOM } from "../../../src/stack/link.ts";
import { ACK, bytes, establishActive, inject, PEER, PEER_ISS, rig, US } from "./harness.ts";

describe("robustness: random and malformed segments never throw", () => {
  test("20,000 random segments (valid checksums) against a listener and live connections", () => {
    const r = rig();
    const s = establishActive(r, { sack: true, ts: true, wscale: 7 });
    r.tcp.listen(80);
    const rng = new SeededRng(77);
    const buf = new Uint8Array(TRANSPORT_HEADROOM + 2000);
    const h = new TcpHeaderFields();
    for (let i = 0; i < 20_000; i++) {
      h.reset();
      h.srcPort = rng.u32() % 3 === 0 ? 80 : 4000 + (rng.u32() % 4);
      h.dstPort = rng.u32() % 2 === 0 ? 4000 : 80;
      // sequence numbers near the live ones half of the time
      h.seq = rng.u32() % 2 === 0 ? (PEER_ISS + 1 + (rng.u32() % 20000) - 10000) >>> 0 : rng.u32();
      h.ack = rng.u32() % 2 === 0 ? (1001 + (rng.u32() % 4000) - 2000) >>> 0 : rng.u32();
      h.flags = rng.u32() & 0xff;
      h.window = rng.u32() & 0xffff;
      if (rng.u32() % 4 === 0) h.mss = rng.u32() & 0xffff;
      if (rng.u32() % 4 === 0) h.wscale = rng.u32() % 20;
      if (rng.u32() % 4 === 0) {
        h.hasTimestamp = true;
        h.tsVal = rng.u32();
        h.tsEcr = rng.u32();
      }
      if (rng.u32() % 4 === 0) {
        h.sackCount = 1 + (rng.u32() % 3);
        for (let k = 0; k < h.sackCount; k++) {
          h.sackLeft[k] = rng.u32();
          h.sackRight[k] = rng.u32();
        }
      }
      const start = TRANSPORT_HEADROOM;
      const hl = 20 + h.optionsLength();
      const plen = rng.u32() % 3 === 0 ? rng.u32() % 1500 : 0;
      rng.fill(buf, start + hl, start + hl + plen);
      emitTcpSegment(h, buf, start, start + hl + plen, PEER, US);
      // sometimes corrupt the header after the checksum (exercises the drop path)
      if (rng.u32() % 10 === 0) buf[start + (rng.u32() % hl)]! ^= 1 << (rng.u32() % 8);
      expect(() => r.tcp.onIpv4(PEER, US, buf, start, start + hl + plen)).not.toThrow();
      if (i % 1000 === 0) r.advance(rng.u32() % 5000);
    }
    // the layer is still consistent: timers run, new connections work
    expect(() => r.advance(200_000)).not.toThrow();
    const r2 = rig();
    const s2 = establishActive(r2);
    inject(r2.tcp, { srcPort: 80, dstPort: 4000, seq: PEER_ISS + 1, ack: 1001, flags: ACK, payload: bytes(10) });
    expect(s2.readableLength).toBe(10);
    expect(typeof s.stateName).toBe("string");
  });

  test("raw random bytes as TCP payloads of IPv4 are dropped or handled, never thrown", () => {
    const r = rig();
    establishActive(r);
    r.tcp.listen(80);
    const rng = new SeededRng(5);
    const buf = new Uint8Array(200);
    for (let i = 0; i < 20_000; i++) {
      const n = rng.u32() % 200;
      rng.fill(buf, 0, n);
      expect(() => r.tcp.onIpv4(PEER, US, buf, 0, n)).not.toThrow();
    }
    expect(r.tcp.stats.badChecksum + r.tcp.stats.malformed).toBeGreaterThan(19_000);
  });

  test("ICMP errors with random quotes never throw", () => {
    const r = rig();
    establishActive(r);
    const rng = new SeededRng(9);
    const q = new Uint8Array(64);
    for (let i = 0; i < 5000; i++) {
      const n = rng.u32() % 64;
      rng.fill(q, 0, n);
      expect(() => r.tcp.onIcmpError(rng.u32() % 20, rng.u32() % 16, rng.u32() % 70000, q, 0, n)).not.toThrow();
    }
  });
});
