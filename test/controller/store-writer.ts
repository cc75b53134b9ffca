/**
 * Child process for the kill -9 test: writes controller records in a loop through the real
 * Controller + FileStore and prints "ack <n>" after each write is acknowledged.
 * Usage: bun store-writer.ts <controller.d> <first counter> <members>
 */
import { Controller } from "../../src/controller/controller.ts";
import { FileStore } from "../../src/controller/file-store.ts";

const [dir, firstArg, membersArg] = process.argv.slice(2);
const first = Number(firstArg);
const members = Number(membersArg);
const nwid = "3bc65e2b50b151d2";
const controller = await Controller.open({ address: "3bc65e2b50", store: new FileStore(dir!) });
if (controller.getNetwork(nwid) === null) await controller.postNetwork(nwid, { name: "n0" });
for (let i = first; ; i++) {
  const address = (0x1000000000 + (i % members)).toString(16);
  const r =
    i % 7 === 0
      ? await controller.postNetwork(nwid, { name: `n${i}` })
      : await controller.postMember(nwid, address, { name: `v${i}`, authorized: i % 2 === 0, ipAssignments: [`10.0.${(i >> 8) & 255}.${i & 255}`] });
  if (!r.ok) throw new Error(r.error);
  process.stdout.write(`ack ${i}\n`);
}
