// Test plugin "minor1": an echo built against the frozen ABI 1.1 headers in
// tests/sdk_minor1 (the headers as they were before minor 2), to show that a
// plugin built for an older minor loads and serves unchanged.
#include "portico/portico.hpp"

#include <string>

static_assert(PORTICO_ABI_MINOR == 1, "built against the frozen minor 1 headers");

namespace {
class Echo : public portico::StreamHandler {
    void handle() override {
        while (auto line = stream().read_line())
            stream().write_all("minor1: " + std::string(*line));
    }
};
} // namespace

PORTICO_PLUGIN("minor1", "1.1.0", reg) {
    reg.stream<Echo>("echo");
}
