import { Identity } from "../vl1/identity.ts";
import type { Rng } from "../util/random.ts";
import { type HomeDir, HomeDirError } from "./home.ts";

/**
 * Load identity.secret from the home directory, or generate one on first start (mode 0600), and keep
 * identity.public (0644) in step with it, as zerotier-one does. A corrupt or invalid identity stops
 * the service: silently replacing it would give the node a new address.
 */
export function loadOrCreateIdentity(home: HomeDir, rng: Rng): { identity: Identity; created: boolean } {
  const text = home.readText("identity.secret");
  let identity: Identity;
  let created = false;
  if (text === null) {
    identity = Identity.generate(rng);
    home.write("identity.secret", identity.toString(true), 0o600);
    created = true;
  } else {
    const parsed = Identity.parse(text.trim());
    if (!parsed.ok) throw new HomeDirError(`${home.path("identity.secret")} is corrupt: ${parsed.error}`);
    identity = parsed.identity;
    if (!identity.hasPrivate) throw new HomeDirError(`${home.path("identity.secret")} holds no private key`);
    if (!identity.locallyValidate()) {
      throw new HomeDirError(`${home.path("identity.secret")} fails validation (address does not match the key)`);
    }
  }
  const pub = identity.toString(false);
  if (home.readText("identity.public") !== pub) home.write("identity.public", pub, 0o644);
  return { identity, created };
}
