/**
 * A network's netcon endpoint: the directory `<home>/netcon.d` (owner only), the control socket
 * `<nwid>.rpc`, the data listener `<nwid>.data`, and the sockets served on the network's stack.
 * Created with the network's port, closed when the network is left (every connection on it is
 * reset and both socket files removed).
 */
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { getUid, unixPathFits } from "../../ffi/unix.ts";
import type { NetStack } from "../stack/stack.ts";
import { AttachListener } from "./attach-listener.ts";
import { ControlServer } from "./control-server.ts";
import { NetconSockets } from "./netcon-sockets.ts";

export const ENDPOINT_DIR = "netcon.d";
const SWEEP_MS = 5_000;

export function endpointDir(home: string): string {
  return join(home, ENDPOINT_DIR);
}
export function nwidHex(nwid: bigint): string {
  return nwid.toString(16).padStart(16, "0");
}
export function controlPath(home: string, nwid: bigint): string {
  return join(endpointDir(home), `${nwidHex(nwid)}.rpc`);
}
export function dataPath(home: string, nwid: bigint): string {
  return join(endpointDir(home), `${nwidHex(nwid)}.data`);
}

/** Make <home>/netcon.d owned by us with mode 0700 (refuse a directory someone else owns). */
export function prepareEndpointDir(home: string): string {
  const dir = endpointDir(home);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new Error(`${dir} is not a directory`);
  if (st.uid !== getUid()) throw new Error(`${dir} belongs to uid ${st.uid}, not to this service (uid ${getUid()})`);
  if ((st.mode & 0o777) !== 0o700) chmodSync(dir, 0o700);
  return dir;
}

function removeSocketFile(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // not there
  }
}

export interface EndpointOptions {
  home: string;
  nwid: bigint;
  stack: NetStack;
  now?: () => number;
}

export class NetconEndpoint {
  readonly sockets: NetconSockets;
  readonly control: ControlServer;
  readonly attach: AttachListener;
  readonly controlPath: string;
  readonly dataPath: string;
  private readonly sweepTimer: ReturnType<typeof setInterval>;
  private closed = false;

  constructor(opts: EndpointOptions) {
    prepareEndpointDir(opts.home);
    this.controlPath = controlPath(opts.home, opts.nwid);
    this.dataPath = dataPath(opts.home, opts.nwid);
    for (const p of [this.controlPath, this.dataPath]) {
      if (!unixPathFits(p)) throw new Error(`socket path too long for AF_UNIX (${p.length} bytes, at most 107): use a shorter home directory`);
      removeSocketFile(p);
    }
    const uid = getUid();
    const now = opts.now ?? Date.now;
    this.attach = new AttachListener(this.dataPath, uid, now);
    const tcpOpts = opts.stack.tcp.opts;
    this.sockets = new NetconSockets({
      stack: opts.stack,
      attach: this.attach,
      nwid: opts.nwid,
      servicePid: process.pid,
      cookie: randomBytes(8).readBigUInt64LE(0),
      now,
      rcvbuf: tcpOpts.recvBufferSize,
      sndbuf: tcpOpts.sendBufferSize,
      congestion: tcpOpts.congestion,
    });
    try {
      this.control = new ControlServer(this.controlPath, uid, this.sockets);
    } catch (e) {
      this.attach.close();
      removeSocketFile(this.dataPath);
      throw e;
    }
    this.sweepTimer = setInterval(() => this.sockets.sweep(), SWEEP_MS);
    this.sweepTimer.unref();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweepTimer);
    this.control.close();
    this.sockets.destroy();
    this.attach.close();
    removeSocketFile(this.controlPath);
    removeSocketFile(this.dataPath);
  }
}
