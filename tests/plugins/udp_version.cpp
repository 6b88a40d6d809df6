// Test plugin "udpver", built twice (udp_version_a.so, udp_version_b.so) with
// a different UDPVER_TAG: handler "reply" answers "<TAG>:<data>". The hot
// reload test swaps one file for the other under load and checks that every
// reply comes whole from one version or the other.
#include "portico/portico.hpp"

#include <string>

#ifndef UDPVER_TAG
#error "build with -DUDPVER_TAG=\"A\" or \"B\""
#endif

namespace {
class Reply : public portico::DatagramHandler {
    void handle(portico::Datagram &datagram) override {
        datagram.reply(std::string(UDPVER_TAG ":") + std::string(datagram.data()));
    }
};
} // namespace

PORTICO_PLUGIN("udpver", UDPVER_TAG, reg) { reg.datagram<Reply>("reply"); }
