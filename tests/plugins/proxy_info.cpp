// proxy_info.cpp — test plugin "proxyinfo": says who the host says is on the
// other end ("peer=203.0.113.7:4000 proxy=127.0.0.1:5000 tls=0\n"), then
// upper-cases lines until EOF, so the PROXY protocol tests see both the
// addresses a header carried and that the client's own bytes came through.
#include "portico/portico.hpp"

#include <cctype>
#include <string>

namespace {
class Whoami : public portico::StreamHandler {
    void handle() override {
        stream().write_all("peer=" + stream().peer() + " proxy=" + stream().proxy() +
                           " tls=" + (stream().is_tls() ? "1" : "0") + "\n");
        std::string out;
        while (auto line = stream().read_line()) {
            out.assign(*line);
            for (char &c : out)
                c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            stream().write_all(out);
        }
    }
};
} // namespace

PORTICO_PLUGIN("proxyinfo", "1.0.0", reg) {
    reg.stream<Whoami>("whoami");
}
