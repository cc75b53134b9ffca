/**
 * ssh-scp-sftp: the clients inside, sshd outside (root, its own config, port and host key, an
 * authorized key for root). Inside: scp puts a 10 MiB random file and gets one back (scp forks ssh
 * under the library; OpenSSH 9 scp speaks SFTP), then `scp -O` (the old rcp protocol) both ways,
 * then sftp gets it; every copy's sha256 equals the original's.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Scenario } from "../scenario.ts";

const PORT = 2223;
const SIZE = 10 * 1024 * 1024;

function sha256(path: string): string {
  return new Bun.CryptoHasher("sha256").update(readFileSync(path)).digest("hex");
}

export const sshScpSftpScenario: Scenario = {
  name: "ssh-scp-sftp",
  needs: ["/usr/sbin/sshd", "ssh", "scp", "sftp", "ssh-keygen"],
  async run(ctx) {
    // outside (root's): sshd config, host key, authorized key, the files it serves and receives
    const srv = join(ctx.dir, "sshd-outside");
    mkdirSync(srv, { recursive: true, mode: 0o755 });
    await ctx.outside(["chmod", "0755", srv]);
    await ctx.outside(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", join(srv, "host_key")]);
    // inside (the container user's): the client key and the local files
    const cli = join(ctx.dir, "ssh-client");
    mkdirSync(cli, { recursive: true });
    await ctx.outside(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", join(cli, "key")]);
    writeFileSync(join(srv, "authorized_keys"), readFileSync(join(cli, "key.pub")));
    const data = new Uint8Array(SIZE);
    for (let o = 0; o < SIZE; o += 65_536) crypto.getRandomValues(data.subarray(o, o + 65_536));
    writeFileSync(join(cli, "orig.bin"), data);
    writeFileSync(join(srv, "served.bin"), data);
    const want = new Bun.CryptoHasher("sha256").update(data).digest("hex");
    await ctx.outside(["chown", "-R", "ztnc-test:ztnc-test", cli]);
    await ctx.outside(["chmod", "0600", join(cli, "key")]);
    const conf = join(srv, "sshd_config");
    writeFileSync(
      conf,
      [
        `Port ${PORT}`,
        `ListenAddress ${ctx.outsideIp}`,
        `HostKey ${srv}/host_key`,
        `AuthorizedKeysFile ${srv}/authorized_keys`,
        `PidFile ${srv}/sshd.pid`,
        "PermitRootLogin prohibit-password",
        "UsePAM no",
        "StrictModes no",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UseDNS no",
        "Subsystem sftp /usr/lib/openssh/sftp-server",
        "LogLevel VERBOSE",
        "",
      ].join("\n"),
    );

    // root's sshd wants its privilege separation directory (made at boot by systemd-tmpfiles on a host, absent in a container)
    await ctx.outside(["install", "-d", "-m", "0755", "/run/sshd"]);
    const server = ctx.spawnOutside("sshd", ["/usr/sbin/sshd", "-D", "-e", "-f", conf]);
    const errLog = join(ctx.dir, "ssh-scp-sftp-sshd.log.err");
    try {
      await ctx.waitFor("sshd outside listening", async () => {
        const log = existsSync(errLog) ? readFileSync(errLog, "utf8") : "";
        if (server.exitCode !== null) throw new Error(`sshd outside exited ${server.exitCode}: ${log.trim().slice(-300)}`);
        return /Server listening on/.test(log) ? true : null;
      });
      const opts = ["-F", "/dev/null", "-i", join(cli, "key"), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR"];
      const remote = (f: string): string => `root@${ctx.outsideIp}:${join(srv, f)}`;
      const notes: string[] = [];
      const step = async (what: string, argv: string[], check: string): Promise<void> => {
        const t0 = performance.now();
        const r = await ctx.inside(argv, { timeoutMs: 120_000, allowFail: true });
        const s = (performance.now() - t0) / 1000;
        if (r.code !== 0) throw new Error(`${what}: exit ${r.code}: ${(r.err + r.out).trim().slice(-300)}`);
        if (!existsSync(check)) throw new Error(`${what}: exit 0 but ${check} does not exist`);
        const got = sha256(check);
        if (got !== want) throw new Error(`${what}: sha256 of ${check} is ${got}, want ${want} (${readFileSync(check).length} bytes)`);
        notes.push(`${what} ${(SIZE / s / 1e6).toFixed(1)} MB/s`);
      };
      await step("scp put", ["scp", ...opts, "-P", String(PORT), join(cli, "orig.bin"), remote("put.bin")], join(srv, "put.bin"));
      await step("scp get", ["scp", ...opts, "-P", String(PORT), remote("served.bin"), join(cli, "scp-got.bin")], join(cli, "scp-got.bin"));
      await step("scp -O put", ["scp", "-O", ...opts, "-P", String(PORT), join(cli, "orig.bin"), remote("put-O.bin")], join(srv, "put-O.bin"));
      await step("scp -O get", ["scp", "-O", ...opts, "-P", String(PORT), remote("served.bin"), join(cli, "scp-O-got.bin")], join(cli, "scp-O-got.bin"));
      const batch = join(cli, "sftp-batch");
      writeFileSync(batch, `get ${join(srv, "served.bin")} ${join(cli, "sftp-got.bin")}\n`);
      await ctx.outside(["chmod", "0644", batch]);
      await step("sftp get", ["sftp", ...opts, "-P", String(PORT), "-b", batch, `root@${ctx.outsideIp}`], join(cli, "sftp-got.bin"));
      return `10 MiB sha256-intact: ${notes.join(", ")}`;
    } finally {
      server.kill("SIGTERM");
      await Promise.race([server.exited, Bun.sleep(5000)]);
      if (server.exitCode === null) server.kill("SIGKILL");
    }
  },
};
