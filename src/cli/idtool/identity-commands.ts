/** zerotier-idtool generate / validate / getpublic / sign / verify. Output and exit codes follow the reference tool. */

import { defineCommand } from "citty";
import { fromHex, toHex } from "../../util/hex.ts";
import { Identity } from "../../vl1/identity.ts";
import { addressToString } from "../../vl1/address.ts";
import { fail, identityFromArg, out, readBytes, writeFileChecked } from "./common.ts";
import { parseVanity, vanityMatches } from "./vanity.ts";

const badIdentity = (arg: string): void => fail(`Identity argument invalid or file unreadable: ${arg}`);

export const generateCommand = defineCommand({
  meta: {
    name: "generate",
    description: "Generate a new identity; print it, or write identity.secret (mode 0600) and identity.public",
  },
  args: {
    secretFile: { type: "positional", required: false, description: "where to write identity.secret" },
    publicFile: { type: "positional", required: false, description: "where to write identity.public" },
    vanity: { type: "positional", required: false, description: "hex digits the address must start with (slow: x16 per digit)" },
  },
  run({ args }) {
    const vanityArg = args.vanity as string | undefined;
    const vanity = vanityArg === undefined ? null : parseVanity(vanityArg);
    if (vanity !== null && "error" in vanity) return fail(vanity.error);
    let id = Identity.generate();
    if (vanity !== null) {
      // progress on stderr like the reference, so stdout stays the identity / "written" lines
      while (!vanityMatches(id.address, vanity)) {
        process.stderr.write(`vanity address: tried ${addressToString(id.address)} looking for prefix ${vanity.digits}\n`);
        id = Identity.generate();
      }
      process.stderr.write(`vanity address: found ${addressToString(id.address)} !\n`);
    }
    const secretFile = args.secretFile as string | undefined;
    const publicFile = args.publicFile as string | undefined;
    if (secretFile === undefined) return out(id.toString(true));
    const e1 = writeFileChecked(secretFile, id.toString(true), true);
    if (e1 !== null) return fail(`Error writing to ${secretFile}`);
    out(`${secretFile} written\n`);
    if (publicFile === undefined) return;
    const e2 = writeFileChecked(publicFile, id.toString(false));
    if (e2 !== null) return fail(`Error writing to ${publicFile}`);
    out(`${publicFile} written\n`);
  },
});

export const validateCommand = defineCommand({
  meta: { name: "validate", description: "Check an identity's proof of work and address" },
  args: { identity: { type: "positional", description: "identity string or file (identity.secret / identity.public)" } },
  run({ args }) {
    const arg = args.identity as string;
    const id = identityFromArg(arg);
    if (id === null) return badIdentity(arg);
    if (!id.locallyValidate()) return fail(`${arg} FAILED validation.`);
    out(`${arg} is a valid identity\n`);
  },
});

export const getpublicCommand = defineCommand({
  meta: { name: "getpublic", description: "Print the public form of an identity" },
  args: { identity: { type: "positional", description: "identity string or file" } },
  run({ args }) {
    const arg = args.identity as string;
    const id = identityFromArg(arg);
    if (id === null) return badIdentity(arg);
    out(id.toString(false));
  },
});

export const signCommand = defineCommand({
  meta: { name: "sign", description: "Sign a file; prints the 96-byte signature as hex" },
  args: {
    identity: { type: "positional", description: "identity.secret string or file" },
    file: { type: "positional", description: "file to sign" },
  },
  run({ args }) {
    const arg = args.identity as string;
    const file = args.file as string;
    const id = identityFromArg(arg);
    if (id === null) return badIdentity(arg);
    if (!id.hasPrivate) return fail(`${arg} does not contain a private key (must use private to sign)`);
    const data = readBytes(file);
    if (!data.ok) return fail(`${file} is not readable`);
    out(toHex(id.sign(data.data)));
  },
});

export const verifyCommand = defineCommand({
  meta: { name: "verify", description: "Verify a file's signature (hex, or a file holding the hex)" },
  args: {
    identity: { type: "positional", description: "identity string or file" },
    file: { type: "positional", description: "signed file" },
    signature: { type: "positional", description: "signature hex, or a file containing it" },
  },
  run({ args }) {
    const arg = args.identity as string;
    const file = args.file as string;
    const sigArg = args.signature as string;
    const id = identityFromArg(arg);
    if (id === null) return badIdentity(arg);
    const data = readBytes(file);
    if (!data.ok) return fail(`${file} is not readable`);
    // Like the reference: try the argument as hex first, then as the name of a file with the hex.
    let sig = fromHex(sigArg.trim());
    if (sig === null || !id.verify(data.data, sig)) {
      const f = readBytes(sigArg);
      sig = f.ok ? fromHex(new TextDecoder().decode(f.data).trim()) : null;
      if (sig === null || !id.verify(data.data, sig)) return fail(`${file} signature check FAILED`);
    }
    out(`${file} signature valid\n`);
  },
});
