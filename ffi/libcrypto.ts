/**
 * OpenSSL's libcrypto (libcrypto.so.3, on every Debian system that has OpenSSL) through bun:ffi,
 * for the one thing node:crypto cannot do cheaply: AES with long-lived cipher contexts working in
 * place in the caller's buffer. node:crypto needs a new cipher object per IV and returns new
 * Buffers, which cost more than the AES itself on ZeroTier-sized packets (measured in
 * `bench -- datapath`). Only the EVP calls below are bound; callers check every offset and
 * length against their buffers before a pointer is made (see crypto/aes-native.ts).
 */
import { dlopen, FFIType } from "bun:ffi";
import { consola } from "consola";

const P = FFIType.ptr;
const I = FFIType.i32;
const symbols = {
  EVP_CIPHER_CTX_new: { args: [], returns: P },
  EVP_CIPHER_CTX_free: { args: [P], returns: FFIType.void },
  EVP_CIPHER_CTX_ctrl: { args: [P, I, I, P], returns: I },
  EVP_CIPHER_CTX_set_padding: { args: [P, I], returns: I },
  EVP_aes_256_gcm: { args: [], returns: P },
  EVP_aes_256_ctr: { args: [], returns: P },
  EVP_aes_256_ecb: { args: [], returns: P },
  EVP_EncryptInit_ex: { args: [P, P, P, P, P], returns: I },
  EVP_DecryptInit_ex: { args: [P, P, P, P, P], returns: I },
  EVP_EncryptUpdate: { args: [P, P, P, P, I], returns: I },
  EVP_DecryptUpdate: { args: [P, P, P, P, I], returns: I },
  EVP_EncryptFinal_ex: { args: [P, P, P], returns: I },
} as const;

export type LibCrypto = ReturnType<typeof dlopen<typeof symbols>>["symbols"];

/** EVP_CIPHER_CTX_ctrl codes (openssl/evp.h). */
export const EVP_CTRL_GCM_SET_IVLEN = 0x9;
export const EVP_CTRL_GCM_GET_TAG = 0x10;

let lib: LibCrypto | null | undefined;
let why = "";

/** The bound library, or null when it cannot be loaded here (then `libCryptoError()` says why). */
export function libCrypto(): LibCrypto | null {
  if (lib !== undefined) return lib;
  const setting = process.env.ZT_NC_NO_LIBCRYPTO;
  if (setting !== undefined && setting !== "" && setting !== "0" && setting !== "1") {
    consola.warn(`ZT_NC_NO_LIBCRYPTO=${setting}: expected 1 (use node:crypto) or 0; libcrypto stays in use`);
  }
  if (setting === "1") {
    why = "disabled by ZT_NC_NO_LIBCRYPTO=1";
    return (lib = null);
  }
  try {
    lib = dlopen("libcrypto.so.3", symbols).symbols;
  } catch (e) {
    why = (e as Error).message;
    lib = null;
  }
  return lib;
}

export function libCryptoError(): string {
  return why;
}
