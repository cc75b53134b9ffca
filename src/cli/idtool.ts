#!/usr/bin/env bun
/**
 * zerotier-idtool: identity and world utilities, command-compatible with the tool of the same
 * name in ZeroTier One 1.14.1 (exit status 0 on success, 1 on failure; errors on stderr), plus
 * `mkworld` for private planets.
 */

import { type ArgsDef, type CommandDef, defineCommand, renderUsage, runMain } from "citty";
import {
  generateCommand,
  getpublicCommand,
  signCommand,
  validateCommand,
  verifyCommand,
} from "./idtool/identity-commands.ts";
import { genmoonCommand, initmoonCommand } from "./idtool/moon-commands.ts";
import { MKWORLD_FORMAT_HELP, mkworldCommand } from "./idtool/mkworld.ts";

export const idtool = defineCommand({
  meta: {
    name: "zerotier-idtool",
    version: "1.14.1-compatible",
    description: "ZeroTier identity and world tool",
  },
  subCommands: {
    generate: generateCommand,
    validate: validateCommand,
    getpublic: getpublicCommand,
    sign: signCommand,
    verify: verifyCommand,
    initmoon: initmoonCommand,
    genmoon: genmoonCommand,
    mkworld: mkworldCommand,
  },
});

async function showUsage<T extends ArgsDef = ArgsDef>(cmd: CommandDef<T>, parent?: CommandDef<T>): Promise<void> {
  let text = await renderUsage(cmd, parent);
  if ((cmd as unknown) === (mkworldCommand as unknown)) text += `\n\n${MKWORLD_FORMAT_HELP}`;
  process.stdout.write(`${text}\n\n`);
}

if (import.meta.main) await runMain(idtool, { showUsage });
