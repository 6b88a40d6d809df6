// udp_upper — answers each datagram with the same bytes upper-cased, to the
// sender. Unlike socketserver's UDPServer example (socketserver.udp_upper) it
// does not strip() whitespace: a datagram comes back byte for byte, so
// clients can match replies to what they sent.
#include "portico/portico.hpp"

#include <cctype>
#include <string>

namespace {
class UdpUpper : public portico::DatagramHandler {
    void handle(portico::Datagram &datagram) override {
        std::string out(datagram.data());
        for (char &c : out)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        datagram.reply(out);
    }
};
} // namespace

PORTICO_PLUGIN("udp_upper", "1.0.0", reg) {
    reg.datagram<UdpUpper>("udp_upper");
}
