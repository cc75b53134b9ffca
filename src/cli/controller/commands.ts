/** citty definitions of the controller CLI's subcommands (thin wrappers over ops.ts). */

import { defineCommand } from "citty";
import { CliUsageError, resolveTarget, type ApiTarget } from "../zerotier-cli/client.ts";
import * as ops from "./ops.ts";

const DEFAULT_HOME = process.env.ZEROTIER_HOME ?? "/var/lib/zerotier-one";

const common = {
  home: { type: "string", description: "service home directory (port and token are read from it)", default: DEFAULT_HOME },
  port: { type: "string", description: "API port (default: zerotier-one.port in the home directory)" },
  token: { type: "string", description: "auth token (default: authtoken.secret in the home directory)" },
  host: { type: "string", description: "API host", default: "127.0.0.1" },
  json: { type: "boolean", description: "print JSON", default: false },
} as const;

interface CommonArgs {
  home: string;
  port?: string;
  token?: string;
  host: string;
  json: boolean;
}

function emit(r: ops.CliResult): never {
  if (r.out) process.stdout.write(r.out);
  if (r.err) process.stderr.write(r.err.startsWith("zerotier-netcon-controller") ? r.err : `zerotier-netcon-controller: ${r.err}`);
  process.exit(r.code);
}

function target(a: CommonArgs): ApiTarget {
  let port: number | undefined;
  if (a.port !== undefined) {
    port = Number(a.port);
    if (!Number.isInteger(port) || port <= 0 || port > 0xffff) emit({ code: 2, out: "", err: `invalid port ${a.port}\n` });
  }
  try {
    return resolveTarget({ home: a.home, port, token: a.token, host: a.host });
  } catch (e) {
    if (e instanceof CliUsageError) emit({ code: 2, out: "", err: `${e.message}\n` });
    throw e;
  }
}

const nwidArg = { type: "positional", description: "network ID (16 hex digits)", required: true } as const;
const addrArg = { type: "positional", description: "member address (10 hex digits)", required: true } as const;
const optAddrArg = { type: "positional", description: "member address (10 hex digits)", required: false } as const;

export const statusCommand = defineCommand({
  meta: { name: "status", description: "Is the embedded controller up?" },
  args: { ...common },
  async run({ args }) {
    emit(await ops.status(target(args), args.json));
  },
});

export const createCommand = defineCommand({
  meta: { name: "create", description: "Create a network under this node's address; prints its ID" },
  args: {
    ...common,
    name: { type: "string", description: "network name" },
    subnet: { type: "string", description: "CIDR(s), comma-separated: adds the route and a pool of its host addresses" },
    pool: { type: "string", description: "START-END range(s), comma-separated" },
    route: { type: "string", description: "CIDR(s), comma-separated ('CIDR via GW' for a gateway)" },
    public: { type: "boolean", description: "anyone may join (default: private, members must be authorized)", default: false },
  },
  async run({ args }) {
    emit(await ops.create(target(args), { name: args.name, subnet: args.subnet, pool: args.pool, route: args.route, private: !args.public }, args.json));
  },
});

export const networksCommand = defineCommand({
  meta: { name: "networks", description: "List this controller's networks" },
  args: { ...common },
  async run({ args }) {
    emit(await ops.networks(target(args), args.json));
  },
});

export const showCommand = defineCommand({
  meta: { name: "show", description: "Print a network's (or a member's) record as JSON" },
  args: { ...common, nwid: nwidArg, address: optAddrArg },
  async run({ args }) {
    emit(await ops.show(target(args), args.nwid, args.address));
  },
});

export const membersCommand = defineCommand({
  meta: { name: "members", description: "List a network's members" },
  args: { ...common, nwid: nwidArg },
  async run({ args }) {
    emit(await ops.members(target(args), args.nwid, args.json));
  },
});

export const authorizeCommand = defineCommand({
  meta: { name: "authorize", description: "Authorize a member (it may join a private network)" },
  args: { ...common, nwid: nwidArg, address: addrArg },
  async run({ args }) {
    emit(await ops.updateMember(target(args), args.nwid, args.address, { authorized: true }, "authorized", args.json));
  },
});

export const deauthorizeCommand = defineCommand({
  meta: { name: "deauthorize", description: "Revoke a member's authorization" },
  args: { ...common, nwid: nwidArg, address: addrArg },
  async run({ args }) {
    emit(await ops.updateMember(target(args), args.nwid, args.address, { authorized: false }, "deauthorized", args.json));
  },
});

export const setIpCommand = defineCommand({
  meta: { name: "set-ip", description: "Set a member's static IP address(es); 'none' clears them" },
  args: { ...common, nwid: nwidArg, address: addrArg, ips: { type: "positional", description: "IP address(es), comma-separated, or 'none'", required: true } },
  async run({ args }) {
    const ips = [String(args.ips), ...args._.slice(3).map(String)];
    const r = ops.setIpBody(ips);
    if ("fail" in r) emit(r.fail);
    else emit(await ops.updateMember(target(args), args.nwid, args.address, r.body, `ips set to ${ips.join(",")}`, args.json));
  },
});

export const updateCommand = defineCommand({
  meta: { name: "update", description: "POST raw JSON to a network (or member), e.g. '{\"mtu\":1400}'" },
  args: { ...common, nwid: nwidArg, body: { type: "positional", description: "JSON object", required: true }, address: { type: "string", description: "member address: update this member instead" } },
  async run({ args }) {
    emit(await ops.update(target(args), args.nwid, args.address, args.body, args.json));
  },
});

export const deleteCommand = defineCommand({
  meta: { name: "delete", description: "Delete a network (and its members), or one member" },
  args: { ...common, nwid: nwidArg, address: optAddrArg },
  async run({ args }) {
    emit(await ops.remove(target(args), args.nwid, args.address));
  },
});
