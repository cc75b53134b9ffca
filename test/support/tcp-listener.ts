/**
 * Readiness for tests that start a TCP server in a network namespace (nc -l, a shell pipeline) and
 * then connect to it: wait until the kernel shows the listening socket instead of sleeping.
 */

/** Resolves once something listens on TCP `port` in namespace `ns` (`ss -ltn`); throws after `timeoutMs`. */
export async function waitForTcpListener(ns: string, port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const p = Bun.spawn(["ip", "netns", "exec", ns, "ss", "-ltnH", "sport", "=", `:${port}`], { stdout: "pipe", stderr: "ignore" });
    const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
    if (code === 0 && out.includes("LISTEN")) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on TCP port ${port} in namespace ${ns} after ${timeoutMs} ms`);
    await Bun.sleep(10);
  }
}
