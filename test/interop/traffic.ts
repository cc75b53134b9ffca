/** Traffic between namespaces for the interop checks: ping and sha256-checked TCP transfers (nc). */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { NetnsLab } from "../e2e/netns-lab.ts";
import { must, until } from "./support.ts";

/** Wait until one echo comes back, then require `count` more with no loss; returns ping's rtt line. */
export async function ping(lab: NetnsLab, ns: string, ip: string, count = 5): Promise<string> {
  await until(`a first echo reply from ${ip}`, async (saw) => {
    const r = await lab.exec(ns, ["ping", "-c", "1", "-W", "1", ip], { allowFail: true, timeoutMs: 5_000 });
    saw(r.out.trim().split("\n").pop() ?? "");
    return r.code === 0 ? true : null;
  }, 30_000);
  const r = await lab.exec(ns, ["ping", "-c", String(count), "-i", "0.2", "-W", "2", ip], { allowFail: true, timeoutMs: 30_000 });
  must(/ 0% packet loss/.test(r.out), `ping ${ip}: ${r.out.trim().split("\n").slice(-2).join("; ")}`);
  return /rtt [^\n]*/.exec(r.out)?.[0] ?? "";
}

/** Ping that must get no reply at all. */
export async function noReply(lab: NetnsLab, ns: string, ip: string, count = 3): Promise<void> {
  const r = await lab.exec(ns, ["ping", "-c", String(count), "-i", "0.3", "-W", "2", ip], { allowFail: true, timeoutMs: 30_000 });
  must(/ 100% packet loss/.test(r.out) || /unreachable|Network is/.test(r.out + r.err), `ping ${ip} still answered: ${r.out.trim().split("\n").slice(-2).join("; ")}`);
}

let port = 5100;

/**
 * `bytes` of random data from `fromNs` to `toIp` (a listener in `toNs`) over TCP; sha256 must match.
 * `wrap` prefixes the sender's command (e.g. `env LD_PRELOAD=…` to send from a network container).
 */
export async function transfer(lab: NetnsLab, tmp: string, fromNs: string, toNs: string, toIp: string, bytes: number, wrap: string[] = []): Promise<string> {
  const p = port++;
  const data = randomBytes(bytes);
  const file = join(tmp, `payload-${p}.bin`);
  writeFileSync(file, data);
  const want = new Bun.CryptoHasher("sha256").update(data).digest("hex");
  const recv = lab.exec(toNs, ["sh", "-c", `nc -l ${p} | sha256sum`], { allowFail: true, timeoutMs: 180_000 });
  await until(`a listener on ${toIp}:${p}`, async () => {
    const r = await lab.exec(toNs, ["ss", "-Hltn", `sport = :${p}`], { allowFail: true });
    return r.out.includes(`:${p}`) ? true : null;
  }, 10_000);
  const t0 = performance.now();
  const sent = await lab.exec(fromNs, [...wrap, "sh", "-c", `nc -N ${toIp} ${p} < ${file}`], { allowFail: true, timeoutMs: 180_000 });
  const got = await recv;
  const secs = (performance.now() - t0) / 1000;
  must(sent.code === 0, `nc sender exited ${sent.code}: ${sent.err.trim()}`);
  const sum = got.out.split(" ")[0];
  must(sum === want, `sha256 ${sum ?? "none"} != sent ${want} (receiver: ${got.err.trim()})`);
  return `${bytes % 1048576 === 0 ? `${bytes / 1048576} MiB` : `${(bytes / 1e6).toFixed(0)} MB`}, sha256 ${want.slice(0, 12)}…, ${(bytes / 1e6 / secs).toFixed(1)} MB/s`;
}
