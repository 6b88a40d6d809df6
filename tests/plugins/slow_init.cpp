// Test plugin "slow_init": its init takes 2 s (well within call_timeout)
// before it registers "slow_init.echo", so a test can signal a host that is
// still starting.
#include "portico/portico.hpp"

#include <chrono>
#include <thread>

namespace {
class Echo : public portico::StreamHandler {
    void handle() override {
        while (auto line = stream().read_line())
            stream().write_all(std::string(*line));
    }
};
} // namespace

PORTICO_PLUGIN("slow_init", "1.0", reg) {
    std::this_thread::sleep_for(std::chrono::seconds(2));
    reg.stream<Echo>("echo");
}
