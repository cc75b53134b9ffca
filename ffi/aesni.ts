/**
 * Our AES-GMAC-SIV on AES-NI (ffi/aesni/aes-gmac-siv.c), built with the system C compiler on
 * first use and loaded through bun:ffi. Why a C file when OpenSSL is there: OpenSSL's EVP path is
 * large, and after a quiet spell its first packet runs on cold caches and TLB: ≈300 µs for one
 * small packet on this project's machine against ≈8 µs for this code, and a ping crosses two such
 * packets (README, "RTT, ninth round"). Warm, it matches OpenSSL on 2,800-byte packets and is 3×
 * faster on small ones (one ffi call instead of eight).
 *
 * Where it cannot be had (no compiler, a CPU without AES-NI, a compiled daemon without the
 * sources, ZT_NC_AES=libcrypto), `aesni()` is null and `aesniError()` says why; the callers then
 * use OpenSSL (ffi/libcrypto.ts).
 */
import { dlopen, FFIType } from "bun:ffi";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { buildSharedLibrary } from "./c-build.ts";

const P = FFIType.ptr;
const U = FFIType.u32;
const symbols = {
  zt_gmac_siv_supported: { args: [], returns: FFIType.i32 },
  zt_gmac_siv_context_size: { args: [], returns: U },
  zt_gmac_siv_init: { args: [P, P, P], returns: FFIType.void },
  zt_gmac_siv_encrypt: { args: [P, P, P, U, P, U, P], returns: FFIType.void },
  zt_gmac_siv_decrypt: { args: [P, P, P, U, P, U], returns: FFIType.i32 },
} as const;

export type AesniLib = ReturnType<typeof dlopen<typeof symbols>>["symbols"];

const SOURCE = join(import.meta.dir, "aesni", "aes-gmac-siv.c");
/** Where the library is built (ignored by git). */
export const AESNI_LIBRARY = join(import.meta.dir, "aesni", "build", "libztaesgmacsiv.so");
export const AESNI_CFLAGS: readonly string[] = ["-O2", "-fPIC", "-shared", "-Wall", "-Wextra", "-Werror", "-std=gnu11", "-fvisibility=hidden"];

let lib: AesniLib | null | undefined;
let why = "";

/** Build (when stale) and load the library; null with the reason in aesniError() when it cannot be. */
export function aesni(): AesniLib | null {
  if (lib !== undefined) return lib;
  lib = null;
  if (process.arch !== "x64") {
    why = `AES-NI code is x86-64 only (this is ${process.arch})`;
    return lib;
  }
  if (!existsSync(SOURCE)) {
    why = `no source ${SOURCE} (a compiled daemon carries no C sources)`;
    return lib;
  }
  try {
    const l = dlopen(buildSharedLibrary({ out: AESNI_LIBRARY, sources: [SOURCE], flags: AESNI_CFLAGS }), symbols).symbols;
    if (l.zt_gmac_siv_supported() !== 1) why = "this CPU lacks AES-NI or PCLMULQDQ";
    else lib = l;
  } catch (e) {
    why = (e as Error).message;
  }
  return lib;
}

export function aesniError(): string {
  return why;
}
