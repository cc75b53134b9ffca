import { describe, expect, test } from "bun:test";
import { ACK, bytes, establishActive, establishPassive, FIN, inject, PEER_ISS, recorder, rig, RST, SYN, type Rig } from "./harness.ts";
import type { TcpSocket } from "../../../src/stack/tcp/index.ts";

const pseq = PEER_ISS + 1;

interface StateSetup {
  name: string;
  /** Bring a fresh rig into the state; returns socket, peer ports and the peer's next sequence number. */
  make(): { r: Rig; s: TcpSocket; ports: { srcPort: number; dstPort: number }; rcvNxt: number; ourNxt: number };
  /** What an exact-sequence RST does: error code, or null for a silent close, or "ignored". */
  onExactRst: string | null;
}

const A = { srcPort: 80, dstPort: 4000 };
const states: StateSetup[] = [
  {
    name: "ESTABLISHED",
    make: () => {
      const r = rig();
      return { r, s: establishActive(r), ports: A, rcvNxt: pseq, ourNxt: 1001 };
    },
    onExactRst: "ECONNRESET",
  },
  {
    name: "FIN_WAIT_1",
    make: () => {
      const r = rig();
      const s = establishActive(r);
      s.shutdown("write");
      r.ip.take();
      return { r, s, ports: A, rcvNxt: pseq, ourNxt: 1002 };
    },
    onExactRst: "ECONNRESET",
  },
  {
    name: "FIN_WAIT_2",
    make: () => {
      const r = rig();
      const s = establishActive(r);
      s.shutdown("write");
      inject(r.tcp, { ...A, seq: pseq, ack: 1002, flags: ACK });
      r.ip.take();
      return { r, s, ports: A, rcvNxt: pseq, ourNxt: 1002 };
    },
    onExactRst: "ECONNRESET",
  },
  {
    name: "CLOSE_WAIT",
    make: () => {
      const r = rig();
      const s = establishActive(r);
      inject(r.tcp, { ...A, seq: pseq, ack: 1001, flags: FIN | ACK });
      r.ip.take();
      return { r, s, ports: A, rcvNxt: pseq + 1, ourNxt: 1001 };
    },
    onExactRst: "ECONNRESET",
  },
  {
    name: "CLOSING",
    make: () => {
      const r = rig();
      const s = establishActive(r);
      s.shutdown("write");
      inject(r.tcp, { ...A, seq: pseq, ack: 1001, flags: FIN | ACK });
      r.ip.take();
      return { r, s, ports: A, rcvNxt: pseq + 1, ourNxt: 1002 };
    },
    onExactRst: null,
  },
  {
    name: "LAST_ACK",
    make: () => {
      const r = rig();
      const s = establishActive(r);
      inject(r.tcp, { ...A, seq: pseq, ack: 1001, flags: FIN | ACK });
      s.shutdown("write");
      r.ip.take();
      return { r, s, ports: A, rcvNxt: pseq + 1, ourNxt: 1002 };
    },
    onExactRst: null,
  },
  {
    name: "TIME_WAIT",
    make: () => {
      const r = rig();
      const s = establishActive(r);
      s.shutdown("write");
      inject(r.tcp, { ...A, seq: pseq, ack: 1002, flags: FIN | ACK });
      r.ip.take();
      return { r, s, ports: A, rcvNxt: pseq + 1, ourNxt: 1002 };
    },
    onExactRst: "ignored",
  },
];

