/**
 * Versions we announce. The wire protocol version is what decides cipher suites with real peers
 * (12 = AES-GMAC-SIV capable). The software version mirrors the zerotier-one release whose behaviour
 * we reproduce, so peers and tools that compare versions treat us like that release.
 */
export const PROTOCOL_VERSION = 12;
export const PROTOCOL_VERSION_MIN = 4;
export const VERSION_MAJOR = 1;
export const VERSION_MINOR = 14;
export const VERSION_REVISION = 1;
export const VERSION_BUILD = 0;
export const VERSION_STRING = `${VERSION_MAJOR}.${VERSION_MINOR}.${VERSION_REVISION}`;
/** Our own product version (package.json). */
export const NETCON_VERSION = "0.1.0";
