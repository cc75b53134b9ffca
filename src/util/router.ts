/** The local API's method + path routing, shared by the service and the embedded controller. */
import type { JsonValue } from "./json.ts";

/** What a route handler returns: a status and a JSON body (or raw text for /metrics). */
export interface ApiResult {
  status: number;
  json?: JsonValue;
  text?: string;
  contentType?: string;
}

export interface ApiRequest {
  method: string;
  path: string;
  params: string[];
  query: URLSearchParams;
  /** Parsed JSON body (null when there was none). */
  body: JsonValue;
}

export type RouteHandler = (req: ApiRequest) => ApiResult | Promise<ApiResult>;

interface Route {
  methods: readonly string[];
  pattern: RegExp;
  handler: RouteHandler;
}

export const ok = (json: JsonValue): ApiResult => ({ status: 200, json });
export const notFound = (): ApiResult => ({ status: 404, json: {} });
export const badRequest = (message: string): ApiResult => ({ status: 400, json: { error: message } });

/** Method + anchored regex routing; capture groups become `params`. */
export class Router {
  private readonly routes: Route[] = [];

  add(methods: string | readonly string[], pattern: RegExp, handler: RouteHandler): void {
    this.routes.push({ methods: typeof methods === "string" ? [methods] : methods, pattern, handler });
  }

  /** The matching handler and params; `methodMismatch` when the path exists with other methods. */
  match(method: string, path: string): { handler: RouteHandler; params: string[] } | "methodMismatch" | null {
    let pathMatched = false;
    for (const r of this.routes) {
      const m = r.pattern.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (r.methods.includes(method)) return { handler: r.handler, params: m.slice(1) };
    }
    return pathMatched ? "methodMismatch" : null;
  }
}