describe("RST handling in every synchronized state (RFC 9293 + RFC 5961)", () => {
  for (const st of states) {
    test(`${st.name}: setup reaches the state`, () => {
      expect(st.make().s.stateName).toBe(st.name as TcpSocket["stateName"]);
    });

    test(`${st.name}: RST with seq = RCV.NXT -> ${st.onExactRst ?? "silent close"}`, () => {
      const { r, s, ports, rcvNxt } = st.make();
      const ev = recorder();
      s.handler = ev.handler;
      inject(r.tcp, { ...ports, seq: rcvNxt, flags: RST });
      expect(r.ip.take()).toHaveLength(0);
      if (st.onExactRst === "ignored") {
        expect(s.stateName).toBe(st.name as TcpSocket["stateName"]);
      } else {
        expect(s.stateName).toBe("CLOSED");
        expect(s.error).toBe(st.onExactRst as TcpSocket["error"]);
        expect(r.tcp.connectionCount).toBe(0);
      }
    });

    if (st.name !== "TIME_WAIT") {
      test(`${st.name}: in-window RST with seq != RCV.NXT -> challenge ACK, state kept`, () => {
        const { r, s, ports, rcvNxt, ourNxt } = st.make();
        inject(r.tcp, { ...ports, seq: rcvNxt + 100, flags: RST });
        const a = r.ip.one();
        expect([a.flags, a.seq, a.ack]).toEqual([ACK, ourNxt, rcvNxt]);
        expect(s.stateName).toBe(st.name as TcpSocket["stateName"]);
        expect(r.tcp.stats.challengeAcks).toBe(1);
      });

      test(`${st.name}: SYN -> challenge ACK, state kept`, () => {
        const { r, s, ports, rcvNxt } = st.make();
        inject(r.tcp, { ...ports, seq: rcvNxt, flags: SYN });
        const a = r.ip.one();
        expect([a.flags, a.ack]).toEqual([ACK, rcvNxt]);
        expect(s.stateName).toBe(st.name as TcpSocket["stateName"]);
      });
    }

    test(`${st.name}: out-of-window RST is ignored silently`, () => {
      const { r, s, ports, rcvNxt } = st.make();
      inject(r.tcp, { ...ports, seq: rcvNxt + 10_000_000, flags: RST });
      inject(r.tcp, { ...ports, seq: rcvNxt - 10, flags: RST });
      expect(r.ip.take()).toHaveLength(0);
      expect(s.stateName).toBe(st.name as TcpSocket["stateName"]);
    });
  }

  test("SYN_RECEIVED: exact RST drops the embryo, listener keeps listening", () => {
    const r = rig();
    const l = r.tcp.listen(80);
    inject(r.tcp, { seq: PEER_ISS, flags: SYN });
    r.ip.take();
    inject(r.tcp, { seq: pseq, flags: RST });
    expect(r.tcp.connectionCount).toBe(0);
    inject(r.tcp, { seq: PEER_ISS + 7, flags: SYN, srcPort: 4001 });
    expect(r.ip.one().flags).toBe(SYN | ACK);
    expect(l.pending).toBe(0);
  });

  test("SYN_RECEIVED: in-window inexact RST gets a challenge ACK (SYN-ACK re-sent)", () => {
    const r = rig();
    r.tcp.listen(80);
    inject(r.tcp, { seq: PEER_ISS, flags: SYN });
    r.ip.take();
    inject(r.tcp, { seq: pseq + 5, flags: RST });
    expect(r.ip.one().flags).toBe(SYN | ACK);
    expect(r.tcp.connectionCount).toBe(1);
  });

  test("challenge ACKs are rate limited", () => {
    const r = rig({ challengeAckLimit: 2 });
    establishActive(r);
    for (let i = 0; i < 5; i++) inject(r.tcp, { ...A, seq: pseq + 10 + i, flags: RST });
    expect(r.ip.take()).toHaveLength(2);
    r.advance(1000);
    inject(r.tcp, { ...A, seq: pseq + 50, flags: RST });
    expect(r.ip.take()).toHaveLength(1);
  });

  test("an accepted connection reset by the peer reports ECONNRESET to its handler", () => {
    const r = rig();
    const s = establishPassive(r);
    const ev = recorder();
    s.handler = ev.handler;
    inject(r.tcp, { srcPort: 4000, dstPort: 80, seq: pseq, flags: RST });
    expect(ev.log).toEqual(["error:ECONNRESET", "close"]);
    expect(() => s.send(bytes(1), 0, 1)).toThrow("ECONNRESET");
  });
});

describe("ACK validation (RFC 5961 5)", () => {
  test("ACK for data never sent: ACK back, segment dropped", () => {
    const r = rig();
    const s = establishActive(r);
    inject(r.tcp, { ...A, seq: pseq, ack: 99_999, flags: ACK, payload: bytes(10) });
    const a = r.ip.one();
    expect([a.flags, a.ack]).toEqual([ACK, pseq]);
    expect(s.readableLength).toBe(0);
  });

  test("ACK far below snd.una (older than max window): dropped with an ACK", () => {
    const r = rig();
    const s = establishActive(r, { window: 1000 });
    inject(r.tcp, { ...A, seq: pseq, ack: 1001 - 5000, flags: ACK, payload: bytes(10) });
    expect(r.ip.one().ack).toBe(pseq);
    expect(s.readableLength).toBe(0);
  });

  test("an old but acceptable ACK (within max window) still delivers data", () => {
    const r = rig();
    const s = establishActive(r, { window: 65535 });
    inject(r.tcp, { ...A, seq: pseq, ack: 900, flags: ACK, payload: bytes(10) });
    expect(s.readableLength).toBe(10);
  });

  test("segment without ACK flag in ESTABLISHED is dropped", () => {
    const r = rig();
    const s = establishActive(r);
    inject(r.tcp, { ...A, seq: pseq, flags: 0, payload: bytes(10) });
    expect(s.readableLength).toBe(0);
    expect(r.ip.take()).toHaveLength(0);
  });

  test("a corrupted checksum is counted and dropped", () => {
    const r = rig();
    const s = establishActive(r);
    inject(r.tcp, { ...A, seq: pseq, ack: 1001, flags: ACK, payload: bytes(10), badChecksum: true });
    expect(s.readableLength).toBe(0);
    expect(r.tcp.stats.badChecksum).toBe(1);
  });

  test("a truncated segment is counted as malformed", () => {
    const r = rig();
    r.tcp.onIpv4(0x0a000002, 0x0a000001, new Uint8Array(10), 0, 10);
    expect(r.tcp.stats.malformed).toBe(1);
    expect(r.ip.take()).toHaveLength(0);
  });
});
