/**
 * Where the controller keeps its networks and members. The controller holds everything in memory
 * and calls the store to persist each change before it acknowledges it; the store only has to
 * load everything at start and apply puts/deletes in order. A database backend implements this
 * same interface.
 */

import type { JsonObject } from "../util/json.ts";

export interface StoredRecords {
  networks: JsonObject[];
  members: JsonObject[];
}

export interface ControllerStore {
  /** Every network and member record (members carry "nwid"). Called once at start. */
  load(): Promise<StoredRecords>;
  /** Create or replace a network record (keyed by its "id"). Resolves once durable. */
  putNetwork(record: JsonObject): Promise<void>;
  /** Create or replace a member record (keyed by "nwid" + "id"). Resolves once durable. */
  putMember(record: JsonObject): Promise<void>;
  /** Remove a network and all its members. */
  deleteNetwork(nwid: string): Promise<void>;
  deleteMember(nwid: string, address: string): Promise<void>;
}

/** Keeps records in memory only (tests, throw-away controllers). */
export class MemoryStore implements ControllerStore {
  private readonly networks = new Map<string, JsonObject>();
  private readonly members = new Map<string, Map<string, JsonObject>>();

  async load(): Promise<StoredRecords> {
    return {
      networks: [...this.networks.values()].map(clone),
      members: [...this.members.values()].flatMap((m) => [...m.values()].map(clone)),
    };
  }

  async putNetwork(record: JsonObject): Promise<void> {
    this.networks.set(String(record.id), clone(record));
  }

  async putMember(record: JsonObject): Promise<void> {
    const nwid = String(record.nwid);
    let m = this.members.get(nwid);
    if (m === undefined) this.members.set(nwid, (m = new Map()));
    m.set(String(record.id), clone(record));
  }

  async deleteNetwork(nwid: string): Promise<void> {
    this.networks.delete(nwid);
    this.members.delete(nwid);
  }

  async deleteMember(nwid: string, address: string): Promise<void> {
    this.members.get(nwid)?.delete(address);
  }
}

function clone(o: JsonObject): JsonObject {
  return structuredClone(o);
}
