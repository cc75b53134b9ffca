import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Controller } from "../../src/controller/controller.ts";
import { FileStore } from "../../src/controller/file-store.ts";
import type { JsonObject } from "../../src/util/json.ts";
import { SeededRng } from "../../src/util/random.ts";
import { fakeIdentities, tmpDir, VECTOR_CONTROLLER, VECTOR_NWID } from "./helpers.ts";
import { METADATA_1_14 } from "../../src/controller/request-metadata.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function freshDir(): string {
  const d = tmpDir("ztnc-ctl-store-");
  dirs.push(d);
  return join(d, "controller.d");
}
const open = (dir: string) => Controller.open({ address: VECTOR_CONTROLLER, store: new FileStore(dir), validateIdentity: () => true });

describe("FileStore", () => {
  test("zerotier-one's FileDB layout, compact sorted JSON, and everything survives a restart", async () => {
    const dir = freshDir();
    const c1 = await open(dir);
    await c1.postNetwork(VECTOR_NWID, { name: "persist", private: false, ipAssignmentPools: [{ ipRangeStart: "10.0.0.1", ipRangeEnd: "10.0.0.200" }], routes: [{ target: "10.0.0.0/24" }], v4AssignMode: { zt: true } });
    const [id] = fakeIdentities(1, 5);
    const d = await c1.handleConfigRequest({ networkId: VECTOR_NWID, identity: id!, metadata: METADATA_1_14 });
    expect(d.kind).toBe("ok");
    await c1.postMember(VECTOR_NWID, "ddb1763ec1", { authorized: true });

    expect(readdirSync(dir).sort()).toEqual(["network", "trace"]);
    expect(readdirSync(join(dir, "network")).sort()).toEqual([VECTOR_NWID, `${VECTOR_NWID}.json`]);
    expect(readdirSync(join(dir, "network", VECTOR_NWID, "member")).sort()).toEqual([`${id!.addressString}.json`, "ddb1763ec1.json"].sort());
    const text = readFileSync(join(dir, "network", `${VECTOR_NWID}.json`), "utf8");
    expect(text.startsWith('{"authTokens":[null],"authorizationEndpoint":""')).toBe(true);

    const c2 = await open(dir);
    expect(c2.listNetworks()).toEqual([VECTOR_NWID]);
    expect(c2.getNetwork(VECTOR_NWID)).toEqual(c1.getNetwork(VECTOR_NWID));
    expect(c2.memberRevisions(VECTOR_NWID)).toEqual(c1.memberRevisions(VECTOR_NWID));
    expect(c2.getMember(VECTOR_NWID, id!.addressString)).toEqual(c1.getMember(VECTOR_NWID, id!.addressString));
    // the reloaded controller still knows the member's identity and address
    const again = await c2.handleConfigRequest({ networkId: VECTOR_NWID, identity: id!, metadata: METADATA_1_14 });
    if (d.kind !== "ok" || again.kind !== "ok") throw new Error("expected ok");
    expect(again.staticIps).toEqual(d.staticIps);
  });

  test("load removes crash leftovers (temp files, orphaned member dirs) and skips unreadable files", async () => {
    const dir = freshDir();
    const c1 = await open(dir);
    await c1.postNetwork(VECTOR_NWID, { name: "x" });
    await c1.postMember(VECTOR_NWID, "ddb1763ec1", { authorized: true });
    const net = join(dir, "network");
    writeFileSync(join(net, `${VECTOR_NWID}.json.tmp-999-1`), '{"half');
    writeFileSync(join(net, VECTOR_NWID, "member", "ddb1763ec1.json.tmp-999-2"), "");
    mkdirSync(join(net, "3bc65e2b50000042", "member"), { recursive: true });
    writeFileSync(join(net, "3bc65e2b50000042", "member", "ddb1763ec1.json"), "{}");
    writeFileSync(join(net, "3bc65e2b50000043.json"), "not json");
    writeFileSync(join(net, "README"), "operator notes");
    const c2 = await open(dir);
    expect(c2.listNetworks()).toEqual([VECTOR_NWID]);
    expect(c2.getMember(VECTOR_NWID, "ddb1763ec1")!.authorized).toBe(true);
    expect(readdirSync(net).sort()).toEqual(["3bc65e2b50000043.json", VECTOR_NWID, `${VECTOR_NWID}.json`, "README"].sort());
    expect(readdirSync(join(net, VECTOR_NWID, "member"))).toEqual(["ddb1763ec1.json"]);
  });

  test("kill -9 during writes: every file parses and the last acknowledged write is there", async () => {
    const dir = freshDir();
    const rng = new SeededRng(2024);
    const MEMBERS = 5;
    let next = 0;
    const acked: number[] = [];
    for (let round = 0; round < 6; round++) {
      const child = Bun.spawn([process.execPath, join(import.meta.dir, "store-writer.ts"), dir, String(next), String(MEMBERS)], { stdout: "pipe", stderr: "pipe" });
      let last = -1;
      let buf = "";
      const reader = child.stdout.getReader();
      const killAt = 40 + (rng.u32() % 200);
      let firstAckAt = 0;
      const start = performance.now();
      // read acks until the kill moment (measured from the first ack, so writes are under way)
      for (;;) {
        const r = await Promise.race([reader.read(), Bun.sleep(20).then(() => null)]);
        if (r !== null) {
          if (r.done) break;
          buf += new TextDecoder().decode(r.value);
          const lines = buf.split("\n");
          buf = lines.pop()!;
          for (const l of lines) if (l.startsWith("ack ")) last = Number(l.slice(4));
        }
        if (last >= 0 && firstAckAt === 0) firstAckAt = performance.now();
        if (firstAckAt > 0 && performance.now() - firstAckAt >= killAt) break;
        if (performance.now() - start > 15_000) throw new Error(`writer made no progress: ${await new Response(child.stderr).text()}`);
      }
      child.kill(9);
      await child.exited;
      expect(child.signalCode).toBe("SIGKILL");
      expect(last).toBeGreaterThanOrEqual(next);
      acked.push(last - next + 1);

      // every file that is not a temp file parses as a JSON object
      for (const f of readdirSync(join(dir, "network"), { recursive: true }).map(String)) {
        if (!f.endsWith(".json")) continue;
        const v: unknown = JSON.parse(readFileSync(join(dir, "network", f), "utf8"));
        expect(typeof v).toBe("object");
      }
      const c = await open(dir);
      // the last acknowledged write (or a later one) is present
      const counter = (s: unknown) => Number(String(s).slice(1));
      if (last % 7 === 0) {
        expect(counter(c.getNetwork(VECTOR_NWID)!.name)).toBeGreaterThanOrEqual(last);
      } else {
        const addr = (0x1000000000 + (last % MEMBERS)).toString(16);
        const m = c.getMember(VECTOR_NWID, addr) as JsonObject;
        expect(counter(m.name)).toBeGreaterThanOrEqual(last);
      }
      // every acknowledged member write before it is there too (each member's latest ≥ its last acked)
      for (let k = 0; k < MEMBERS; k++) {
        let lastForK = -1;
        for (let i = last; i >= Math.max(next, last - 14); i--) {
          if (i % 7 !== 0 && i % MEMBERS === k) {
            lastForK = i;
            break;
          }
        }
        if (lastForK < 0) continue;
        const m = c.getMember(VECTOR_NWID, (0x1000000000 + k).toString(16)) as JsonObject;
        expect(counter(m.name)).toBeGreaterThanOrEqual(lastForK);
      }
      // no temp files survive a load
      expect(readdirSync(join(dir, "network"), { recursive: true }).map(String).filter((f) => f.includes(".tmp-"))).toEqual([]);
      next = last + 1000;
    }
    // the writer really was killed mid-stream, with many writes acknowledged per round
    expect(acked.every((n) => n > 0)).toBe(true);
    if (process.env.ZT_TEST_VERBOSE) console.log("acknowledged writes per round:", acked);
    expect(existsSync(join(dir, "network", `${VECTOR_NWID}.json`))).toBe(true);
  }, 60_000);
});
