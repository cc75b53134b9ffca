/**
 * The auth-info dictionary a controller attaches to ERROR(NETWORK_AUTHENTICATION_REQUIRED)
 * (spec 6.5): SSO version 0 carries an authentication URL, version 1 the OIDC parameters.
 * Keys and order as EmbeddedNetworkController writes them.
 */
import { Dictionary } from "./dictionary.ts";
import { type Decoded, fail, guard, ok } from "./result.ts";

/** Dictionary<8192> on the sending side. */
export const AUTH_INFO_DICT_CAPACITY = 8192;

export type AuthInfo =
  | { readonly version: 0; readonly authenticationUrl: string }
  | {
      readonly version: 1;
      readonly issuerUrl: string;
      readonly centralAuthUrl: string;
      readonly nonce: string;
      readonly state: string;
      readonly clientId: string;
      /** Not sent by 1.14 controllers; members default it to "default". */
      readonly provider: string;
    };

export function authInfoToDictionary(a: AuthInfo): Dictionary {
  const d = new Dictionary().addUint("aV", a.version);
  if (a.version === 0) return d.add("aU", a.authenticationUrl);
  d.add("iU", a.issuerUrl).add("aCU", a.centralAuthUrl).add("aN", a.nonce).add("aS", a.state).add("aCID", a.clientId);
  if (a.provider !== "default" && a.provider.length > 0) d.add("aSSOp", a.provider);
  return d;
}

export function parseAuthInfo(bytes: Uint8Array, start = 0, end = bytes.length): Decoded<AuthInfo> {
  const p = Dictionary.parse(bytes, AUTH_INFO_DICT_CAPACITY, start, end);
  if (!p.ok) return fail(`auth info: ${p.error}`);
  const d = p.value;
  return guard("auth info", () => {
    const version = d.getNumber("aV", 0);
    const s = (k: string) => d.getString(k) ?? "";
    if (version === 0) return ok({ version: 0, authenticationUrl: s("aU") });
    if (version === 1) {
      const provider = s("aSSOp");
      return ok({ version: 1, issuerUrl: s("iU"), centralAuthUrl: s("aCU"), nonce: s("aN"), state: s("aS"), clientId: s("aCID"), provider: provider.length > 0 ? provider : "default" });
    }
    return fail(`auth info: unsupported version ${version}`);
  });
}
