// Differential harness for frame filtering: calls zerotier-one 1.14.1's own
// Network::filterOutgoingPacket / filterIncomingPacket (main rules, then capabilities; TEE/WATCH/
// REDIRECT copies) on each case read from stdin, capturing the EXT_FRAME copies it sends. Our code
// only; compiled against a ZeroTierOne 1.14.1 checkout that is never part of this repository.
//
// Case (big-endian): u8 inbound, u8 noTee, u40 self, u40 peer (sender inbound / recipient
// outbound), u40 ztDest, u48 macSource, u48 macDest, u16 etherType, u16 vlanId, u64 flags, u32 random,
// u16 rulesLen rules, u8 nOurCaps {u16 len, rules}, u8 nPeerCaps {u16 len, rules},
// u8 nLocalTags {u32 id,u32 v}, u8 nRemoteTags {u32 id,u32 v}, u16 frameLen, frame.
// Output: u8 returned value, u8 nSent, nSent × {u40 dest, u8 extFrameFlags, u16 dataLength}.
#define private public
#define protected public
#include "node/Identity.hpp"
#include "node/Capability.hpp"
#include "node/Tag.hpp"
#include "node/Membership.hpp"
#include "node/Peer.hpp"
#include "node/Network.hpp"
#undef private
#undef protected
#include "node/Network.cpp"
#include <cstdio>
#include <vector>

using namespace ZeroTier;

static uint64_t g_random = 0;
uint64_t Node::prng() { return g_random; }

struct Sent { uint64_t dest; unsigned flags; unsigned len; };
static std::vector<Sent> g_sent;
void Switch::send(void *tPtr, Packet &packet, bool encrypt, int32_t flowId) {
  packet.uncompress();
  const unsigned p = ZT_PACKET_IDX_PAYLOAD;
  g_sent.push_back({packet.destination().toInt(), (unsigned)packet[p + 8], packet.size() - p - 23});
}

static bool rd(void *p, size_t n) { return fread(p, 1, n, stdin) == n; }
static bool rdint(uint64_t &v, int n) { unsigned char b[8]; if (!rd(b, n)) return false; v = 0; for (int i = 0; i < n; ++i) v = (v << 8) | b[i]; return true; }
static void wr(uint64_t v, int n) { for (int i = n - 1; i >= 0; --i) fputc((int)((v >> (8 * i)) & 0xff), stdout); }

static unsigned readRules(ZT_VirtualNetworkRule *rules, unsigned max) {
  uint64_t len; rdint(len, 2);
  Buffer<65536> b; b.setSize((unsigned)len); rd(b.unsafeData(), len);
  unsigned rc = 0, p = 0;
  memset(rules, 0, sizeof(ZT_VirtualNetworkRule) * max);
  Capability::deserializeRules(b, p, rules, rc, max);
  return rc;
}

