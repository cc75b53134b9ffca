import { addressFromString } from "../../vl1/address.ts";
import type { NodeHost } from "../node-host.ts";
import { badRequest, notFound, ok, type Router } from "../../util/router.ts";

/**
 * /moon: list, show, orbit (POST with {"seed": "<10 hex>"}), deorbit. 1.14's routes take exactly
 * 10 hex digits (the moon's root address, which is the conventional moon ID); we also take 16.
 */
export function moonRoutes(router: Router, host: NodeHost): void {
  const ID = "([0-9a-fA-F]{10}|[0-9a-fA-F]{16})";
  router.add("GET", /^\/moon$/, () => ok(host.moons()));
  router.add("GET", new RegExp(`^/moon/${ID}$`), (req) => {
    const m = host.moon(BigInt(`0x${req.params[0]}`));
    return m === null ? notFound() : ok(m);
  });
  router.add(["POST", "PUT"], new RegExp(`^/moon/${ID}$`), (req) => {
    const id = BigInt(`0x${req.params[0]}`);
    if (id === 0n) return badRequest("moon ID must not be zero");
    const body = req.body;
    let seedText = req.params[0]!.length === 10 ? req.params[0]! : "";
    if (typeof body === "object" && body !== null && !Array.isArray(body) && body.seed !== undefined) {
      if (typeof body.seed !== "string") return badRequest("seed must be a 10-digit hex address");
      seedText = body.seed;
    }
    const seed = addressFromString(seedText);
    if (seed === null) return badRequest("seed must be a 10-digit hex address");
    return ok(host.orbit(id, seed));
  });
  router.add("DELETE", new RegExp(`^/moon/${ID}$`), (req) => (host.deorbit(BigInt(`0x${req.params[0]}`)) ? ok({ result: true }) : ok({})));
  router.add(["GET", "POST", "PUT", "DELETE"], /^\/moon\/.*$/, () => notFound());
}
