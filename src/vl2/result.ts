/**
 * Outcome of decoding untrusted VL2 data: the value, or a sentence saying what was wrong. Decoders
 * in this directory never throw past their public functions; callers log and count the reason.
 */
export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/**
 * Thrown inside a decoder for a value that 1.14 would take but that we refuse on purpose (it
 * cannot be held faithfully by our types, or 1.14's handling of it is undefined). Unlike a
 * DecodeError (data 1.14 also fails to deserialize), it is never absorbed where 1.14 tolerates
 * a failing credential: it always rejects the whole input. The classes are listed, with reasons,
 * in test/vl2/network-config-reference.test.ts.
 */
export class RefusedValueError extends Error {
  override readonly name = "RefusedValueError";
}

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
