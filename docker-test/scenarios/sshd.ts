/**
 * sshd: OpenSSH sshd inside, started normally (-D keeps it in the foreground, but it forks and
 * re-execs per connection as usual; not -d) as the unprivileged user with its own host key, config
 * and authorized_keys under the scratch directory. A non-root sshd can only log in its own user,
 * and runs the command through that user's login shell: the container user is a system account
 * with /usr/sbin/nologin, so its shell is set to /bin/sh for the scenario and restored afterwards.
 * Outside: `ssh … 'echo hi; exit 7'` prints "hi" and exits 7; the connection time is reported
 * (under 2 s; the very first intercepted sshd took 15-20 s).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Scenario, ScenarioContext } from "../scenario.ts";

const PORT = 2222;
const USER = "ztnc-test";

/** The user's login shell, set to `shell` for the scenario; returns what to restore (null: nothing). */
export async function withLoginShell(ctx: ScenarioContext, shell: string): Promise<string | null> {
  const pw = (await ctx.outside(["getent", "passwd", USER])).out.trim().split(":");
  const old = pw[6] ?? "";
  if (old === shell) return null;
  await ctx.outside(["usermod", "-s", shell, USER]);
  return old;
}

export const sshdScenario: Scenario = {
  name: "sshd",
  needs: ["/usr/sbin/sshd", "ssh", "ssh-keygen"],
  async run(ctx) {
    const dir = join(ctx.dir, "sshd");
    mkdirSync(dir, { recursive: true });
    await ctx.outside(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", join(dir, "host_key")]);
    await ctx.outside(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", join(dir, "client_key")]);
    writeFileSync(join(dir, "authorized_keys"), readFileSync(join(dir, "client_key.pub")));
    const conf = join(dir, "sshd_config");
    writeFileSync(
      conf,
      [
        `Port ${PORT}`,
        "ListenAddress 0.0.0.0",
        `HostKey ${dir}/host_key`,
        `AuthorizedKeysFile ${dir}/authorized_keys`,
        `PidFile ${dir}/sshd.pid`,
        "UsePAM no",
        "StrictModes no",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PubkeyAuthentication yes",
        "UseDNS no",
        "LogLevel VERBOSE",
        "",
      ].join("\n"),
    );
    // sshd's own files belong to the user it runs as; the client key stays root's (outside)
    for (const f of ["", "host_key", "host_key.pub", "authorized_keys", "sshd_config"]) await ctx.outside(["chown", `${USER}:${USER}`, join(dir, f)]);

    const restoreShell = await withLoginShell(ctx, "/bin/sh");
    const server = ctx.spawnInside("sshd", ["/usr/sbin/sshd", "-D", "-e", "-f", conf]);
    const errLog = join(ctx.dir, "sshd-sshd.log.err");
    try {
      await ctx.waitFor("sshd inside listening", async () => {
        const log = existsSync(errLog) ? readFileSync(errLog, "utf8") : "";
        if (server.exitCode !== null) throw new Error(`sshd exited ${server.exitCode}: ${log.trim().slice(-300)}`);
        return /Server listening on 0\.0\.0\.0 port/.test(log) ? true : null;
      });
      const ssh = ["ssh", "-F", "/dev/null", "-i", join(dir, "client_key"), "-p", String(PORT), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR"];
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        const r = await ctx.outside([...ssh, `${USER}@${ctx.insideIp}`, "echo hi; exit 7"], { timeoutMs: 30_000, allowFail: true });
        const t = (performance.now() - t0) / 1000;
        if (r.code !== 7 || r.out !== "hi\n") throw new Error(`ssh to the sshd inside: exit ${r.code} (want 7), output ${JSON.stringify(r.out)} (want "hi\\n"): ${r.err.trim().slice(-300)}`);
        times.push(t);
      }
      const worst = Math.max(...times);
      if (worst >= 2) throw new Error(`ssh took ${worst.toFixed(2)} s (want < 2 s): ${times.map((t) => t.toFixed(2)).join(", ")} s`);
      if (server.exitCode !== null) throw new Error(`sshd exited ${server.exitCode} during the run`);
      return `ssh 'echo hi; exit 7' → "hi", exit 7; ${times.map((t) => t.toFixed(2)).join(" / ")} s per connection (3 runs)`;
    } finally {
      server.kill("SIGTERM");
      await Promise.race([server.exited, Bun.sleep(5000)]);
      if (server.exitCode === null) server.kill("SIGKILL");
      if (restoreShell !== null) await ctx.outside(["usermod", "-s", restoreShell, USER], { allowFail: true });
    }
  },
};
