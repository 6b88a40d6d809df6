// tls_info.cpp — test plugin "tlsinfo": says what the host told it about the
// connection ("tls=1 subject=CN=alice\n"), then upper-cases lines until EOF,
// so one handler shows both the TLS queries and ordinary Stream I/O.
#include "portico/portico.hpp"

#include <cctype>
#include <string>

namespace {
class Whoami : public portico::StreamHandler {
    void handle() override {
        stream().write_all(std::string("tls=") + (stream().is_tls() ? "1" : "0") +
                           " subject=" + stream().peer_certificate_subject() + "\n");
        std::string out;
        while (auto line = stream().read_line()) {
            out.assign(*line);
            for (char &c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            stream().write_all(out);
        }
    }
};
} // namespace

PORTICO_PLUGIN("tlsinfo", "1.0.0", reg) { reg.stream<Whoami>("whoami"); }
