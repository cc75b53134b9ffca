/**
 * Outcome of decoding untrusted VL2 data: the value, or a sentence saying what was wrong. Decoders
 * in this directory never throw past their public functions; callers log and count the reason.
 */
export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

export function ok<T>(value: T): Decoded<T> {
  return { ok: true, value };
}

export function fail<T>(error: string): Decoded<T> {
  return { ok: false, error };
}

/** Runs a decoder that reports truncation by throwing (ByteReader) and turns any throw into a reason. */
export function guard<T>(what: string, run: () => Decoded<T>): Decoded<T> {
  try {
    return run();
  } catch (e) {
    return fail(`${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
