/**
 * apache-prefork: Apache httpd 2.4 with mpm_prefork inside as the unprivileged user (master +
 * preforked children sharing the inherited listener); outside 2,000 requests from 20 concurrent
 * curls, all 200 with the full body (see apache-x.ts).
 */
import type { Scenario } from "../scenario.ts";
import { apacheScenario } from "./apache-x.ts";

export const apachePreforkScenario: Scenario = {
  name: "apache-prefork",
  needs: ["apache2", "curl"],
  run: (ctx) => apacheScenario(ctx, "apache-prefork", "prefork", 18091),
};
