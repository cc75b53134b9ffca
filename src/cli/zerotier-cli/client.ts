import { readFileSync } from "node:fs";
import { join } from "node:path";

/** Where and how to reach a running service's local API. */
export interface ApiTarget {
  host: string;
  port: number;
  token: string;
}

export class CliUsageError extends Error {}

/** Resolve the port and token as zerotier-cli does: explicit flags, else files in the home dir. */
export function resolveTarget(opts: { home: string; port?: number; token?: string; host?: string }): ApiTarget {
  let port = opts.port;
  if (port === undefined) {
    let text: string;
    try {
      text = readFileSync(join(opts.home, "zerotier-one.port"), "utf8");
    } catch {
      throw new CliUsageError(`missing port and zerotier-one.port not found in ${opts.home}`);
    }
    port = Number.parseInt(text.trim(), 10);
    if (!Number.isInteger(port) || port <= 0 || port > 0xffff) {
      throw new CliUsageError(`missing port and zerotier-one.port not found in ${opts.home}`);
    }
  }
  let token = opts.token;
  if (token === undefined) {
    try {
      token = readFileSync(join(opts.home, "authtoken.secret"), "utf8").trim();
    } catch {
      token = "";
    }
    if (token.length === 0) throw new CliUsageError(`authtoken.secret not found or readable in ${opts.home} (try again as root)`);
  }
  return { host: opts.host ?? "127.0.0.1", port, token };
}

export interface ApiResponse {
  status: number;
  body: string;
}

/** One HTTP request to the API. status 0 = could not connect (body holds the reason). */
export async function apiRequest(t: ApiTarget, method: string, path: string, body?: string): Promise<ApiResponse> {
  const host = t.host.includes(":") ? `[${t.host}]` : t.host;
  try {
    const headers: Record<string, string> = { "X-ZT1-Auth": t.token };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(`http://${host}:${t.port}${path}`, {
      method,
      headers,
      body,
      signal: AbortSignal.timeout(60_000),
    });
    return { status: res.status, body: await res.text() };
  } catch (e) {
    return { status: 0, body: (e as Error).message };
  }
}
