import { expect, test } from "bun:test";
import { ACK, bytes, establishActive, establishPassive, inject, PEER_ISS, PSH, rig, SYN } from "./harness.ts";

test("active open sends SYN with options and completes on SYN-ACK", () => {
  const r = rig();
  const s = r.tcp.connect(0x0a000002, 80, { localPort: 4000 });
  const syn = r.ip.one();
  expect(syn.flags).toBe(SYN);
  expect(syn.seq).toBe(1000);
  expect(syn.mss).toBe(1460);
  expect(syn.sackPermitted).toBe(true);
  expect(syn.wscale).toBeGreaterThanOrEqual(0);
  expect(s.stateName).toBe("SYN_SENT");
  inject(r.tcp, { srcPort: 80, dstPort: 4000, seq: PEER_ISS, ack: 1001, flags: SYN | ACK, mss: 1460 });
  const a = r.ip.one();
  expect(a.flags).toBe(ACK);
  expect(a.seq).toBe(1001);
  expect(a.ack).toBe(PEER_ISS + 1);
  expect(s.stateName).toBe("ESTABLISHED");
});

test("passive open + data both ways", () => {
  const r = rig();
  const s = establishPassive(r);
  expect(s.stateName).toBe("ESTABLISHED");
  inject(r.tcp, { seq: PEER_ISS + 1, ack: 1001, flags: ACK | PSH, payload: bytes(100) });
  expect(s.readableLength).toBe(100);
  s.send(bytes(10), 0, 10);
  const d = r.ip.one();
  expect(d.payload.length).toBe(10);
  expect(d.ack).toBe(PEER_ISS + 101);
  const e = establishActive(rig());
  expect(e.stateName).toBe("ESTABLISHED");
});
