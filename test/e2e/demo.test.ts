/**
 * `npm run demo -- --once`: a newcomer's first command works end to end without root — a root +
 * controller and two netcon services on loopback, an intercepted http.server in one container and
 * an intercepted curl in the other fetching its page — and cleans up after itself.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ROOT } from "./helpers.ts";

describe("npm run demo", () => {
  test("--once: container B fetches container A's page over ZeroTier, exit 0", async () => {
    const p = Bun.spawn([process.execPath, join(ROOT, "src/cli/demo.ts"), "--once", "--port", "31993"], {
      stdout: "pipe",
      stderr: "pipe",
      env: process.env,
    });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    const text = out + err;
    expect(text).toMatch(/container a: 10\.147\.17\.\d+/);
    expect(text).toMatch(/B fetched: Hello from network container A \(10\.147\.17\.\d+\) on ZeroTier network [0-9a-f]{16}/);
    expect(code).toBe(0);
  }, 120_000);
});
