import { afterEach, describe, expect, test } from "bun:test";
import { EPOLLET, EPOLLIN, EPOLLOUT, EPOLLRDHUP, type EpollMember, EpollSet } from "../../ffi/epoll-set.ts";
import { unixClose, unixRecv, unixSend, unixSocketPair } from "../../ffi/unix.ts";
import { waitFor } from "../e2e/helpers.ts";
import { ioUringAllowed } from "./io-uring-allowed.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

async function openSet(maxEvents?: number): Promise<EpollSet> {
  const set = await EpollSet.open(maxEvents);
  if (typeof set === "string") throw new Error(set);
  cleanups.push(() => set.close());
  return set;
}

/** A socketpair: `ours` goes into the set, `theirs` is the other end. Records the events told. */
function member(): { ours: number; theirs: number; events: number[]; m: EpollMember } {
  const pair = unixSocketPair();
  if (pair === null) throw new Error("socketpair failed");
  const [ours, theirs] = pair;
  cleanups.push(() => {
    unixClose(ours);
    unixClose(theirs);
  });
  const events: number[] = [];
  return { ours, theirs, events, m: { onEpollEvents: (e) => events.push(e) } };
}

/** Until `cond` holds (the event loop runs meanwhile). */
const until = (what: string, cond: () => boolean): Promise<boolean> => waitFor(what, async () => (cond() ? true : null), 2000);

const ONE = Uint8Array.of(7);
const BASE = EPOLLIN | EPOLLRDHUP | EPOLLET;

describe.if(ioUringAllowed())("EpollSet (io_uring allowed here)", () => {
  test("a write to a member's peer wakes the event loop through the doorbell and tells that member EPOLLIN", async () => {
    const set = await openSet();
    const a = member();
    const b = member();
    expect(set.add(a.ours, BASE, a.m)).toBeGreaterThanOrEqual(0);
    expect(set.add(b.ours, BASE, b.m)).toBeGreaterThanOrEqual(0);
    expect(set.stats.members).toBe(2);
    unixSend(b.theirs, ONE, 0, 1);
    await until("b told", () => b.events.length > 0);
    expect(b.events[0]! & EPOLLIN).toBe(EPOLLIN);
    expect(a.events).toEqual([]);
  });

  test("edge-triggered: unread bytes are not told again, new bytes are", async () => {
    const set = await openSet();
    const a = member();
    set.add(a.ours, BASE, a.m);
    unixSend(a.theirs, ONE, 0, 1);
    await until("one event", () => a.events.length === 1);
    set.dispatch();
    expect(a.events.length).toBe(1);
    unixSend(a.theirs, ONE, 0, 1);
    await until("a second event", () => a.events.length === 2);
    const buf = new Uint8Array(8);
    expect(unixRecv(a.ours, buf, 0, 8)).toBe(2);
  });

  test("bytes already queued when an fd joins are told (a program that wrote before the bridge started)", async () => {
    const set = await openSet();
    const a = member();
    unixSend(a.theirs, ONE, 0, 1);
    set.add(a.ours, BASE, a.m);
    await until("one event", () => a.events.length === 1);
  });

  test("modify asks for EPOLLOUT; remove stops the events and frees the slot", async () => {
    const set = await openSet();
    const a = member();
    const slot = set.add(a.ours, BASE, a.m);
    expect(set.modify(slot, a.ours, BASE | EPOLLOUT)).toBe(0);
    await until("EPOLLOUT", () => a.events.some((e) => (e & EPOLLOUT) !== 0));
    set.remove(slot, a.ours);
    expect(set.stats.members).toBe(0);
    const told = a.events.length;
    unixSend(a.theirs, ONE, 0, 1);
    set.dispatch(); // epoll_wait now: a registered fd with a byte queued would be told here
    expect(a.events.length).toBe(told);
    const b = member();
    expect(set.add(b.ours, BASE, b.m)).toBe(slot);
    expect(set.modify(slot + 1, b.ours, BASE)).toBeLessThan(0);
  });

  test("more ready members than one epoll_wait returns: one dispatch tells them all", async () => {
    const set = await openSet(2);
    const ms = Array.from({ length: 5 }, member);
    for (const x of ms) set.add(x.ours, BASE, x.m);
    for (const x of ms) unixSend(x.theirs, ONE, 0, 1);
    set.dispatch();
    expect(ms.map((x) => x.events.length)).toEqual([1, 1, 1, 1, 1]);
    expect(set.stats.waits).toBeGreaterThanOrEqual(3);
  });

  test("a member that throws does not stop the others", async () => {
    const set = await openSet();
    const a = member();
    const b = member();
    set.add(a.ours, BASE, { onEpollEvents: () => { throw new Error("boom"); } });
    set.add(b.ours, BASE, b.m);
    unixSend(a.theirs, ONE, 0, 1);
    unixSend(b.theirs, ONE, 0, 1);
    set.dispatch();
    expect(b.events.length).toBe(1);
  });

  test("bad input: a closed fd is refused with -EBADF; a closed set refuses adds; maxEvents is checked", async () => {
    const set = await openSet();
    const a = member();
    expect(set.add(987654, BASE, a.m)).toBe(-9);
    expect(set.stats.members).toBe(0);
    set.close();
    expect(set.add(a.ours, BASE, a.m)).toBeLessThan(0);
    await expect(EpollSet.open(0)).rejects.toThrow(RangeError);
  });
});
