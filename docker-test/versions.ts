/** How to ask each scenario's program for its version, for the matrix table (as the original listed them). */
const BY_PREFIX: [string, string[]][] = [
  ["sshd", ["ssh", "-V"]],
  ["ssh-", ["ssh", "-V"]],
  ["curl", ["curl", "--version"]],
  ["wget", ["wget", "--version"]],
  ["apache", ["apache2", "-v"]],
  ["nginx", ["nginx", "-v"]],
  ["nodejs", ["node", "--version"]],
  ["java", ["java", "-version"]],
  ["redis", ["redis-server", "--version"]],
  ["postgresql", ["sh", "-c", 'for p in /usr/lib/postgresql/*/bin/postgres; do v="$p"; done; "$v" --version']],
  ["python", ["/usr/bin/python3", "--version"]],
  ["iperf3", ["iperf3", "--version"]],
];

/**
 * The first line the program prints about its version, or "" when unknown. Asked as the container's
 * user, so PATH resolves to the same binary the scenario ran inside.
 */
export function programVersion(scenario: string, user: string): string {
  const argv = BY_PREFIX.find(([p]) => scenario.startsWith(p))?.[1];
  if (argv === undefined) return "";
  try {
    const r = Bun.spawnSync(["setpriv", `--reuid=${user}`, `--regid=${user}`, "--clear-groups", "--", ...argv], { stdout: "pipe", stderr: "pipe" });
    const text = `${r.stdout.toString()}\n${r.stderr.toString()}`;
    const line = text.split("\n").map((l) => l.trim()).find((l) => l.length > 0) ?? "";
    return line.slice(0, 70);
  } catch {
    return "";
  }
}
