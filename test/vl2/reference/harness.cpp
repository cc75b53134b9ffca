// Differential harness: runs zerotier-one 1.14.1's own NetworkConfig::fromDictionary +
// toDictionary on each input. Our code only; it is compiled against a ZeroTierOne 1.14.1 checkout
// (see generate.ts), which is never part of this repository.
// Batch mode. stdin: repeated [u32 BE length][bytes]; stdout: per input [u8 ok][u32 BE length][bytes],
// where ok is 0 (rejected) or 1 | 2 (every tag's signature verifies with the network's controller
// key) | 4 (every capability's first custody signature does).
#include <cstdio>
#include <string>
#include <vector>
// signatures of tags and capabilities are private; this harness reads them directly
#define private public
#include "node/Tag.hpp"
#include "node/Capability.hpp"
#undef private
#include "node/NetworkConfig.hpp"

// the controller of every corpus network (3bc65e2b50), public key only
static const char *CONTROLLER = "3bc65e2b50:0:f7b504f7191f77c37a5cf9ff046d8aa781e13bb87e5592e00df85d1a64c16c6209807dcb073a52b38ae136a1fa8fa61418741c138029245b2a7b18d401b983b6";
using namespace ZeroTier;
static Dictionary<ZT_NETWORKCONFIG_DICT_CAPACITY> d, out;
static NetworkConfig nc;
static void emit(unsigned char ok, const char *p, unsigned int n) {
  unsigned char h[5] = {ok, (unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8), (unsigned char)n};
  fwrite(h, 1, 5, stdout);
  if (n) fwrite(p, 1, n, stdout);
}
int main() {
  unsigned char lb[4];
  std::vector<char> buf;
  while (fread(lb, 1, 4, stdin) == 4) {
    unsigned int n = ((unsigned)lb[0] << 24) | ((unsigned)lb[1] << 16) | ((unsigned)lb[2] << 8) | lb[3];
    buf.resize(n);
    if (n && fread(buf.data(), 1, n, stdin) != n) return 1;
    if (n >= ZT_NETWORKCONFIG_DICT_CAPACITY) { emit(0, 0, 0); continue; }
    memset(d.unsafeData(), 0, ZT_NETWORKCONFIG_DICT_CAPACITY);
    memcpy(d.unsafeData(), buf.data(), n);
    bool ok = false;
    try { ok = nc.fromDictionary(d); } catch (...) { ok = false; }
    if (!ok || !nc.toDictionary(out, false)) { emit(0, 0, 0); continue; }
    static Identity controller(CONTROLLER);
    unsigned char flags = 1 | 2 | 4;
    for (unsigned int i = 0; i < nc.tagCount; ++i) {
      Buffer<sizeof(Tag) * 2> tmp;
      nc.tags[i].serialize(tmp, true);
      if (!controller.verify(tmp.data(), tmp.size(), nc.tags[i]._signature)) flags &= ~2;
    }
    for (unsigned int i = 0; i < nc.capabilityCount; ++i) {
      Buffer<sizeof(Capability) * 2> tmp;
      nc.capabilities[i].serialize(tmp, true);
      if (!controller.verify(tmp.data(), tmp.size(), nc.capabilities[i]._custody[0].signature)) flags &= ~4;
    }
    emit(flags, out.data(), out.sizeBytes());
  }
  return 0;
}
