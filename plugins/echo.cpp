// echo — sends back every byte it receives until the client closes.
#include "portico/portico.hpp"

namespace {
class Echo : public portico::StreamHandler {
public:
    // Nothing else touches this connection's stack: in mode events an idle
    // connection costs the bytes its frames hold, not a page.
    static constexpr bool stack_private = true;

private:
    void handle() override {
        // Bytes lent by the host: no buffer on this connection's stack, so an
        // idle echo connection costs a few KiB (docs/bench.md).
        while (const auto bytes = stream().read_view())
            stream().write_all(*bytes);
    }
};
} // namespace

PORTICO_PLUGIN("echo", "1.0.0", reg) {
    reg.stream<Echo>("echo");
}
