/**
 * The node's ONLINE state (spec 8.2): online while an upstream (root or moon) was heard from
 * within PEER_ACTIVITY_TIMEOUT, or always when we are an upstream ourselves. Changes are reported
 * once, as they happen.
 */

import { NEVER } from "./path.ts";
import { PEER_ACTIVITY_TIMEOUT } from "./peer.ts";

export class OnlineStatus {
  private isOnline = false;
  private lastReceiveFromUpstream = NEVER;
  private readonly changed: (online: boolean) => void;

  constructor(changed: (online: boolean) => void) {
    this.changed = changed;
  }

  get online(): boolean {
    return this.isOnline;
  }

  /** An authenticated packet from an upstream arrived: online at once. */
  upstreamReceived(now: number): void {
    this.lastReceiveFromUpstream = now;
    if (!this.isOnline) this.set(true);
  }

  /** Periodic re-evaluation; `lastUp` = latest receive from any upstream peer (NEVER if none). */
  update(now: number, lastUp: number, amUpstream: boolean): void {
    if (lastUp > this.lastReceiveFromUpstream) this.lastReceiveFromUpstream = lastUp;
    this.set(now - this.lastReceiveFromUpstream < PEER_ACTIVITY_TIMEOUT || amUpstream);
  }

  private set(on: boolean): void {
    if (on === this.isOnline) return;
    this.isOnline = on;
    this.changed(on);
  }
}
