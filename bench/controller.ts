#!/usr/bin/env bun
/**
 * Embedded controller costs: config-request decisions (new members with IP assignment, and steady
 * re-requests), with the in-memory store and with the durable file store (fsync per change), the
 * full answer (decision + signed COM/CoO + signed chunk), and API member updates on disk.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Controller } from "../src/controller/controller.ts";
import { FileStore } from "../src/controller/file-store.ts";
import { configChunksFromGrant } from "../src/controller/netconf-builder.ts";
import { METADATA_1_14 } from "../src/controller/request-metadata.ts";
import { MemoryStore, type ControllerStore } from "../src/controller/store.ts";
import { SeededRng } from "../src/util/random.ts";
import { isReservedAddress } from "../src/vl1/address.ts";
import { Identity } from "../src/vl1/identity.ts";

const NWID = "3bc65e2b50000001";
const controllerId = Identity.generate(new SeededRng(1));
const ctlAddress = controllerId.addressString;
const nwid = `${ctlAddress}000001`;

function identities(n: number, seed: number): Identity[] {
  const rng = new SeededRng(seed);
  const out: Identity[] = [];
  while (out.length < n) {
    const a = (rng.u32() & 0xff) * 0x100000000 + rng.u32();
    if (isReservedAddress(a)) continue;
    const pub = new Uint8Array(64);
    rng.fill(pub);
    out.push(Identity.fromParts(a, pub));
  }
  return out;
}

async function setup(store: ControllerStore) {
  let t = 1_800_000_000_000;
  const c = await Controller.open({ address: ctlAddress, store, now: () => t, validateIdentity: () => true, rng: new SeededRng(2) });
  const r = await c.postNetwork(nwid, {
    private: false,
    ipAssignmentPools: [{ ipRangeStart: "10.0.0.1", ipRangeEnd: "10.0.255.254" }],
    routes: [{ target: "10.0.0.0/16", via: null }],
    v4AssignMode: { zt: true },
  });
  if (!r.ok) throw new Error(r.error);
  return { c, tick: (ms: number) => (t += ms) };
}

function report(name: string, n: number, ms: number): void {
  console.log(`${name.padEnd(58)} ${((n / ms) * 1000).toFixed(0).padStart(8)} /s   (${(ms / n).toFixed(3)} ms each, n=${n})`);
}

async function decisions(label: string, store: ControllerStore, n: number): Promise<void> {
  const { c, tick } = await setup(store);
  const ids = identities(n, 3);
  let t0 = performance.now();
  for (const id of ids) {
    const d = await c.handleConfigRequest({ networkId: nwid, identity: id, metadata: METADATA_1_14 });
    if (d.kind !== "ok") throw new Error(d.kind);
  }
  report(`${label}: new member (record + IP assignment)`, n, performance.now() - t0);
  tick(60_000);
  t0 = performance.now();
  for (const id of ids) await c.handleConfigRequest({ networkId: nwid, identity: id, metadata: METADATA_1_14 });
  report(`${label}: re-request (no change, nothing written)`, n, performance.now() - t0);
}

await decisions("memory store", new MemoryStore(), 5000);
const dir = mkdtempSync(join(tmpdir(), "ztnc-bench-ctl-"));
try {
  await decisions("file store", new FileStore(join(dir, "a")), 500);
  const { c } = await setup(new FileStore(join(dir, "b")));
  const ids = identities(300, 4);
  const t0 = performance.now();
  for (let i = 0; i < ids.length; i++) await c.postMember(nwid, ids[i]!.addressString, { authorized: true, name: `m${i}` });
  report("file store: API member POST (durable write)", ids.length, performance.now() - t0);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

{
  const { c, tick } = await setup(new MemoryStore());
  const ids = identities(400, 5);
  for (const id of ids) await c.handleConfigRequest({ networkId: nwid, identity: id, metadata: METADATA_1_14 });
  tick(60_000);
  let i = 0;
  const t0 = performance.now();
  for (const id of ids) {
    const d = await c.handleConfigRequest({ networkId: nwid, identity: id, metadata: METADATA_1_14 });
    if (d.kind !== "ok") throw new Error(d.kind);
    const r = configChunksFromGrant(d, controllerId, BigInt(++i));
    if (!r.ok) throw new Error(r.error);
  }
  report("full answer: decision + COM/CoO + signed chunk", ids.length, performance.now() - t0);
}
void NWID;
