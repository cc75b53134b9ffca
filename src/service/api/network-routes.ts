import type { JsonValue } from "../../util/json.ts";
import type { NetworkLocalSettings } from "../../vl2/local-conf.ts";
import type { Networks } from "../../vl2/networks.ts";
import { badRequest, notFound, ok, type Router } from "../../util/router.ts";

const SETTINGS = ["allowManaged", "allowGlobal", "allowDefault", "allowDNS"] as const;

/** Boolean local settings from a join body; a non-boolean value is an error naming the key. */
function settingsFromBody(body: JsonValue): Partial<NetworkLocalSettings> | string {
  if (body === null || body === undefined) return {};
  if (typeof body !== "object" || Array.isArray(body)) return "body must be a JSON object";
  const out: { -readonly [K in (typeof SETTINGS)[number]]?: boolean } = {};
  for (const k of SETTINGS) {
    const v = body[k];
    if (v === undefined || v === null) continue;
    if (typeof v !== "boolean") return `${k} must be true or false`;
    out[k] = v;
  }
  return out;
}

/** /network: list, show, join (POST/PUT with optional settings), leave (DELETE) — spec 8.9. */
export function networkRoutes(router: Router, networks: Networks): void {
  const ID = "([0-9a-fA-F]{16})";
  const json = (n: { toJson(): Record<string, unknown> }) => n.toJson() as JsonValue;
  router.add("GET", /^\/network$/, () => ok(networks.all.map(json)));
  router.add("GET", new RegExp(`^/network/${ID}$`), (req) => {
    const n = networks.get(BigInt(`0x${req.params[0]}`));
    return n === null ? notFound() : ok(json(n));
  });
  router.add(["POST", "PUT"], new RegExp(`^/network/${ID}$`), (req) => {
    const nwid = BigInt(`0x${req.params[0]}`);
    if (nwid === 0n) return badRequest("network ID must not be zero");
    const s = settingsFromBody(req.body);
    if (typeof s === "string") return badRequest(s);
    return ok(json(networks.join(nwid, s)));
  });
  router.add("DELETE", new RegExp(`^/network/${ID}$`), async (req) =>
    (await networks.leave(BigInt(`0x${req.params[0]}`))) ? ok({ result: true }) : ok({}),
  );
  router.add(["GET", "POST", "PUT", "DELETE"], /^\/network\/.*$/, () => notFound());
}
