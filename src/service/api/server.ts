import type { Server } from "bun";
import { consola } from "consola";
import { tokenEquals } from "../authtoken.ts";
import type { JsonValue } from "../../util/json.ts";
import { type ApiResult, Router } from "../../util/router.ts";

export interface ApiServerOptions {
  port: number;
  /** Tokens accepted for everything (authtoken.secret). */
  authToken: string;
  /** Extra token accepted for /metrics only (metricstoken.secret). */
  metricsToken?: string;
  router: Router;
  /** Max request body in bytes. */
  maxBody?: number;
}

const PUBLIC_PATHS = new Set(["/health"]);
export const DEFAULT_MAX_BODY = 1 << 20;

/**
 * The local JSON control API (zerotier-one compatible). It listens on loopback only: unlike
 * zerotier-one we never bind a wildcard address, so the token is never exposed to the network (and
 * a request whose peer is not a loopback address is refused anyway). The token is taken from
 * X-ZT1-Auth, Authorization: Bearer, or ?auth=. JSONP (?jsonp=) wraps only authenticated answers:
 * on /health it would let any web page read the node's state without the token.
 */
export class ApiServer {
  private servers: Server<undefined>[] = [];

  constructor(private readonly opts: ApiServerOptions) {}

  start(): void {
    const fetch = (req: Request, server: Server<undefined>) => {
      const peer = server.requestIP(req);
      if (peer === null || !isLoopback(peer.address)) {
        return new Response("{}", { status: 403, headers: { "content-type": "application/json" } });
      }
      return this.handle(req);
    };
    // Bun stops reading a body (chunked ones too) past this size and answers 413 itself.
    const maxRequestBodySize = this.opts.maxBody ?? DEFAULT_MAX_BODY;
    const common = { port: this.opts.port, fetch, development: false, maxRequestBodySize };
    this.servers.push(Bun.serve({ hostname: "127.0.0.1", ...common }));
    try {
      this.servers.push(Bun.serve({ hostname: "::1", ...common }));
    } catch (e) {
      // Hosts without IPv6 loopback still get the IPv4 listener.
      consola.debug(`API: no IPv6 loopback listener: ${(e as Error).message}`);
    }
  }

  get port(): number {
    return this.servers[0]?.port ?? 0;
  }

  stop(): void {
    for (const s of this.servers) s.stop(true);
    this.servers = [];
  }

  private authorized(req: Request, url: URL): boolean {
    if (PUBLIC_PATHS.has(url.pathname)) return true;
    const candidates: string[] = [];
    const h = req.headers.get("x-zt1-auth");
    if (h) candidates.push(h.trim());
    const a = req.headers.get("authorization");
    if (a && /^bearer\s+/i.test(a)) candidates.push(a.replace(/^bearer\s+/i, "").trim());
    const q = url.searchParams.get("auth");
    if (q) candidates.push(q.trim());
    for (const c of candidates) {
      if (tokenEquals(c, this.opts.authToken)) return true;
      if (url.pathname === "/metrics" && this.opts.metricsToken && tokenEquals(c, this.opts.metricsToken)) return true;
    }
    return false;
  }

  async handle(req: Request): Promise<Response> {
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      return respond({ status: 400, json: { error: "bad URL" } }, null);
    }
    if (!this.authorized(req, url)) return respond({ status: 401, json: {} }, null);
    // Public answers are plain JSON: a JSONP callback would hand them to any web page.
    const jsonp = PUBLIC_PATHS.has(url.pathname) ? null : url.searchParams.get("jsonp");

    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, "") : url.pathname;
    const m = this.opts.router.match(req.method, path);
    if (m === null) return respond({ status: 404, json: {} }, jsonp);
    if (m === "methodMismatch") return respond({ status: 405, json: { error: `${req.method} not allowed on ${path}` } }, jsonp);

    let body: JsonValue = null;
    if (req.method === "POST" || req.method === "PUT") {
      const parsed = await readJsonBody(req, this.opts.maxBody ?? DEFAULT_MAX_BODY);
      if (typeof parsed === "object" && parsed !== null && "error" in parsed && parsed.error === true) {
        return respond({ status: parsed.status, json: { error: parsed.message } }, jsonp);
      }
      body = (parsed as { value: JsonValue }).value;
    }
    try {
      const result = await m.handler({ method: req.method, path, params: m.params, query: url.searchParams, body });
      return respond(result, jsonp);
    } catch (e) {
      consola.error(`API ${req.method} ${path}: ${(e as Error).stack ?? e}`);
      return respond({ status: 500, json: { error: "internal error" } }, jsonp);
    }
  }
}

type BodyResult = { value: JsonValue } | { error: true; status: number; message: string };

/** Whether a peer address (as Bun reports it) is loopback: 127.0.0.0/8, ::1, or ::ffff:127.x. */
export function isLoopback(address: string): boolean {
  const a = address.toLowerCase();
  return a === "::1" || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(a);
}

/**
 * The body as JSON, read as a stream and abandoned past `max` bytes whatever Content-Length says
 * (Bun's maxRequestBodySize already enforces it; this keeps the bound when the handler is called
 * directly).
 */
async function readJsonBody(req: Request, max: number): Promise<BodyResult> {
  const tooLarge: BodyResult = { error: true, status: 413, message: `body larger than ${max} bytes` };
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > max) return tooLarge;
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (req.body !== null) {
    const reader = req.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > max) {
        await reader.cancel();
        return tooLarge;
      }
      chunks.push(value);
    }
  }
  const buf = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    buf.set(c, off);
    off += c.length;
  }
  const text = new TextDecoder().decode(buf).trim();
  if (text.length === 0) return { value: null };
  try {
    return { value: JSON.parse(text) as JsonValue };
  } catch (e) {
    return { error: true, status: 400, message: `invalid JSON: ${(e as Error).message}` };
  }
}

function respond(r: ApiResult, jsonp: string | null): Response {
  if (r.text !== undefined) {
    return new Response(r.text, { status: r.status, headers: { "content-type": r.contentType ?? "text/plain" } });
  }
  const json = JSON.stringify(r.json ?? {});
  if (jsonp && /^[A-Za-z_$][\w$.]*$/.test(jsonp)) {
    return new Response(`${jsonp}(${json});`, { status: r.status, headers: { "content-type": "application/javascript" } });
  }
  return new Response(json, { status: r.status, headers: { "content-type": "application/json" } });
}
