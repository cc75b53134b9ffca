// Differential harness: runs zerotier-one 1.14.1's own NetworkConfig::fromDictionary +
// toDictionary on each input. Our code only; it is compiled against a ZeroTierOne 1.14.1 checkout
// (see generate.ts), which is never part of this repository.
// Batch mode. stdin: repeated [u32 BE length][bytes]; stdout: per input [u8 ok][u32 BE length][bytes].
#include <cstdio>
#include <string>
#include <vector>
#include "node/NetworkConfig.hpp"
using namespace ZeroTier;
static Dictionary<ZT_NETWORKCONFIG_DICT_CAPACITY> d, out;
static NetworkConfig nc;
static void emit(bool ok, const char *p, unsigned int n) {
  unsigned char h[5] = {(unsigned char)ok, (unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8), (unsigned char)n};
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
    if (n >= ZT_NETWORKCONFIG_DICT_CAPACITY) { emit(false, 0, 0); continue; }
    memset(d.unsafeData(), 0, ZT_NETWORKCONFIG_DICT_CAPACITY);
    memcpy(d.unsafeData(), buf.data(), n);
    bool ok = false;
    try { ok = nc.fromDictionary(d); } catch (...) { ok = false; }
    if (!ok || !nc.toDictionary(out, false)) { emit(false, 0, 0); continue; }
    emit(true, out.data(), out.sizeBytes());
  }
  return 0;
}
