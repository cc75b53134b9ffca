#!/usr/bin/env bun
/**
 * One local-API request to the service whose home is argv[2] (run inside its network namespace):
 * `bun api-call.ts <home> <METHOD> <path> [json body]` prints the status and the body.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

const [home, method, path, body] = process.argv.slice(2) as [string, string, string, string | undefined];
const port = readFileSync(join(home, "zerotier-one.port"), "utf8").trim();
const token = readFileSync(join(home, "authtoken.secret"), "utf8").trim();
const r = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers: { "X-ZT1-Auth": token, "Content-Type": "application/json" }, body });
process.stdout.write(`${r.status}\n${await r.text()}`);