int main() {
  RuntimeEnvironment *RR = (RuntimeEnvironment *)calloc(1, sizeof(RuntimeEnvironment));
  static char swMem[64];
  Switch *swp = (Switch *)swMem;
  memcpy((void *)&(RR->sw), &swp, sizeof(swp));
  static char nodeMem[sizeof(Node)];
  Node *np = (Node *)nodeMem;
  memcpy((void *)&(RR->node), &np, sizeof(np));
  for (;;) {
    uint64_t inbound, noTee, self, peer, dst, msrc, mdst, et, vlan, flags;
    if (!rdint(inbound, 1)) break;
    rdint(noTee, 1); rdint(self, 5); rdint(peer, 5); rdint(dst, 5); rdint(msrc, 6); rdint(mdst, 6); rdint(et, 2); rdint(vlan, 2); rdint(flags, 8);
    rdint(g_random, 4);
    RR->identity._address = Address(self);
    // a Network with only what the filters touch
    Network *n = (Network *)calloc(1, sizeof(Network));
    memcpy((void *)&(n->RR), &RR, sizeof(RR));
    new (&n->_lock) Mutex();
    new (&n->_memberships) Hashtable<Address, Membership>(8);
    new (&n->_config) NetworkConfig();
    new (&n->_incoming_packets_accepted) prometheus::simpleapi::counter_metric_t(Metrics::network_packets.Add({{"direction","rx"},{"network_id","x"},{"accepted","yes"}}));
    new (&n->_incoming_packets_dropped) prometheus::simpleapi::counter_metric_t(Metrics::network_packets.Add({{"direction","rx"},{"network_id","x"},{"accepted","no"}}));
    new (&n->_outgoing_packets_accepted) prometheus::simpleapi::counter_metric_t(Metrics::network_packets.Add({{"direction","tx"},{"network_id","x"},{"accepted","yes"}}));
    new (&n->_outgoing_packets_dropped) prometheus::simpleapi::counter_metric_t(Metrics::network_packets.Add({{"direction","tx"},{"network_id","x"},{"accepted","no"}}));
    NetworkConfig &nc = n->_config;
    nc.flags = flags;
    nc.ruleCount = readRules(nc.rules, ZT_MAX_NETWORK_RULES);
    uint64_t nOur; rdint(nOur, 1);
    static ZT_VirtualNetworkRule capRules[ZT_MAX_CAPABILITY_RULES];
    for (uint64_t i = 0; i < nOur; ++i) {
      unsigned rc = readRules(capRules, ZT_MAX_CAPABILITY_RULES);
      nc.capabilities[nc.capabilityCount++] = Capability((uint32_t)(i + 1), 0, 0, 1, capRules, rc);
    }
    Membership &m = n->_memberships[Address(peer)];
    uint64_t nPeer; rdint(nPeer, 1);
    for (uint64_t i = 0; i < nPeer; ++i) {
      unsigned rc = readRules(capRules, ZT_MAX_CAPABILITY_RULES);
      m._remoteCaps[(uint32_t)(i + 1)] = Capability((uint32_t)(i + 1), 0, 0, 1, capRules, rc);
    }
    uint64_t nl; rdint(nl, 1);
    for (uint64_t i = 0; i < nl; ++i) { uint64_t id, v; rdint(id, 4); rdint(v, 4); nc.tags[nc.tagCount++] = Tag(0, 0, Address(), (uint32_t)id, (uint32_t)v); }
    std::sort(&(nc.tags[0]), &(nc.tags[nc.tagCount]));
    uint64_t nr; rdint(nr, 1);
    for (uint64_t i = 0; i < nr; ++i) { uint64_t id, v; rdint(id, 4); rdint(v, 4); m._remoteTags[(uint32_t)id] = Tag(0, 0, Address(), (uint32_t)id, (uint32_t)v); }
    uint64_t fl; rdint(fl, 2);
    std::vector<uint8_t> frame(fl + 64, 0); rd(frame.data(), fl);
    g_sent.clear();
    int ret;
    if (inbound) {
      Peer *pp = (Peer *)calloc(1, sizeof(Peer));
      pp->_id._address = Address(peer);
      for (int k = 0; k < 1000; ++k) ++(pp->__refCount);  // never freed by SharedPtr
      SharedPtr<Peer> sp(pp);
      ret = n->filterIncomingPacket(0, sp, Address(dst), MAC(msrc), MAC(mdst), frame.data(), (unsigned)fl, (unsigned)et, (unsigned)vlan);
    } else {
      uint8_t qos = 0;
      ret = n->filterOutgoingPacket(0, noTee != 0, Address(self), Address(dst), MAC(msrc), MAC(mdst), frame.data(), (unsigned)fl, (unsigned)et, (unsigned)vlan, qos) ? 1 : 0;
    }
    wr((uint64_t)ret, 1); wr(g_sent.size(), 1);
    for (const Sent &s : g_sent) { wr(s.dest, 5); wr(s.flags, 1); wr(s.len, 2); }
  }
  return 0;
}
