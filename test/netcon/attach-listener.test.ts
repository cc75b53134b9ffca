/**
 * The data listener's claim: an attach is found by its header's sockid, accepting stops once the
 * claimed one is filed (the rest stay in the backlog until claimed or swept), and attaches that
 * are malformed, unclaimed or from another uid are dropped and counted.
 */
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unixClose, unixConnect, unixRecv, unixSend, unixSocket } from "../../ffi/unix.ts";
import { AttachListener } from "../../src/netcon/attach-listener.ts";
import { ATTACH_HEADER_SIZE, MAGIC_ATTACH } from "../../src/netcon/protocol.ts";

const dirs: string[] = [];
const fds: number[] = [];
afterEach(() => {
  for (const fd of fds.splice(0)) unixClose(fd);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function listener(now: () => number = () => 0, uid = process.getuid!()): { l: AttachListener; path: string } {
  const dir = mkdtempSync(join(tmpdir(), "attach-listener-"));
  dirs.push(dir);
  const path = join(dir, "n.data");
  return { l: new AttachListener(path, uid, now), path };
}

/** A program socket attached with `sockid` in its header (or `magic` instead of ours). */
function attach(path: string, sockid: number, magic = MAGIC_ATTACH): number {
  const fd = unixSocket();
  fds.push(fd);
  expect(unixConnect(fd, path, false)).toBe(0);
  const h = new Uint8Array(ATTACH_HEADER_SIZE);
  const v = new DataView(h.buffer);
  v.setUint32(0, magic, true);
  v.setUint32(4, sockid, true);
  expect(unixSend(fd, h, 0, h.length)).toBe(h.length);
  return fd;
}

test("claim accepts only up to the attach it wants, and the header stays unread", () => {
  const { l, path } = listener();
  attach(path, 7);
  attach(path, 8);
  attach(path, 9);
  const fd8 = l.claim(8);
  expect(fd8).toBeGreaterThanOrEqual(0);
  expect(l.stats.accepted).toBe(2); // 7 and 8, not 9
  const h = new Uint8Array(ATTACH_HEADER_SIZE);
  expect(unixRecv(fd8, h, 0, h.length)).toBe(ATTACH_HEADER_SIZE); // peeked, not consumed
  expect(new DataView(h.buffer).getUint32(4, true)).toBe(8);
  unixClose(fd8);
  const fd7 = l.claim(7); // filed already: no accept
  expect(fd7).toBeGreaterThanOrEqual(0);
  expect(l.stats.accepted).toBe(2);
  unixClose(fd7);
  const fd9 = l.claim(9);
  expect(fd9).toBeGreaterThanOrEqual(0);
  expect(l.stats.accepted).toBe(3);
  unixClose(fd9);
  expect(l.claim(9)).toBe(-1); // claimed once only
  l.close();
});

test("a malformed header is dropped and counted; an unclaimed attach expires at the sweep", () => {
  let t = 0;
  const { l, path } = listener(() => t);
  attach(path, 1, 0x12345678);
  attach(path, 2);
  expect(l.claim(3)).toBe(-1); // empties the backlog looking for 3
  expect(l.stats.malformed).toBe(1);
  expect(l.stats.accepted).toBe(2);
  t = 10_000;
  l.sweep();
  expect(l.stats.expired).toBe(1);
  expect(l.claim(2)).toBe(-1);
  l.close();
});

test("an attach from another uid is refused", () => {
  const { l, path } = listener(() => 0, process.getuid!() + 1);
  attach(path, 5);
  expect(l.claim(5)).toBe(-1);
  expect(l.stats.refusedUid).toBe(1);
  l.close();
});
