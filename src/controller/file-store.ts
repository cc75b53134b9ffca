/**
 * The embedded controller's JSON file database, in zerotier-one's FileDB layout so a controller
 * directory can be moved between the two:
 *
 *   controller.d/network/<16 hex nwid>.json
 *   controller.d/network/<16 hex nwid>/member/<10 hex address>.json
 *   controller.d/trace/            (created, unused)
 *
 * Crash safety: every file is replaced by write-temp + fsync + rename + fsync(dir), so after a
 * kill at any instant each record is either its old or its new version. Temp files left by a
 * crash, and member directories whose network file is gone (a crash halfway through a network
 * delete), are removed at load.
 */

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { consola } from "consola";
import { fsyncDir, TMP_MARK, writeFileAtomic } from "../util/atomic-file.ts";
import type { JsonObject } from "../util/json.ts";
import { parseMemberAddress, parseNetworkId } from "./ids.ts";
import { isJsonObject } from "./json-fields.ts";
import { sortedJson } from "./json-order.ts";
import type { ControllerStore, StoredRecords } from "./store.ts";


export class FileStore implements ControllerStore {
  readonly networksDir: string;

  /** `dir` is the controller.d directory (created with mode 0700 if missing). */
  constructor(readonly dir: string) {
    this.networksDir = join(dir, "network");
  }

  async load(): Promise<StoredRecords> {
    mkdirSync(this.networksDir, { recursive: true, mode: 0o700 });
    mkdirSync(join(this.dir, "trace"), { recursive: true, mode: 0o700 });
    const out: StoredRecords = { networks: [], members: [] };
    const entries = readdirSync(this.networksDir, { withFileTypes: true });
    const networkIds = new Set<string>();
    for (const e of entries) {
      const p = join(this.networksDir, e.name);
      if (e.name.includes(TMP_MARK)) {
        unlinkQuiet(p);
        continue;
      }
      if (!e.isFile() || e.name.length !== 21 || !e.name.endsWith(".json")) continue;
      const nwid = parseNetworkId(e.name.slice(0, 16));
      const rec = nwid === null ? null : readRecord(p);
      if (nwid === null || rec === null || rec.id !== nwid) continue;
      networkIds.add(nwid);
      out.networks.push(rec);
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const dirPath = join(this.networksDir, e.name);
      if (!networkIds.has(e.name)) {
        // Left by a delete interrupted after the network file went away.
        if (parseNetworkId(e.name) === e.name) rmSync(dirPath, { recursive: true, force: true });
        continue;
      }
      const memberDir = join(dirPath, "member");
      if (!existsSync(memberDir)) continue;
      for (const m of readdirSync(memberDir, { withFileTypes: true })) {
        const p = join(memberDir, m.name);
        if (m.name.includes(TMP_MARK)) {
          unlinkQuiet(p);
          continue;
        }
        if (!m.isFile() || m.name.length !== 15 || !m.name.endsWith(".json")) continue;
        const addr = parseMemberAddress(m.name.slice(0, 10));
        const rec = addr === null ? null : readRecord(p);
        if (addr === null || rec === null || rec.id !== addr) continue;
        rec.nwid = e.name;
        out.members.push(rec);
      }
    }
    return out;
  }

  async putNetwork(record: JsonObject): Promise<void> {
    const nwid = String(record.id);
    writeDurably(this.networksDir, `${nwid}.json`, JSON.stringify(sortedJson(record)));
  }

  async putMember(record: JsonObject): Promise<void> {
    const dir = join(this.networksDir, String(record.nwid), "member");
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeDurably(dir, `${String(record.id)}.json`, JSON.stringify(sortedJson(record)));
  }

  async deleteNetwork(nwid: string): Promise<void> {
    // Network file first: a crash before the directory is gone leaves an orphan that load() removes.
    unlinkQuiet(join(this.networksDir, `${nwid}.json`));
    fsyncDir(this.networksDir);
    rmSync(join(this.networksDir, nwid), { recursive: true, force: true });
  }

  async deleteMember(nwid: string, address: string): Promise<void> {
    const dir = join(this.networksDir, nwid, "member");
    unlinkQuiet(join(dir, `${address}.json`));
    if (existsSync(dir)) fsyncDir(dir);
  }
}

function readRecord(path: string): JsonObject | null {
  try {
    const v: unknown = JSON.parse(readFileSync(path, "utf8"));
    if (isJsonObject(v)) return v;
    consola.warn(`controller: ignoring ${path}: not a JSON object`);
  } catch (e) {
    consola.warn(`controller: ignoring ${path}: ${(e as Error).message}`);
  }
  return null;
}

/** Replace dir/name atomically and durably (util/atomic-file.ts). */
function writeDurably(dir: string, name: string, text: string): void {
  writeFileAtomic(join(dir, name), text, 0o600);
}

function unlinkQuiet(p: string): void {
  try {
    unlinkSync(p);
  } catch {
    // already gone
  }
}
