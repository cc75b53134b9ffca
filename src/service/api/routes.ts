import type { JsonObject, JsonValue } from "../../util/json.ts";
import type { MetricsRegistry } from "../metrics.ts";
import { VERSION_BUILD, VERSION_MAJOR, VERSION_MINOR, VERSION_REVISION, VERSION_STRING } from "../../version.ts";
import { notFound, ok, Router } from "../../util/router.ts";

/** What the API needs to know about the running service. Each part is owned by its layer. */
export interface ServiceView {
  address(): string;
  publicIdentity(): string;
  online(): boolean;
  homeDir(): string;
  primaryPort(): number;
  listeningOn(): string[];
  surfaceAddresses(): string[];
  planet(): { id: number; timestamp: number };
  localConf(): JsonObject;
  /** Merge keys into local.conf settings; returns the new local.conf, or an error message. */
  updateSettings(patch: JsonObject): JsonObject | string;
  peers(): JsonObject[];
  peer(address: string): JsonObject | null;
  metrics: MetricsRegistry;
  /** Wall clock (ms since the epoch) for `clock` fields. */
  wallClock(): number;
}

const versionFields = () => ({
  versionMajor: VERSION_MAJOR,
  versionMinor: VERSION_MINOR,
  versionRev: VERSION_REVISION,
  versionBuild: VERSION_BUILD,
  version: VERSION_STRING,
});

export function statusJson(v: ServiceView): JsonObject {
  const conf = v.localConf();
  const settings = typeof conf.settings === "object" && conf.settings !== null && !Array.isArray(conf.settings) ? conf.settings : {};
  const planet = v.planet();
  return {
    address: v.address(),
    publicIdentity: v.publicIdentity(),
    online: v.online(),
    tcpFallbackActive: false,
    ...versionFields(),
    clock: v.wallClock(),
    config: {
      ...conf,
      settings: {
        allowTcpFallbackRelay: true,
        forceTcpRelay: false,
        portMappingEnabled: false,
        softwareUpdate: "disable",
        softwareUpdateChannel: "release",
        ...settings,
        primaryPort: v.primaryPort(),
        secondaryPort: 0,
        tertiaryPort: 0,
        homeDir: v.homeDir(),
        listeningOn: v.listeningOn(),
        surfaceAddresses: v.surfaceAddresses(),
      },
    },
    planetWorldId: planet.id,
    planetWorldTimestamp: planet.timestamp,
  };
}

/** The node-level routes (status, health, config, metrics, peers). Networks, moons and the controller add theirs. */
export function nodeRoutes(router: Router, v: ServiceView): void {
  router.add("GET", /^\/status$/, () => ok(statusJson(v)));
  router.add("GET", /^\/health$/, () => ok({ online: v.online(), ...versionFields(), clock: v.wallClock() }));
  router.add("GET", /^\/config$/, () => ok(v.localConf()));
  router.add(["POST", "PUT"], /^\/config\/settings$/, (req) => {
    const body: JsonValue = req.body;
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      return { status: 400, json: { error: "body must be a JSON object of settings" } };
    }
    const r = v.updateSettings(body);
    return typeof r === "string" ? { status: 400, json: { error: r } } : ok(r);
  });
  router.add("GET", /^\/metrics$/, () => ({ status: 200, text: v.metrics.render(), contentType: "text/plain; version=0.0.4" }));
  router.add("GET", /^\/peer$/, () => ok(v.peers()));
  router.add("GET", /^\/peer\/([0-9a-fA-F]{10})$/, (req) => {
    const p = v.peer(req.params[0]!.toLowerCase());
    return p === null ? ok({}) : ok(p);
  });
  router.add("GET", /^\/peer\/.*$/, () => notFound());
}
