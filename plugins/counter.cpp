// counter — named counters shared by every connection of a service, kept
// across the plugin's own hot reload through the SDK's state hand-off.
//   incr [name]  → the new value          get [name] → the value (0 if unknown)
//   dump         → "name=value ..." sorted  version   → "counter <version>"
// A missing name means "default". The counters live in the ServiceContext;
// export_state() writes them as "name value" lines for the next version.
#include "portico/portico.hpp"

#include <cstdint>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

#ifndef PORTICO_COUNTER_VERSION
#define PORTICO_COUNTER_VERSION "1.0.0"
#endif

namespace {

class Counters : public portico::ServiceContext {
public:
    uint64_t incr(const std::string &name) {
        std::lock_guard lock(mutex_);
        return ++values_[name];
    }
    uint64_t get(const std::string &name) const {
        std::lock_guard lock(mutex_);
        const auto it = values_.find(name);
        return it == values_.end() ? 0 : it->second;
    }
    std::string dump() const {
        std::lock_guard lock(mutex_);
        std::string out;
        for (const auto &[name, value] : values_) out += (out.empty() ? "" : " ") + name + "=" + std::to_string(value);
        return out;
    }

    std::string export_state() override {
        std::lock_guard lock(mutex_);
        std::string out;
        for (const auto &[name, value] : values_) out += name + " " + std::to_string(value) + "\n";
        return out;
    }
    // All or nothing: a malformed line refuses the hand-off (the host then
    // keeps the previous version serving) instead of half-importing.
    void import_state(std::string_view bytes) override {
        std::map<std::string, uint64_t> imported;
        std::istringstream in{std::string(bytes)};
        std::string line;
        while (std::getline(in, line)) {
            std::istringstream fields(line);
            std::string name;
            uint64_t value = 0;
            std::string extra;
            if (!(fields >> name >> value) || (fields >> extra))
                throw std::runtime_error("counter state: malformed line '" + line + "'");
            imported[name] = value;
        }
        std::lock_guard lock(mutex_);
        values_ = std::move(imported);
    }

private:
    mutable std::mutex mutex_;
    std::map<std::string, uint64_t> values_;
};

// "incr  x " → {"incr", "x"}; the name defaults to "default".
struct Command {
    std::string verb;
    std::string name = "default";
};

Command parse(std::string_view line) {
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    std::istringstream in{std::string(line)};
    Command command;
    in >> command.verb;
    if (std::string name; in >> name) command.name = name;
    return command;
}

class Counter : public portico::BasicStreamHandler<Counters> {
    void handle() override {
        while (auto line = stream().read_line()) stream().write_all(answer(parse(*line)) + "\n");
    }

    std::string answer(const Command &command) {
        if (command.verb == "incr") return std::to_string(context().incr(command.name));
        if (command.verb == "get") return std::to_string(context().get(command.name));
        if (command.verb == "dump") return context().dump();
        if (command.verb == "version") return std::string("counter ") + PORTICO_COUNTER_VERSION;
        return "error: unknown command '" + command.verb + "' (use incr [name], get [name], dump, version)";
    }
};

} // namespace

PORTICO_PLUGIN("counter", PORTICO_COUNTER_VERSION, reg) { reg.stream<Counter>("counter"); }
