// Differential harness for the rules engine: calls zerotier-one 1.14.1's own _doZtFilter (static
// in Network.cpp, hence the include) on each case read from stdin. Our code only; it is compiled
// against a ZeroTierOne 1.14.1 checkout that is never part of this repository.
//
// Case (all big-endian): u8 inbound, u40 self, u40 ztSource, u40 ztDest, u48 macSource, u48 macDest,
// u16 etherType, u16 vlanId, u64 nconfFlags, u64 nwid, u8 nLocalTags {u32 id, u32 value},
// u8 nRemoteTags {u32 id, u32 value}, u8 nLocalThings {u8 type, 16 bytes} (our CoO),
// u8 nRemoteThings {u8 type, 16 bytes} (the peer's CoO), u8 nStaticIps {u8 family 4|6, 16 bytes ip,
// u8 bits} (ours), u32 random, u16 rulesLen, rules, u16 frameLen, frame.
// Output per case: u8 result, u40 ztDest, u40 cc, u16 ccLength, u8 ccWatch, u8 qosBucket.
// private members of these two are set directly (no signatures to verify in this harness)
#define private public
#include "node/Identity.hpp"
#include "node/CertificateOfOwnership.hpp"
#include "node/Membership.hpp"
#undef private
#include "node/Network.cpp"  // for the file-static _doZtFilter
#include <cstdio>
#include <vector>

using namespace ZeroTier;
static uint64_t g_random = 0;
uint64_t Node::prng() { return g_random; }

static bool rd(void *p, size_t n) { return fread(p, 1, n, stdin) == n; }
static uint64_t be(const unsigned char *b, int n) { uint64_t v = 0; for (int i = 0; i < n; ++i) v = (v << 8) | b[i]; return v; }
static bool rdint(uint64_t &v, int n) { unsigned char b[8]; if (!rd(b, n)) return false; v = be(b, n); return true; }
static void wr(uint64_t v, int n) { for (int i = n - 1; i >= 0; --i) fputc((int)((v >> (8 * i)) & 0xff), stdout); }

int main() {
  static NetworkConfig nconf;
  static RuntimeEnvironment *RR = (RuntimeEnvironment *)calloc(1, sizeof(RuntimeEnvironment));
  static char nodeMem[sizeof(Node)];
  Node *np = (Node *)nodeMem;
  memcpy((void *)&(RR->node), &np, sizeof(np));
  for (;;) {
    uint64_t inbound, self, src, dst, msrc, mdst, et, vlan, flags, nl, nr, rnd, rl, fl;
    if (!rdint(inbound, 1)) break;
    uint64_t nwid;
    rdint(self, 5); rdint(src, 5); rdint(dst, 5); rdint(msrc, 6); rdint(mdst, 6); rdint(et, 2); rdint(vlan, 2); rdint(flags, 8); rdint(nwid, 8);
    memset((void *)&nconf, 0, sizeof(nconf));
    new (&nconf) NetworkConfig();
    nconf.flags = flags;
    nconf.networkId = nwid;
    nconf.issuedTo = Address(self);
    rdint(nl, 1);
    for (uint64_t i = 0; i < nl; ++i) {
      uint64_t id, v; rdint(id, 4); rdint(v, 4);
      nconf.tags[nconf.tagCount] = Tag(0, 0, Address(), (uint32_t)id, (uint32_t)v);
      nconf.tagCount++;
    }
    std::sort(&(nconf.tags[0]), &(nconf.tags[nconf.tagCount]));
    Membership *m = new Membership();
    rdint(nr, 1);
    for (uint64_t i = 0; i < nr; ++i) {
      uint64_t id, v; rdint(id, 4); rdint(v, 4);
      m->_remoteTags[(uint32_t)id] = Tag(0, 0, Address(), (uint32_t)id, (uint32_t)v);
    }
    auto readThings = [](CertificateOfOwnership &c) {
      uint64_t n; rdint(n, 1);
      for (uint64_t i = 0; i < n; ++i) {
        uint64_t t; rdint(t, 1);
        c._thingTypes[c._thingCount] = (uint8_t)t;
        rd(c._thingValues[c._thingCount], 16);
        c._thingCount++;
      }
      return n;
    };
    CertificateOfOwnership localCoo(nwid, 0, Address(self), 1);
    if (readThings(localCoo)) { nconf.certificatesOfOwnership[0] = localCoo; nconf.certificateOfOwnershipCount = 1; }
    CertificateOfOwnership remoteCoo(nwid, 0, Address(src), 1);
    if (readThings(remoteCoo)) m->_remoteCoos[1] = remoteCoo;
    uint64_t ns; rdint(ns, 1);
    for (uint64_t i = 0; i < ns; ++i) {
      uint64_t fam, bits; unsigned char ip[16];
      rdint(fam, 1); rd(ip, 16); rdint(bits, 1);
      nconf.staticIps[nconf.staticIpCount++] = InetAddress(ip, fam == 4 ? 4 : 16, (unsigned int)bits);
    }
    rdint(rnd, 4); g_random = rnd;
    rdint(rl, 2);
    Buffer<65536> rb; rb.setSize((unsigned int)rl); rd(rb.unsafeData(), rl);
    static ZT_VirtualNetworkRule rules[ZT_MAX_NETWORK_RULES];
    memset(rules, 0, sizeof(rules));
    unsigned int rc = 0, p = 0;
    Capability::deserializeRules(rb, p, rules, rc, ZT_MAX_NETWORK_RULES);
    rdint(fl, 2);
    std::vector<uint8_t> frame(fl + 64, 0); rd(frame.data(), fl);
    // RR->identity is an Identity object; overwrite its address
    RR->identity._address = Address(self);
    Trace::RuleResultLog rrl;
    Address ztDest(dst), cc;
    unsigned int ccLength = 0; bool ccWatch = false; uint8_t qos = 0;
    const int r = (int)_doZtFilter(RR, rrl, nconf, m, inbound != 0, Address(src), ztDest, MAC(msrc), MAC(mdst), frame.data(), (unsigned int)fl, (unsigned int)et, (unsigned int)vlan, rules, rc, cc, ccLength, ccWatch, qos);
    wr((uint64_t)r, 1); wr(ztDest.toInt(), 5); wr(cc.toInt(), 5); wr(ccLength, 2); wr(ccWatch ? 1 : 0, 1); wr(qos, 1);
    delete m;
  }
  return 0;
}
