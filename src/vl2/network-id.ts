/**
 * 64-bit network IDs (spec 6.1): the upper 40 bits are the controller's address, the lower 24 the
 * network number. Held as bigint because 64 bits do not fit a double.
 */
import type { Address } from "../vl1/address.ts";

export type NetworkId = bigint;

export const NETWORK_ID_MAX = 0xffffffffffffffffn;

/** Address of the node that controls the network (nwid >> 24). */
export function controllerOf(nwid: NetworkId): Address {
  return Number(nwid >> 24n);
}

/** 24-bit network number chosen by the controller. */
export function networkNumberOf(nwid: NetworkId): number {
  return Number(nwid & 0xffffffn);
}

export function makeNetworkId(controller: Address, number: number): NetworkId {
  return (BigInt(controller) << 24n) | BigInt(number & 0xffffff);
}

/** Ad-hoc networks (top byte 0xff) are configured locally, without a controller (spec 6.13). */
export function isAdHocNetworkId(nwid: NetworkId): boolean {
  return nwid >> 56n === 0xffn;
}

/** 16 lowercase hex digits, as ZeroTier writes network IDs everywhere. */
export function networkIdToString(nwid: NetworkId): string {
  return nwid.toString(16).padStart(16, "0");
}

/** Exactly 16 hex digits (either case) and non-zero; null otherwise. */
export function networkIdFromString(s: string): NetworkId | null {
  if (!/^[0-9a-fA-F]{16}$/.test(s)) return null;
  const v = BigInt(`0x${s}`);
  return v === 0n ? null : v;
}

export function readNetworkId(buf: Uint8Array, off: number): NetworkId {
  let v = 0n;
  for (let i = 0; i < 8; i++) v = (v << 8n) | BigInt(buf[off + i]!);
  return v;
}

export function writeNetworkId(buf: Uint8Array, off: number, nwid: NetworkId): void {
  let v = nwid;
  for (let i = 7; i >= 0; i--) {
    buf[off + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}
