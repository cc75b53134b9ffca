/**
 * Strict readers for POSTed controller JSON. Each throws FieldError naming the field, which the
 * API turns into HTTP 400 before anything is stored. The reference controller coerces or
 * silently drops bad values; we refuse them so an operator learns about the mistake.
 */

import { isJsonObject, type JsonObject, type JsonValue } from "../util/json.ts";
import { type InetAddress, inetAddressFromString } from "../vl1/inet-address.ts";

export class FieldError extends Error {}

export { isJsonObject } from "../util/json.ts";

export function readBool(v: JsonValue | undefined, field: string): boolean {
  if (typeof v !== "boolean") throw new FieldError(`${field} must be true or false`);
  return v;
}

export function readInt(v: JsonValue | undefined, field: string, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v)) throw new FieldError(`${field} must be an integer`);
  if (v < min || v > max) throw new FieldError(`${field} must be between ${min} and ${max}`);
  return v;
}

/** A string of at most `maxBytes` UTF-8 bytes (the wire fields it ends up in are byte-sized). */
export function readString(v: JsonValue | undefined, field: string, maxBytes: number): string {
  if (typeof v !== "string") throw new FieldError(`${field} must be a string`);
  if (v.length > maxBytes || utf8.encode(v).length > maxBytes) throw new FieldError(`${field} must be at most ${maxBytes} bytes (UTF-8)`);
  return v;
}

const utf8 = new TextEncoder();

export function readArray(v: JsonValue | undefined, field: string, maxLength: number): JsonValue[] {
  if (!Array.isArray(v)) throw new FieldError(`${field} must be an array`);
  if (v.length > maxLength) throw new FieldError(`${field} may hold at most ${maxLength} entries`);
  return v;
}

export function readObject(v: JsonValue | undefined, field: string): JsonObject {
  if (!isJsonObject(v)) throw new FieldError(`${field} must be an object`);
  return v;
}

/** A bare IP address (no "/bits"). */
export function readIp(v: JsonValue | undefined, field: string): InetAddress {
  if (typeof v !== "string") throw new FieldError(`${field} must be an IP address string`);
  const a = v.includes("/") ? null : inetAddressFromString(v);
  if (a === null) throw new FieldError(`${field}: "${v}" is not an IP address`);
  return a;
}

/** "ip/bits" with bits within the family's width; port field = bits. */
export function readCidr(v: JsonValue | undefined, field: string): InetAddress {
  if (typeof v !== "string" || !v.includes("/")) throw new FieldError(`${field} must be a string "ip/bits"`);
  const a = inetAddressFromString(v);
  if (a === null) throw new FieldError(`${field}: "${v}" is not "ip/bits"`);
  if (a.port > (a.family === 4 ? 32 : 128)) throw new FieldError(`${field}: netmask bits of "${v}" out of range`);
  return a;
}

/** 10 hex digits (a ZeroTier address) or null/"" meaning none. */
export function readOptionalAddress(v: JsonValue | undefined, field: string): string | null {
  if (v === null || v === "") return null;
  if (typeof v !== "string" || !/^[0-9a-fA-F]{10}$/.test(v)) throw new FieldError(`${field} must be a 10-digit hex address or null`);
  return v.toLowerCase();
}

export const UINT32_MAX = 0xffffffff;
