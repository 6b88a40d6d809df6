// Test handler "slow.reply": for each line, waits `delay_ms` (service config,
// default 1000) and then answers "done: <line>". Used to prove that shutdown
// lets an in-flight session finish.
#include "portico/portico.hpp"

#include <chrono>
#include <string>
#include <thread>

namespace {
class Reply : public portico::StreamHandler {
    void handle() override {
        const auto delay = std::chrono::milliseconds(std::stoi(context().config("delay_ms", "1000")));
        while (auto line = stream().read_line()) {
            std::this_thread::sleep_for(delay);
            stream().write_all("done: " + std::string(*line));
        }
    }
};
} // namespace

PORTICO_PLUGIN("slow", "1.0", reg) { reg.stream<Reply>("reply"); }
