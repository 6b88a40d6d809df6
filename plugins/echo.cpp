// echo — sends back every byte it receives until the client closes.
#include "portico/portico.hpp"

namespace {
class Echo : public portico::StreamHandler {
    void handle() override {
        char buf[16 * 1024];
        while (const size_t n = stream().read(buf, sizeof buf)) stream().write_all({buf, n});
    }
};
} // namespace

PORTICO_PLUGIN("echo", "1.0.0", reg) { reg.stream<Echo>("echo"); }
