/**
 * Two tap-mode nodes, each in its own network namespace, on a public network of our controller (our
 * service is root and controller in a third namespace): either our `--tap` services or real
 * zerotier-one 1.14.1 nodes (ZT_ONE, or `zerotier-one` on PATH; never part of the project). Used by
 * the vl2-tap and netcon benchmarks to measure programs over the taps side by side.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { idtool, waitFor } from "../../test/e2e/helpers.ts";
import { NetnsLab, writeHome } from "../../test/e2e/netns-lab.ts";

/** The real zerotier-one binary to compare with, or null. */
export const ZT_ONE: string | null = process.env.ZT_ONE ?? Bun.which("zerotier-one");

/** The pid of the node process whose command line names `home` (ours or zerotier-one). */
export function nodePid(home: string): number {
  const r = Bun.spawnSync(["pgrep", "-f", "--", home]);
  const pids = r.stdout.toString().trim().split("\n").map(Number).filter((n) => n > 0 && n !== process.pid);
  if (pids.length === 0) throw new Error(`no node process for ${home}`);
  return Math.min(...pids);
}

export interface NetInfo {
  status: string;
  assignedAddresses: string[];
  portDeviceName: string;
}

export interface TapPair {
  lab: NetnsLab;
  leaves: { ns: string; home: string }[];
  info: NetInfo[];
  /** Leaf b's address on the network. */
  ipB: string;
}

export async function withTapPair<T>(kind: "ours" | "real", use: (p: TapPair) => Promise<T>): Promise<T> {
  const tmp = mkdtempSync(join(tmpdir(), `ztnc-bench-${kind}-`));
  if (kind === "real" && ZT_ONE === null) throw new Error("no zerotier-one binary (set ZT_ONE or put it on PATH)");
  const zt = ZT_ONE ?? "";
  // distinct prefixes, so that both pairs can be up at once (bench/rtt.ts interleaves them)
  const lab = await NetnsLab.create(2, kind === "ours" ? "zb" : "zq");
  try {
    const homes = { root: join(tmp, "root"), a: join(tmp, "a"), b: join(tmp, "b") };
    const settings = { portMappingEnabled: false, allowTcpFallbackRelay: false, allowSecondaryPort: false };
    for (const h of Object.values(homes)) writeHome(h, settings, null);
    for (const h of Object.values(homes)) {
      if ((await idtool("generate", join(h, "identity.secret"), join(h, "identity.public"))).code !== 0) throw new Error("idtool generate failed");
    }
    const rootAddr = readFileSync(join(homes.root, "identity.public"), "utf8").slice(0, 10);
    const worldJson = join(tmp, "world.json");
    await idtool("mkworld", "--new-signing-key", worldJson);
    const w = JSON.parse(readFileSync(worldJson, "utf8")) as Record<string, unknown>;
    w.roots = [{ identity: readFileSync(join(homes.root, "identity.public"), "utf8").trim(), stableEndpoints: [`${lab.hubIp()}/9993`] }];
    writeFileSync(worldJson, JSON.stringify(w));
    for (const h of Object.values(homes)) await idtool("mkworld", worldJson, join(h, "planet"));
    lab.startService(lab.hub, homes.root);
    await waitFor("root API", async () => ((await lab.api(lab.hub, homes.root, "GET", "/status")).status === 200 ? true : null));
    const created = await lab.api(lab.hub, homes.root, "POST", `/controller/network/${rootAddr}______`, {
      name: "bench",
      private: false,
      ipAssignmentPools: [{ ipRangeStart: "10.233.1.10", ipRangeEnd: "10.233.1.200" }],
      routes: [{ target: "10.233.1.0/24", via: null }],
      v4AssignMode: { zt: true },
    });
    const nwid = (created.json as { id: string }).id;
    const leaves = [
      { ns: lab.leaves[0]!, home: homes.a },
      { ns: lab.leaves[1]!, home: homes.b },
    ];
    const info: NetInfo[] = [];
    for (const l of leaves) {
      if (kind === "ours") {
        lab.startService(l.ns, l.home, ["--tap"]);
        await waitFor("leaf API", async () => ((await lab.api(l.ns, l.home, "GET", "/status")).status === 200 ? true : null));
        await lab.api(l.ns, l.home, "POST", `/network/${nwid}`, {});
      } else {
        lab.spawn(l.ns, [zt, l.home], join(l.home, "zt.log"));
        await waitFor("real node", async () => ((await lab.exec(l.ns, [zt, "-q", `-D${l.home}`, "info"], { allowFail: true })).code === 0 ? true : null));
        await lab.exec(l.ns, [zt, "-q", `-D${l.home}`, "join", nwid]);
      }
    }
    for (const l of leaves) {
      info.push(
        await waitFor(
          "address",
          async () => {
            let n: NetInfo | null = null;
            if (kind === "ours") {
              const r = await lab.api(l.ns, l.home, "GET", `/network/${nwid}`);
              n = r.status === 200 ? (r.json as NetInfo) : null;
            } else {
              const r = await lab.exec(l.ns, [zt, "-q", `-D${l.home}`, "-j", "listnetworks"], { allowFail: true });
              try {
                n = (JSON.parse(r.out) as NetInfo[])[0] ?? null;
              } catch {
                n = null;
              }
            }
            return n !== null && n.status === "OK" && n.assignedAddresses.some((a) => a.startsWith("10.233.")) && n.portDeviceName ? n : null;
          },
          60_000,
        ),
      );
    }
    const ipB = info[1]!.assignedAddresses.find((a) => a.startsWith("10.233."))!.split("/")[0]!;
    return await use({ lab, leaves, info, ipB });
  } finally {
    await lab.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

