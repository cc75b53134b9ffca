#!/usr/bin/env bun
/**
 * zerotier-netcon-controller: manage the networks hosted by a running service's embedded
 * controller (or zerotier-one's) through the local API, so nobody needs curl.
 *
 *   zerotier-netcon-controller create --name lab --subnet 10.147.17.0/24 [--public]
 *   zerotier-netcon-controller networks | members <nwid> | show <nwid> [address]
 *   zerotier-netcon-controller authorize|deauthorize <nwid> <address>
 *   zerotier-netcon-controller set-ip <nwid> <address> <ip>[,<ip>…] | none
 *   zerotier-netcon-controller update <nwid> '<json>' [--address <member>]
 *   zerotier-netcon-controller delete <nwid> [address]
 */

import { defineCommand, runMain } from "citty";
import { VERSION_STRING } from "../version.ts";
import {
  authorizeCommand,
  createCommand,
  deauthorizeCommand,
  deleteCommand,
  membersCommand,
  networksCommand,
  setIpCommand,
  showCommand,
  statusCommand,
  updateCommand,
} from "./controller/commands.ts";

export const controllerCli = defineCommand({
  meta: { name: "zerotier-netcon-controller", version: VERSION_STRING, description: "Manage the networks of a service's embedded network controller" },
  subCommands: {
    status: statusCommand,
    create: createCommand,
    networks: networksCommand,
    show: showCommand,
    members: membersCommand,
    authorize: authorizeCommand,
    deauthorize: deauthorizeCommand,
    "set-ip": setIpCommand,
    update: updateCommand,
    delete: deleteCommand,
  },
});

if (import.meta.main) await runMain(controllerCli);
