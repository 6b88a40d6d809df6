// Test plugin "slotstate", built twice (slot_state_a.so "1", slot_state_b.so
// "2"): one counter per service context, handed over across a hot reload
// with the id of the process that exported it. For mode process, where each
// worker has its own context: "pid" answers the worker's id, "incr" and
// "get" the counter, "origin" the id of the process whose export this
// context imported ("none"), "version" the build. The service's
// `config: {export: fail|crash|hang}` makes export_state throw, abort or
// never return, and `import: fail` makes import_state throw, so a failed
// hand-off can be seen at work.
#include "portico/portico.hpp"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include <unistd.h>

#ifndef SLOT_STATE_VERSION
#error "build with -DSLOT_STATE_VERSION=\"1\" or \"2\""
#endif

namespace {

class SlotState : public portico::ServiceContext {
public:
    void open() override {
        on_export_ = config("export", "");
        on_import_ = config("import", "");
    }

    std::string export_state() override {
        if (on_export_ == "fail") throw std::runtime_error("told to fail (config export: fail)");
        if (on_export_ == "crash") std::abort();
        if (on_export_ == "hang")
            for (;;)
                std::this_thread::sleep_for(std::chrono::hours(1));
        return std::to_string(count.load()) + " " + std::to_string(::getpid());
    }
    void import_state(std::string_view bytes) override {
        if (on_import_ == "fail") {
            count = 1000; // half-imported: must not be served
            throw std::runtime_error("told to fail (config import: fail)");
        }
        std::istringstream in{std::string(bytes)};
        long long value = 0;
        std::string from;
        if (!(in >> value >> from)) throw std::runtime_error("slotstate: malformed state '" + std::string(bytes) + "'");
        count = value;
        std::lock_guard lock(mutex_);
        origin_ = from;
    }
    std::string origin() const {
        std::lock_guard lock(mutex_);
        return origin_;
    }

    std::atomic<long long> count{0};

private:
    std::string on_export_;
    std::string on_import_;
    mutable std::mutex mutex_;
    std::string origin_ = "none";
};

class Slot : public portico::BasicStreamHandler<SlotState> {
    void handle() override {
        while (auto line = stream().read_line()) {
            std::string verb(*line);
            while (!verb.empty() && (verb.back() == '\n' || verb.back() == '\r'))
                verb.pop_back();
            std::string answer;
            if (verb == "pid")
                answer = std::to_string(::getpid());
            else if (verb == "incr")
                answer = std::to_string(++context().count);
            else if (verb == "get")
                answer = std::to_string(context().count.load());
            else if (verb == "origin")
                answer = context().origin();
            else if (verb == "version")
                answer = SLOT_STATE_VERSION;
            else
                answer = "error: unknown command '" + verb + "' (use pid, incr, get, origin, version)";
            stream().write_all(answer + "\n");
        }
    }
};

} // namespace

PORTICO_PLUGIN("slotstate", SLOT_STATE_VERSION, reg) {
    reg.stream<Slot>("slot");
}
