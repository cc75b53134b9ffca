// Preloaded by bun test (bunfig.toml).
// A service started by a test without a planet file would contact ZeroTier's public roots; make
// that an error instead (see test/support/loopback-planet.ts). `npm test` also sets this in the
// OS environment, because Bun.spawn children do not see changes made to process.env at run time;
// test helpers that spawn pass `env: process.env` for runs of plain `bun test`.
process.env.ZT_NC_FORBID_DEFAULT_PLANET = "1";
