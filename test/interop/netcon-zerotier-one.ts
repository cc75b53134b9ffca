#!/usr/bin/env bun
/**
 * Network containers next to a real ZeroTier One node (part of `npm run test:interop`; alone:
 * `ZT_ONE=/path/to/zerotier-one bun test/interop/netcon-zerotier-one.ts`, root):
 *
 *   our root + controller P (hub) — a real zerotier-one node R with its tap (l0)
 *                                 — our netcon service N, no tap (l1)
 *
 * The original project's test: the real node pings the container's address and fetches a page from
 * an intercepted `python3 -m http.server`; the reverse: an intercepted curl fetches from a server on
 * the real node's tap address; and 32 MiB from the container to the real node arrive sha256-intact.
 */
import { join } from "node:path";
import { ensureInterceptLibrary } from "../../intercept/build.ts";
import { NetnsLab } from "../e2e/netns-lab.ts";
import { ping, transfer } from "./traffic.ts";
import { containerBesideRealNode, type Interop, must, until } from "./support.ts";

const PY = "/usr/bin/python3";
const SUBNET = "10.234.5";

/** A page fetched by `curl` (wrapped by `wrap`) from `ns`, once the server answers. */
async function fetchPage(lab: NetnsLab, ns: string, url: string, wrap: string[] = []): Promise<string> {
  return until(`a page from ${url}`, async (saw) => {
    const r = await lab.exec(ns, [...wrap, "curl", "-s", "--max-time", "3", url], { allowFail: true });
    saw(`curl exit ${r.code}`);
    return r.code === 0 && r.out.length > 0 ? r.out : null;
  }, 30_000);
}

export async function netconChecks(t: Interop): Promise<void> {
  const lib = await ensureInterceptLibrary({});
  const lab = await NetnsLab.create(2, "zi");
  try {
    const { R, N, nwid, realIp, ncIp, env } = await containerBesideRealNode(lab, t.tmp, t.zt, "interop-netcon", SUBNET, lib);
    console.log(`# network ${nwid}: real zerotier-one ${realIp}, netcon container ${ncIp}`);

    await t.check("the real node pings the container", () => ping(lab, R.ns, ncIp));

    await t.check("the real node's curl fetches the intercepted python http.server's page", async () => {
      const www = join(t.tmp, "www");
      await Bun.write(join(www, "index.html"), `served from a network container at ${ncIp}\n`);
      lab.spawn(N.ns, [...env, PY, "-m", "http.server", "8080", "--directory", www], join(t.tmp, "http.log"));
      const page = await fetchPage(lab, R.ns, `http://${ncIp}:8080/`);
      must(page === `served from a network container at ${ncIp}\n`, `got ${JSON.stringify(page)}`);
      return page.trim();
    });

    await t.check("an intercepted curl fetches from a server behind the real node's tap", async () => {
      const kdir = join(t.tmp, "kernel");
      await Bun.write(join(kdir, "k.txt"), "served behind a real zerotier-one tap\n");
      lab.spawn(R.ns, [PY, "-m", "http.server", "8081", "--bind", realIp, "--directory", kdir]);
      const page = await fetchPage(lab, N.ns, `http://${realIp}:8081/k.txt`, env);
      must(page === "served behind a real zerotier-one tap\n", `got ${JSON.stringify(page)}`);
      return page.trim();
    });

    await t.check("32 MiB container → real node, sha256 intact", () => transfer(lab, t.tmp, N.ns, R.ns, realIp, 32 * 1024 * 1024, env));
  } finally {
    await lab.close();
  }
}

if (import.meta.main) {
  const r = Bun.spawnSync([process.execPath, join(import.meta.dir, "run.ts"), "netcon"], { stdio: ["ignore", "inherit", "inherit"] });
  process.exit(r.exitCode ?? 1);
}
