import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type LocalConfigResult, startEmbeddedController } from "../../src/controller/embedded.ts";
import { METADATA_1_14 } from "../../src/controller/request-metadata.ts";
import { Router } from "../../src/util/router.ts";
import type { JsonObject } from "../../src/util/json.ts";
import { SeededRng } from "../../src/util/random.ts";
import { Identity } from "../../src/vl1/identity.ts";
import { Verb } from "../../src/vl1/packet.ts";
import { FIXTURES, tmpDir } from "./helpers.ts";

const dir = tmpDir("ztnc-ctl-emb-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const controllerId = (() => {
  const p = Identity.parse(readFileSync(join(FIXTURES, "controller-3bc65e2b50.identity.secret"), "utf8"));
  if (!p.ok) throw new Error(p.error);
  return p.identity;
})();

describe("startEmbeddedController", () => {
  test("routes on the router, own node served locally (and pushed locally), packets consumed only for NCR", async () => {
    const router = new Router();
    const sent: number[] = [];
    const local: [bigint, LocalConfigResult][] = [];
    let t = 1_795_900_000_000;
    const emb = await startEmbeddedController({
      home: dir,
      identity: controllerId,
      router,
      transport: { send: (_d, verb) => sent.push(verb) },
      rng: new SeededRng(3),
      now: () => t,
      onLocalConfig: (nwid, r) => local.push([nwid, r]),
    });
    const post = router.match("POST", "/controller/network/3bc65e2b50000001");
    if (post === null || post === "methodMismatch") throw new Error("route missing");
    const r = await post.handler({ method: "POST", path: "", params: post.params, query: new URLSearchParams(), body: { name: "own", private: true } });
    expect((r.json as JsonObject).id).toBe("3bc65e2b50000001");

    // the controller's own node is a member like any other: refused until authorized
    expect((await emb.requestLocal(0x3bc65e2b50000001n, METADATA_1_14)).kind).toBe("access-denied");
    await emb.controller.postMember("3bc65e2b50000001", "3bc65e2b50", { authorized: true, ipAssignments: ["10.0.0.1"] });
    t += 2000;
    const ok = await emb.requestLocal(0x3bc65e2b50000001n, METADATA_1_14);
    if (ok.kind !== "ok") throw new Error(ok.reason);
    expect(ok.config.name).toBe("own");
    expect(ok.config.issuedTo).toBe(controllerId.address);

    // an API change reaches the own node through onLocalConfig, never as a packet to itself
    await emb.controller.postNetwork("3bc65e2b50000001", { name: "renamed" });
    await emb.controller.handleConfigRequest({ networkId: "0000000000000000", identity: controllerId, metadata: METADATA_1_14 });
    expect(local.map(([n, res]) => [n, res.kind === "ok" ? res.config.name : res.kind])).toEqual([[0x3bc65e2b50000001n, "renamed"]]);
    expect(sent).toEqual([]);

    // files land in <home>/controller.d
    expect(JSON.parse(readFileSync(join(dir, "controller.d/network/3bc65e2b50000001.json"), "utf8")).name).toBe("renamed");

    // only NETWORK_CONFIG_REQUEST packets are taken
    const pkt = new Uint8Array(40);
    expect(emb.onPacket({ identity: controllerId.publicOnly() }, Verb.FRAME, pkt, 0, 40)).toBe(false);
    expect(emb.onPacket({ identity: controllerId.publicOnly() }, Verb.NETWORK_CONFIG_REQUEST, pkt, 0, 40)).toBe(true);
    emb.stop();
  });
});
