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
  ["python", ["python3", "--version"]],
  ["iperf3", ["iperf3", "--version"]],
];

/** The command that prints the version of a scenario's program, or undefined (service-death). */
export function versionCommand(scenario: string): string[] | undefined {
  return BY_PREFIX.find(([p]) => scenario.startsWith(p))?.[1];
}

/** The first non-empty line of what a version command printed (stdout, then stderr), cut to 70. */
export function firstLine(stdout: string, stderr: string): string {
  const line = `${stdout}\n${stderr}`.split("\n").map((l) => l.trim()).find((l) => l.length > 0) ?? "";
  return line.slice(0, 70);
}
