/**
 * The /controller part of the local JSON API, as zerotier-one 1.14 serves it:
 *
 *   GET    /controller                                   {controller, apiVersion, clock, databaseReady}
 *   GET    /controller/network                           ["<nwid>", …]
 *   POST   /controller/network                           create, random ID
 *   POST   /controller/network/<address>______           create, random ID (older form)
 *   GET/POST/DELETE /controller/network/<nwid>
 *   GET    /controller/network/<nwid>/member             {"<address>": revision, …}
 *   GET/POST/DELETE /controller/network/<nwid>/member/<address>
 *   GET    /unstable/controller/network[/<nwid>/member]  {data, meta} listings
 *
 * Routes match any path segment and validate it here, so a malformed ID is a 400 with a message
 * rather than a 404. PUT is accepted wherever POST is, as in the reference.
 */

import type { JsonObject } from "../util/json.ts";
import { type ApiResult, badRequest, ok, type Router } from "../util/router.ts";
import type { ApiOutcome, Controller } from "./controller.ts";
import { parseMemberAddress, parseNetworkId } from "./ids.ts";

export const CONTROLLER_API_VERSION = 4;

const SEG = "([^/]+)";
const WRITE = ["POST", "PUT"] as const;

export function controllerRoutes(router: Router, controller: Controller, now: () => number = Date.now): void {
  router.add("GET", /^\/controller$/, () =>
    ok({ controller: true, apiVersion: CONTROLLER_API_VERSION, clock: now(), databaseReady: true }),
  );

  router.add("GET", /^\/controller\/network$/, () => ok(controller.listNetworks()));
  router.add(WRITE, /^\/controller\/network$/, async (req) => outcome(await controller.createNetwork(req.body)));

  router.add("GET", /^\/unstable\/controller\/network$/, () => {
    const data: JsonObject[] = [];
    for (const nwid of controller.listNetworks()) {
      const n = controller.getNetwork(nwid)!;
      const members = controller.listMembers(nwid) ?? [];
      n.meta = { authorizedMemberCount: members.filter((m) => m.authorized === true).length, totalMemberCount: members.length };
      data.push(n);
    }
    return ok({ data, meta: { networkCount: data.length } });
  });

  router.add(WRITE, new RegExp(`^/controller/network/${SEG}$`), async (req) => {
    const seg = req.params[0]!;
    const legacy = /^([0-9a-fA-F]{10})______$/.exec(seg);
    if (legacy) {
      if (legacy[1]!.toLowerCase() !== controller.address) {
        return badRequest(`${legacy[1]} is not this controller's address (${controller.address})`);
      }
      return outcome(await controller.createNetwork(req.body));
    }
    const nwid = parseNetworkId(seg);
    if (nwid === null) return badRequest(`malformed network ID "${seg}": expected 16 hex digits`);
    return outcome(await controller.postNetwork(nwid, req.body));
  });

  router.add(["GET", "DELETE"], new RegExp(`^/controller/network/${SEG}$`), async (req) => {
    const nwid = parseNetworkId(req.params[0]!);
    if (nwid === null) return badRequest(`malformed network ID "${req.params[0]}": expected 16 hex digits`);
    const rec = req.method === "GET" ? controller.getNetwork(nwid) : await controller.deleteNetwork(nwid);
    return rec === null ? { status: 404, json: {} } : ok(rec);
  });

  router.add("GET", new RegExp(`^/controller/network/${SEG}/member$`), (req) => {
    const nwid = parseNetworkId(req.params[0]!);
    if (nwid === null) return badRequest(`malformed network ID "${req.params[0]}": expected 16 hex digits`);
    const list = controller.memberRevisions(nwid);
    return list === null ? { status: 404, json: {} } : ok(list);
  });

  router.add("GET", new RegExp(`^/unstable/controller/network/${SEG}/member$`), (req) => {
    const nwid = parseNetworkId(req.params[0]!);
    if (nwid === null) return badRequest(`malformed network ID "${req.params[0]}": expected 16 hex digits`);
    const data = controller.listMembers(nwid);
    if (data === null) return { status: 404, json: {} };
    return ok({ data, meta: { authorizedCount: data.filter((m) => m.authorized === true).length, totalCount: data.length } });
  });

  const memberPath = new RegExp(`^/controller/network/${SEG}/member/${SEG}$`);
  router.add(["GET", "DELETE", ...WRITE], memberPath, async (req) => {
    const nwid = parseNetworkId(req.params[0]!);
    if (nwid === null) return badRequest(`malformed network ID "${req.params[0]}": expected 16 hex digits`);
    const address = parseMemberAddress(req.params[1]!);
    if (address === null) return badRequest(`malformed member address "${req.params[1]}": expected 10 hex digits, not reserved`);
    if (req.method === "POST" || req.method === "PUT") return outcome(await controller.postMember(nwid, address, req.body));
    const rec = req.method === "GET" ? controller.getMember(nwid, address) : await controller.deleteMember(nwid, address);
    return rec === null ? { status: 404, json: {} } : ok(rec);
  });
}

function outcome(o: ApiOutcome): ApiResult {
  return o.ok ? ok(o.record) : { status: o.status, json: { error: o.error } };
}
