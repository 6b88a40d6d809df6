// A plugin that registers the same handler name twice: the load must fail.
#include "portico/portico.hpp"

namespace {
class Nop : public portico::StreamHandler {
    void handle() override {}
};
} // namespace

PORTICO_PLUGIN("dup_handler", "1.0", reg) {
    reg.stream<Nop>("same");
    reg.stream<Nop>("same");
}
