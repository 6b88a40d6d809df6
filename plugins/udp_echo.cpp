// udp_echo — sends every datagram back to its sender unchanged (an empty
// datagram gets an empty reply).
#include "portico/portico.hpp"

namespace {
class UdpEcho : public portico::DatagramHandler {
    void handle(portico::Datagram &datagram) override { datagram.reply(datagram.data()); }
};
} // namespace

PORTICO_PLUGIN("udp_echo", "1.0.0", reg) { reg.datagram<UdpEcho>("udp_echo"); }
