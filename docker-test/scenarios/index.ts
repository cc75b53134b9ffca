/** Every scenario, in the order the runner runs them (service-death last: it kills the service). */
import type { Scenario } from "../scenario.ts";
import { apacheEventScenario } from "./apache-event.ts";
import { apachePreforkScenario } from "./apache-prefork.ts";
import { apacheXScenario } from "./apache-x.ts";
import { curlScenario } from "./curl.ts";
import { iperf3Scenario } from "./iperf3.ts";
import { javaScenario } from "./java.ts";
import { nginxScenarios } from "./nginx.ts";
import { nodejsScenario } from "./nodejs.ts";
import { postgresqlScenario } from "./postgresql.ts";
import { pythonScenario } from "./python.ts";
import { redisScenario } from "./redis.ts";
import { serviceDeathScenario } from "./service-death.ts";
import { sshScpSftpScenario } from "./ssh-scp-sftp.ts";
import { sshdScenario } from "./sshd.ts";
import { wgetScenario } from "./wget.ts";

export const SCENARIOS: Scenario[] = [
  sshdScenario,
  sshScpSftpScenario,
  curlScenario,
  wgetScenario,
  apacheXScenario,
  apachePreforkScenario,
  apacheEventScenario,
  ...nginxScenarios,
  nodejsScenario,
  javaScenario,
  redisScenario,
  postgresqlScenario,
  pythonScenario,
  iperf3Scenario,
  serviceDeathScenario,
];
