/**
 * apache-event: Apache httpd 2.4 with mpm_event inside as the unprivileged user (master + child
 * processes with listener and worker threads, epoll); outside 2,000 requests from 20 concurrent
 * curls, all 200 with the full body (see apache-x.ts).
 */
import type { Scenario } from "../scenario.ts";
import { apacheScenario } from "./apache-x.ts";

export const apacheEventScenario: Scenario = {
  name: "apache-event",
  needs: ["apache2", "curl"],
  run: (ctx) => apacheScenario(ctx, "apache-event", "event", 18092),
};
