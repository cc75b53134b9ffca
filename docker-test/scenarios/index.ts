/** Every scenario, in the order the runner runs them (service-death last: it kills the service). */
import type { Scenario } from "../scenario.ts";
import { curlScenario } from "./curl.ts";
import { nginxScenarios } from "./nginx.ts";
import { nodejsScenario } from "./nodejs.ts";
import { pythonScenario } from "./python.ts";
import { redisScenario } from "./redis.ts";
import { serviceDeathScenario } from "./service-death.ts";

export const SCENARIOS: Scenario[] = [
  curlScenario,
  pythonScenario,
  nodejsScenario,
  redisScenario,
  ...nginxScenarios,
  serviceDeathScenario,
];
