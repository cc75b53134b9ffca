/**
 * The Docker engine for docker-test: nothing starts dockerd on these machines, so the runner starts
 * it when it is not answering (and stops it again at the end), and builds its images from Debian
 * packages because no image registry is reachable.
 *
 * Images: a base image made by mmdebstrap (minbase bookworm plus every program of the matrix),
 * imported with `docker import` and tagged by a hash of its recipe, so it is made once per machine;
 * on top, the project image (legacy builder) with the compiled daemon, the library, the launcher
 * and the container's unprivileged user.
 */
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, openSync, rmSync } from "node:fs";
import { join } from "node:path";
import { sh } from "../../test/e2e/netns-lab.ts";

/** What the matrix's programs need, from Debian bookworm (MongoDB is not packaged there). */
export const BASE_PACKAGES = [
  "openssh-server", "openssh-client", "curl", "wget", "apache2", "nginx-light", "nodejs",
  "openjdk-17-jdk-headless", "redis-server", "redis-tools", "postgresql-15", "python3", "iperf3",
  "iproute2", "procps", "netcat-openbsd", "iputils-ping", "passwd", "util-linux", "ca-certificates",
];
const SUITE = "bookworm";
const MIRROR = "http://deb.debian.org/debian";
/** The uid and gid of the container's user, the same in every container of the lab. */
export const CONTAINER_UID = 1500;

export interface Engine {
  /** Stop dockerd if this run started it. */
  stop(): Promise<void>;
}

async function answering(): Promise<boolean> {
  return (await sh(["docker", "info", "--format", "{{.ServerVersion}}"], { allowFail: true, timeoutMs: 20_000 })).code === 0;
}

/** A dockerd that answers: the running one, or one started now (its log in `logFile`). */
export async function ensureEngine(logFile: string): Promise<Engine> {
  if (Bun.which("docker") === null) throw new Error("docker is not installed: apt-get install docker.io mmdebstrap (or run with --netns)");
  if (await answering()) return { stop: async () => {} };
  if (Bun.which("dockerd") === null) throw new Error("docker answers no engine and dockerd is not installed: apt-get install docker.io");
  const fd = openSync(logFile, "a");
  const d = Bun.spawn(["dockerd"], { stdin: "ignore", stdout: fd, stderr: fd });
  const deadline = Date.now() + 60_000;
  while (!(await answering())) {
    if (d.exitCode !== null) throw new Error(`dockerd exited ${d.exitCode}; see ${logFile}`);
    if (Date.now() > deadline) throw new Error(`dockerd did not answer within 60 s; see ${logFile}`);
    await Bun.sleep(250);
  }
  return {
    stop: async () => {
      d.kill("SIGTERM");
      await Promise.race([d.exited, Bun.sleep(20_000)]);
      if (d.exitCode === null) d.kill("SIGKILL");
    },
  };
}

/** The base image's tag: a hash of what goes into it. */
export function baseImageTag(): string {
  const recipe = JSON.stringify({ SUITE, MIRROR, BASE_PACKAGES, v: 1 });
  return `ztnc-dt-base:${createHash("sha256").update(recipe).digest("hex").slice(0, 12)}`;
}

/** Make the base image unless this machine has it: mmdebstrap into a tarball, then docker import. */
export async function ensureBaseImage(scratch: string): Promise<string> {
  const tag = baseImageTag();
  if ((await sh(["docker", "image", "inspect", tag], { allowFail: true })).code === 0) return tag;
  if (Bun.which("mmdebstrap") === null) throw new Error("mmdebstrap is not installed: apt-get install mmdebstrap");
  console.log(`docker-test: building the base image ${tag} from Debian packages (mmdebstrap, about a minute) …`);
  const tar = join(scratch, "rootfs.tar");
  try {
    await sh([
      "mmdebstrap", "--variant=minbase", `--include=${BASE_PACKAGES.join(",")}`,
      // documentation is left out, but openjdk's post-install links a man page into man1
      '--setup-hook=mkdir -p "$1/usr/share/man/man1"',
      "--dpkgopt=path-exclude=/usr/share/man/*", "--dpkgopt=path-include=/usr/share/man/man1",
      "--dpkgopt=path-exclude=/usr/share/doc/*", "--dpkgopt=path-exclude=/usr/share/locale/*",
      SUITE, tar, MIRROR,
    ], { timeoutMs: 900_000 });
    await sh(["docker", "import", "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", tar, tag], { timeoutMs: 300_000 });
  } finally {
    rmSync(tar, { force: true });
  }
  return tag;
}

/**
 * The project image on top of the base: the compiled daemon, the library and the launcher, and the
 * container's user (uid/gid CONTAINER_UID, login shell /bin/sh so its own sshd can run commands).
 */
export async function buildProjectImage(base: string, files: { daemon: string; library: string; launcher: string }, scratch: string): Promise<string> {
  const tag = "ztnc-dt:latest";
  const ctx = join(scratch, "image");
  mkdirSync(ctx, { recursive: true });
  copyFileSync(join(import.meta.dir, "..", "Dockerfile"), join(ctx, "Dockerfile"));
  copyFileSync(files.daemon, join(ctx, "zerotier-netcon-service"));
  copyFileSync(files.library, join(ctx, "libzerotierintercept.so"));
  copyFileSync(files.launcher, join(ctx, "zerotier-intercept"));
  const r = Bun.spawn(["docker", "build", "-q", "--build-arg", `BASE=${base}`, "--build-arg", `UID=${CONTAINER_UID}`, "-t", tag, ctx], {
    env: { ...process.env, DOCKER_BUILDKIT: "0" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(r.stdout).text(), new Response(r.stderr).text(), r.exited]);
  if (code !== 0) throw new Error(`docker build: exit ${code}: ${(err + out).trim().slice(-600)}`);
  return tag;
}
